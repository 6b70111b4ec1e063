"""The dashboard against an API that needs keys (CONTRACT 9), in a real browser (Debian's
chromium through Playwright, as tests/e2e/test_dashboard.py, whose seed data and browser
helpers this reuses): a 401 asks for a key, kept in the tab's sessionStorage and sent as
`Authorization: Bearer`; a wrong key asks again; a key whose roles do not allow reading
shows why and offers to use another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from leadflow.infra.apikeys import ApiKeyTable
from tests.e2e.test_dashboard import (
    ALL,
    SHOTS,
    browser,
    dashboard_app,
    funnel_counts,
    new_leadflow,
    open_page,
    seed,
    shot,
)
from tests.integration.api.conftest import running

__all__ = ["browser"]  # a fixture, found by pytest here

STORE = "leadflow.apiKey"


@dataclass
class Server:
    url: str
    analyst: str
    ingest: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    lf = new_leadflow(tmp_path_factory.mktemp("dashboard-auth"))
    seed(lf)
    table = ApiKeyTable(lf.store.side)
    analyst, ingest = table.create("analyst-ann", ["analyst"]), table.create("bot", ["ingest"])
    with running(dashboard_app(lf)) as url:
        yield Server(url, analyst, ingest)
    lf.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    yield from open_page(browser, server.url)


def enter_key(page: Any, key: str) -> None:
    page.locator("#auth-key").fill(key)
    page.locator("#auth button[type=submit]").click()


def test_the_page_asks_for_a_key_and_then_shows_the_funnel(page: Any, server: Server) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    form = page.locator("#auth")
    expect(form).to_be_visible()
    expect(page.locator("#auth-reason")).to_contain_text("needs an API key")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "auth-asks-for-a-key.png"))  # the view waits: no shot()

    enter_key(page, "lf_not-a-key-anyone-made-0123456789")
    expect(page.locator("#auth-reason")).to_contain_text("not accepted")
    expect(form).to_be_visible()

    enter_key(page, server.analyst)
    expect(form).to_be_hidden()
    funnel_counts(page, ALL)
    expect(page.locator("#freshness")).not_to_have_class("freshness down")
    assert page.evaluate(f"sessionStorage.getItem('{STORE}')") == server.analyst

    # The tab keeps the key: a reload asks no more.
    page.reload()
    funnel_counts(page, ALL)
    expect(form).to_be_hidden()
    shot(page, "auth-funnel")


def test_a_key_without_the_role_says_so_and_another_key_can_be_used(
    page: Any, server: Server
) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    enter_key(page, server.ingest)
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Your API key may not see this")
    expect(notice).to_contain_text("HTTP 403")
    expect(page.locator("#freshness")).to_contain_text("not allowed")
    shot(page, "auth-forbidden")

    notice.get_by_role("button", name="Use another key").click()
    expect(page.locator("#auth")).to_be_visible()
    enter_key(page, server.analyst)
    funnel_counts(page, ALL)
    expect(notice).to_be_hidden()
