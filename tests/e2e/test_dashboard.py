"""The analyst's dashboard (issue 6) in a real browser: Debian's headless chromium driven by
Playwright through `executable_path` (no browser download), against a real uvicorn serving a
leadflow that holds ten leads, spend and read models. Screenshots of every view go to
tests/e2e/screenshots/ (artifacts, not committed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from leadflow.api.dashboard import dashboard_router
from leadflow.api.server import create_app
from leadflow.application.commands import CommandContext
from leadflow.config import load_config
from leadflow.container import Leadflow, build
from leadflow.projections.rebuild import rebuild
from leadflow.schemas import parse_engagement, parse_spend
from leadflow.settings import DatabaseSettings, Settings
from tests.integration.api.conftest import running

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BANT = {"budget": True, "authority": True, "need": True, "timeline": True}

# email, source, campaign, profile, engagement as (type, "MM-DD") in 2026
PEOPLE: list[tuple[str, str, str | None, dict[str, str], list[tuple[str, str]]]] = [
    ("ada@acme.test", "webinar", "q3-launch",
     {"first_name": "Ada", "last_name": "Lovelace", "company": "Acme", "job_title": "CTO"},
     [("webinar_attended", "06-02"), ("demo_requested", "06-05"),
      ("pricing_page_viewed", "06-09")]),
    ("grace@navy.test", "webinar", "q3-launch", {"first_name": "Grace", "company": "Navy"},
     [("webinar_attended", "06-03"), ("demo_requested", "06-04"), ("content_downloaded", "06-10")]),
    ("linus@kernel.test", "paid_social", "brand", {},
     [("form_submitted", "06-10"), ("demo_requested", "06-12"), ("webinar_attended", "06-14")]),
    ("margaret@apollo.test", "paid_social", "brand", {},
     [("form_submitted", "07-01"), ("pricing_page_viewed", "07-02")]),
    ("alan@bletchley.test", "seo", None, {},
     [("page_viewed", "07-10"), ("content_downloaded", "07-11")]),
    ("barbara@mit.test", "seo", None, {},
     [("demo_requested", "08-10"), ("webinar_attended", "08-11"), ("form_submitted", "08-12")]),
    ("ken@bell.test", "webinar", "fall-webinar", {},
     [("webinar_attended", "09-01"), ("demo_requested", "09-01"), ("call_logged", "09-03")]),
    ("dennis@bell.test", "paid_social", "fall-promo", {}, [("form_submitted", "09-05")]),
    ("hedy@film.test", "webinar", "q3-launch", {},
     [("webinar_attended", "06-20"), ("email_clicked", "06-21")]),
    ("radia@dec.test", "seo", None, {},
     [("demo_requested", "10-01"), ("pricing_page_viewed", "10-02"),
      ("webinar_attended", "10-03")]),
]  # fmt: skip
# email, command, "MM-DD", argument
LIFECYCLE: list[tuple[str, str, str, str | None]] = [
    ("ada@acme.test", "assign", "06-02", "alice"), ("ada@acme.test", "qualify", "06-15", None),
    ("ada@acme.test", "convert", "06-20", "12000"), ("ada@acme.test", "won", "07-10", "15000"),
    ("grace@navy.test", "assign", "06-03", "bob"), ("grace@navy.test", "qualify", "06-20", None),
    ("grace@navy.test", "convert", "08-15", "8000"), ("grace@navy.test", "lost", "09-01", None),
    ("linus@kernel.test", "assign", "06-10", "alice"),
    ("linus@kernel.test", "qualify", "07-01", None),
    ("margaret@apollo.test", "assign", "07-01", "bob"),
    ("margaret@apollo.test", "status", "07-05", "Unqualified"),
    ("barbara@mit.test", "assign", "09-01", "alice"),
    ("ken@bell.test", "assign", "09-01", "bob"), ("ken@bell.test", "qualify", "09-10", None),
    ("ken@bell.test", "convert", "09-20", "20000"), ("ken@bell.test", "won", "10-15", "20000"),
    ("hedy@film.test", "assign", "06-20", "alice"),
    ("hedy@film.test", "status", "06-25", "Nurturing"),
    ("radia@dec.test", "status", "10-20", "Unqualified"),
]  # fmt: skip
# source, campaign, amount, period start "MM-DD" (a month each)
SPEND = [("webinar", "q3-launch", "5000", "06-01"), ("paid_social", "brand", "3000", "06-01"),
         ("seo", None, "1000", "06-01"), ("events", "expo", "1500", "07-01"),
         ("webinar", "fall-webinar", "4000", "09-01"),
         ("paid_social", "fall-promo", "2500", "09-01")]  # fmt: skip
ALL = {"captured": 10, "mql": 6, "sql": 4, "converted": 3, "won": 2}
STUCK = {"captured": 3, "mql": 1, "sql": 1, "converted": 0, "won": 0}
DROPPED = {"captured": 1, "mql": 1, "sql": 0, "converted": 1, "won": 0}
WEBINAR = {"captured": 4, "mql": 3, "sql": 3, "converted": 3, "won": 2}


def when(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00+00:00")


def seed(lf: Leadflow, people: list[Any] = PEOPLE, lifecycle: list[Any] = LIFECYCLE) -> None:
    """Records the engagement and spend, runs the lifecycle commands, then fills the read
    models from the event store."""
    records = [
        {"event_id": f"{email}-{i}", "type": kind, "occurred_at": f"2026-{day}T10:00:00Z",
         "email": email, "source": source, "campaign": campaign, "person": profile or None}
        for email, source, campaign, profile, events in people
        for i, (kind, day) in enumerate(events)
    ]  # fmt: skip
    lf.engagement.record([parse_engagement(r) for r in records])
    lf.spend.record([parse_spend(
        {"event_id": f"spend-{i}", "source": source, "campaign": campaign, "amount": amount,
         "currency": "USD", "period_start": f"2026-{day}", "period_end": f"2026-{day[:2]}-28"},
        "USD") for i, (source, campaign, amount, day) in enumerate(SPEND)])  # fmt: skip
    opportunities: dict[str, UUID] = {}
    for email, command, day, arg in lifecycle:
        ref = lf.people.find(email)
        assert ref is not None, email
        ctx = CommandContext(occurred_at=when(day))
        if command == "assign":
            lf.leads.assign(ref.id, arg, ctx)
        elif command == "status":
            lf.leads.set_status(ref.id, str(arg), "e2e", ctx)
        elif command == "qualify":
            lf.leads.qualify(ref.id, BANT, None, ctx)
        elif command == "convert":
            done = lf.conversion.convert(ref.id, ctx, opportunity={"name": email, "amount": arg})
            opportunities[email] = UUID(done["opportunity_id"])
        elif command == "won":
            lf.opportunities.win(opportunities[email], arg, ctx)
        else:
            lf.opportunities.lose(opportunities[email], "budget cut", ctx)
    rebuild(lf.store)


def new_leadflow(folder: Path) -> Leadflow:
    return build(Settings(data_dir=folder, database=DatabaseSettings.from_url(None, folder)),
                 load_config())


def dashboard_app(lf: Leadflow) -> Any:
    app = create_app(lf, None)
    if not any(getattr(route, "path", None) == "/" for route in app.routes):
        app.include_router(dashboard_router(lf))  # until create_app includes it itself
    return app


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    lf = new_leadflow(tmp_path_factory.mktemp("dashboard"))
    seed(lf)
    with running(dashboard_app(lf)) as url:
        yield url
    lf.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: run scripts/system-deps.sh (apt-get chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright missing")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def open_page(browser: Any, url: str) -> Iterator[Any]:
    """A page of a fresh context; afterwards, no request may have left the server's origin
    and no script error may have happened."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=url)
    page = context.new_page()
    outside: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((url, "data:")) else outside.append(
        r.url))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error"
            and "Failed to load resource" not in m.text else None)
    yield page
    context.close()
    assert not outside, f"requests left the machine: {outside}"
    assert not problems, f"script errors: {problems}"


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    yield from open_page(browser, base_url)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_selector("#view:not(.busy)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def funnel_counts(page: Any, expected: dict[str, int]) -> None:
    from playwright.sync_api import expect

    for stage, count in expected.items():
        expect(page.locator(f".count[data-stage={stage}]")).to_have_text(str(count))


def api(base_url: str, path: str, **params: str) -> Any:
    r = httpx.get(base_url + path, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def pct(rate: float) -> str:
    text = f"{rate * 100:.1f}".removesuffix(".0")
    return f"{text}%"


# --- without a browser: the page and its assets ------------------------------------------


def test_page_and_assets_come_from_the_package_and_name_no_other_host(base_url: str) -> None:
    page = httpx.get(base_url + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'data-currency="USD"' in page.text
    names = set(re.findall(r"/dashboard/([\w.-]+)", page.text))
    seen: set[str] = set()
    while names - seen:
        name = sorted(names - seen)[0]
        seen.add(name)
        asset = httpx.get(f"{base_url}/dashboard/{name}")
        assert asset.status_code == 200, name
        names |= set(re.findall(r"from \"\./([\w.-]+)\"", asset.text))
        hosts = re.findall(r"https?://[^\s\"')]+", asset.text)
        assert all(h == "http://www.w3.org/2000/svg" for h in hosts), (name, hosts)
    assert {"app.js", "funnel.js", "breakdown.js", "lead.js", "dashboard.css"} <= seen
    missing = httpx.get(f"{base_url}/dashboard/nope.js")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/dashboard") for p in paths)


# --- in the browser ------------------------------------------------------------------------


def test_funnel_shows_the_counts_and_a_click_lists_a_stages_leads(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    funnel_counts(page, ALL)
    assert [s["count"] for s in api(base_url, "/funnel")["stages"]] == list(ALL.values())
    for stage in ALL:
        row = page.locator(f".stage-row[data-stage={stage}]")
        if stage != "won":
            expect(row.locator(".chip", has_text="stuck")).to_have_text(f"{STUCK[stage]} stuck")
        expect(row.locator(".chip", has_text="dropped")).to_have_text(f"{DROPPED[stage]} dropped")
    expect(page.locator(".rate[data-stage=mql]")).to_have_text("60%")
    expect(page.locator(".kpi[data-kpi=Won] .kpi-value")).to_have_text("2")
    shot(page, "funnel")

    page.locator(".stage-row[data-stage=captured] .hit").click()
    expect(page.locator(".stage-leads tbody tr")).to_have_count(4)
    assert "stage=captured" in page.url
    page.locator(".stage-row[data-stage=captured] .chip", has_text="stuck").click()
    expect(page.locator(".stage-leads tbody tr")).to_have_count(3)
    expect(page.locator(".stage-leads h2")).to_have_text("3 stuck leads at Captured")
    assert "list=stuck" in page.url
    shot(page, "funnel-stage-stuck")
    page.locator(".stage-leads a", has_text="hedy@film.test").click()
    expect(page.locator("#lead-name")).to_have_text("hedy@film.test")


def test_a_filter_changes_the_counts_and_the_url_shares_the_view(
    page: Any, browser: Any, base_url: str
) -> None:
    page.goto("/")
    funnel_counts(page, ALL)
    page.fill("#f-source", "webinar")
    page.click("#filters button[type=submit]")
    funnel_counts(page, WEBINAR)
    assert "source=webinar" in page.url
    shot(page, "funnel-source-webinar")
    for other in open_page(browser, base_url):  # a colleague opens the shared link
        other.goto(page.url)
        funnel_counts(other, WEBINAR)
        assert other.input_value("#f-source") == "webinar"
    page.go_back()
    funnel_counts(page, ALL)


def test_the_as_of_view_matches_the_api(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/?as_of=2026-08-01&stuck_days=7")
    stages = api(base_url, "/funnel", as_of="2026-08-01", stuck_days="7")["stages"]
    funnel_counts(page, {s["stage"]: s["count"] for s in stages})
    assert [s["count"] for s in stages] == [6, 3, 3, 1, 1]
    for s in stages:
        row = page.locator(f".stage-row[data-stage={s['stage']}]")
        expect(row.locator(".chip", has_text="dropped")).to_have_text(f"{s['dropped']} dropped")
        if s["stage"] != "won":
            expect(row.locator(".chip", has_text="stuck")).to_have_text(f"{s['stuck']} stuck")
        if s["rate_from_previous"] is not None:
            expect(page.locator(f".rate[data-stage={s['stage']}]")).to_have_text(
                pct(s["rate_from_previous"]))
    expect(page.locator("#summary")).to_contain_text("as of 1 Aug 2026")
    expect(page.locator("#f-as_of")).to_have_value("2026-08-01")
    shot(page, "funnel-as-of-2026-08-01")


def test_conversion_rates_by_owner_match_the_api(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/?view=rates&by=owner")
    rows = api(base_url, "/conversion-rates", by="owner")["rows"]
    table = page.locator(".rates-table tbody tr")
    expect(table).to_have_count(len(rows))
    for row in rows:
        cells = page.locator(f".rates-table tbody tr[data-key='{row['key']}']")
        expect(cells.locator("td[data-key=leads]")).to_have_text(str(row["leads"]))
        expect(cells.locator("td[data-key=lead_to_mql]")).to_have_text(
            pct(row["lead_to_mql"]) if row["lead_to_mql"] is not None else "—")
    shot(page, "rates-by-owner")
    page.click(".segmented button[data-value=month]")
    expect(page.locator(".rates-table tbody tr")).to_have_count(5)  # June to October
    assert "by=month" in page.url


def test_roi_is_a_chart_and_a_sortable_table(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/?view=roi")
    rows = {r["key"]: r for r in api(base_url, "/roi", by="source")["rows"]}
    assert rows["webinar"]["won_revenue"] == "35000.00" and rows["events"]["leads"] == 0
    keys = page.locator(".roi-table tbody td[data-key=key]")
    expect(keys.first).to_have_text("webinar")  # highest ROI first
    expect(page.locator(".roi-table tr[data-key=webinar] td[data-key=roi]")).to_have_text(
        "+288.9%")
    expect(page.locator(".roi-table tr[data-key=webinar] td[data-key=spend]")).to_have_text(
        "$9,000.00")
    shot(page, "roi-by-source")
    page.click(".roi-table th[data-key=spend] button")
    expect(keys).to_have_text(["webinar", "paid_social", "events", "seo"])
    page.click(".roi-table th[data-key=spend] button")
    expect(keys).to_have_text(["seo", "events", "paid_social", "webinar"])
    assert "sort=spend" in page.url and "dir=asc" in page.url
    page.click(".segmented button[data-value=campaign]")
    expect(page.locator(".roi-table tbody tr")).to_have_count(
        len(api(base_url, "/roi", by="campaign")["rows"]))


def test_the_lead_page_explains_the_score(page: Any, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto("/?view=lead")
    page.fill("#lead-email", "  ADA@acme.test ")
    page.click(".lead-search button")
    lead = api(base_url, "/leads", email="ada@acme.test")["items"][0]
    expect(page.locator("#lead-name")).to_have_text("Ada Lovelace")
    expect(page.locator("#lead-score")).to_have_text(str(lead["score"]))
    points = page.locator(".breakdown tbody td.points")
    expect(points).to_have_text([f"+{i['points']}" for i in lead["score_breakdown"]])
    expect(page.locator(".breakdown tbody tr")).to_have_text(
        [re.compile("Webinar attended"), re.compile("Demo requested"),
         re.compile("Pricing page viewed")])
    expect(page.locator("#lead-owner")).to_have_text("alice")
    expect(page.locator(".timeline li.done")).to_have_count(5)
    expect(page.locator(".lead")).to_contain_text(lead["conversion"]["contact_id"])
    assert f"lead={lead['id']}" not in page.url and "email=" in page.url
    shot(page, "lead-ada")


def test_a_bad_filter_shows_the_apis_message_not_a_blank_page(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/?from=yesterday&source=webinar")
    notice = page.locator("#notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("These filters can\u2019t be used")
    expect(notice).to_contain_text("from must be a date (YYYY-MM-DD) or an RFC 3339 time")
    expect(page.locator("#f-from")).to_have_class(re.compile("invalid"))
    expect(page.locator(".tabs a")).to_have_count(4)
    shot(page, "error-bad-filter")
    notice.locator("button", has_text="Clear the filters").click()
    funnel_counts(page, ALL)
    expect(notice).to_be_hidden()
    page.goto("/?view=roi&to=2026-01-01&from=2026-06-01")
    expect(notice).to_contain_text("to must not be before from")

