"""The dashboard's freshness line (from /status) and its auto-refresh, in a real browser,
with the page and helpers of test_dashboard.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from leadflow.projections.rebuild import rebuild
from leadflow.schemas import parse_engagement
from tests.e2e.test_dashboard import (
    PEOPLE,
    browser,
    dashboard_app,
    funnel_counts,
    new_leadflow,
    open_page,
    seed,
)
from tests.integration.api.conftest import running

__all__ = ["browser"]  # a fixture, found by pytest here


def test_freshness_from_status_and_auto_refresh(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # /status as a broker-backed leadflow answers it: first behind, then caught up.
    status: dict[str, Any] = {
        "kafka_bootstrap": "127.0.0.1:9092", "stored_events": 9, "relay": {"position": 9, "lag": 0},
        "projections": [{"name": "read_models", "position": 9, "lag": 4}],
        "consumers": [{"group": "g", "topic": "t", "lag": 0}],
    }  # fmt: skip

    def broker_status(route: Any) -> None:
        route.fulfill(json=status)

    lf = new_leadflow(tmp_path)
    seed(lf, PEOPLE[:2], [])
    with running(dashboard_app(lf)) as url:
        for page in open_page(browser, url):
            page.goto("/?refresh=1")
            funnel_counts(page, {"captured": 2})
            expect(page.locator("#freshness")).to_contain_text("lag not measured")
            late = {
                "event_id": "late-1",
                "type": "form_submitted",
                "email": "late@x.test",
                "occurred_at": "2026-09-09T10:00:00Z",
                "source": "seo",
            }
            lf.engagement.record([parse_engagement(late)])
            rebuild(lf.store)
            funnel_counts(page, {"captured": 3})  # no reload: the page refreshed itself
            page.route("**/status", broker_status)
            expect(page.locator("#freshness")).to_have_text("Catching up · 4 events behind")
            status["projections"][0]["lag"] = 0
            expect(page.locator("#freshness")).to_have_text("Up to date")
            expect(page.locator("#freshness")).to_have_class(re.compile("fresh"))
    lf.close()
