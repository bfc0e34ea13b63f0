"""The console in a real headless Chromium (Debian's chromium, driven by Playwright): sign in,
search, open an account, grant and adjust, replay a failed Stripe event after fixing the
catalog, sign out; no console errors; pages readable with JavaScript disabled."""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from stripe_fixtures import StripeEvents, signed_request

from app.kit.clock import FrozenClock
from tests.browser import launch_chromium
from tests.console.live_server import LiveServer
from tests.support.settings import START, WEBHOOK_SECRET, auth, token
from tests.webhooks.helpers import catalog_toml, example_catalog

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_PRICE = "price_team_monthly"
REPO = Path(__file__).resolve().parents[2]


# Every run takes the pictures; `make screenshots` (SCREENSHOTS_DIR=docs/console) keeps them
# for the docs, any other run writes them to a temporary folder, so a test run never changes
# tracked files (a checkout stays clean, and `git pull` is not refused after `make test`).
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "credit-ledger-screenshots"
)


def keep_screenshot(image: bytes, name: str) -> None:
    """Into docs/console through a file of this process's own, renamed over the old one: a
    reader (or another xdist worker) never sees half a picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    partial = SCREENSHOTS / f".{name}.{os.getpid()}.partial"
    partial.write_bytes(image)
    os.replace(partial, SCREENSHOTS / name)


@pytest.fixture
def browser():
    yield from launch_chromium()


@pytest.fixture
def catalogs(tmp_path):
    broken = example_catalog()
    fixed = example_catalog()
    fixed["plans"]["team"] = {
        **fixed["plans"]["starter"],
        "name": "Team",
        "stripe_prices": [NEW_PRICE],
        "monthly_credits": 5000,
    }
    paths = tmp_path / "plans_broken.toml", tmp_path / "plans_fixed.toml"
    paths[0].write_text(catalog_toml(broken))
    paths[1].write_text(catalog_toml(fixed))
    return paths


@pytest.fixture
def clock() -> FrozenClock:
    # A fixed time: the pages (and the screenshots) show the same dates on every run.
    return FrozenClock(START)


@pytest.fixture
def server(catalogs, clock):
    live = LiveServer(clock)
    live.start(catalogs[0])
    yield live
    live.stop()


SPENT = [(day, 1 + day * 7 % 9) for day in range(0, 28, 2)]  # (day, credits)
SEEDED_BALANCE = 500 - sum(credits for _, credits in SPENT)


def seed(url: str, clock: FrozenClock) -> None:
    """A customer with a month of usage who then bought a plan the catalog does not know."""
    clock.set(START - timedelta(days=28))
    with httpx.Client(base_url=url) as http:
        grant = http.post(
            "/v1/accounts/acme_corp/grants",
            headers={**auth("admin"), "Idempotency-Key": "welcome"},
            json={"amount": 500, "kind": "bonus", "description": "welcome"},
        )
        assert grant.status_code == 201, grant.text
        for day, credits in SPENT:
            clock.set(START - timedelta(days=28 - day, hours=day % 5))
            debit = http.post(
                "/v1/accounts/acme_corp/debits",
                headers={**auth("admin"), "Idempotency-Key": f"gen-{day}"},
                json={"amount": credits, "metadata": {"feature": ("image", "video")[day % 2]}},
            )
            assert debit.status_code == 201, debit.text
        clock.set(START)
        events = StripeEvents("endive", now=int(START.timestamp()))
        start = events.now
        for event in (
            events.checkout_session_completed(
                customer="cus_acme", account_id="acme_corp", subscription="sub_acme"
            ),
            events.invoice_event(
                "invoice.paid",
                customer="cus_acme",
                subscription="sub_acme",
                price=NEW_PRICE,
                billing_reason="subscription_create",
                period_start=start,
                period_end=start + 30 * 86400,
            ),
        ):
            body, headers = signed_request(event, WEBHOOK_SECRET)
            assert http.post("/webhooks/stripe", content=body, headers=headers).status_code == 200


def watch(page, problems: list[str]) -> None:
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))


def figure(page, selector: str) -> int:
    return int(page.locator(selector).inner_text())


def test_an_operator_finds_an_account_grants_adjusts_replays_and_signs_out(
    browser, server, catalogs, clock
):
    seed(server.url, clock)
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    watch(page, problems)

    page.goto(f"{server.url}/console/accounts")
    assert page.url.endswith("/console/login")
    page.fill("input[name=key]", token("admin"))
    page.click("main button:text('Sign in')")
    page.wait_for_url("**/console/accounts")

    page.fill("input[name=q]", "acme")
    page.click("button:text('Find')")
    page.wait_for_url("**/console/accounts?q=acme*")
    page.click("a:text('acme_corp')")
    page.wait_for_url("**/console/accounts/acme_corp")
    before = figure(page, "#balance")
    assert before == SEEDED_BALANCE

    page.fill("#grant-form input[name=amount]", "25")
    page.fill("#grant-form input[name=reason]", "sorry for the outage")
    page.click("#grant-form button")
    assert "granted 25 credits" in page.locator(".notice").inner_text()
    assert figure(page, "#balance") == before + 25
    assert "grant +25" in page.locator("#timeline tr.kind-ledger_entry").first.inner_text()

    page.fill("#adjust-form input[name=amount]", "-5")
    page.fill("#adjust-form input[name=reason]", "double charge on 11-02")
    page.click("#adjust-form button")
    assert figure(page, "#balance") == before + 20
    first = page.locator("#timeline tr.kind-ledger_entry").first.inner_text()
    assert "adjustment -5" in first and "double charge" in first
    assert page.locator("svg.chart rect.bar").count() == 31
    keep_screenshot(page.screenshot(full_page=True), "account.png")

    page.click("nav a:text('Stripe events')")
    page.wait_for_url("**/console/stripe-events")
    attention = page.locator("#attention tbody tr")
    assert attention.count() == 1 and "failed" in attention.first.inner_text()
    assert NEW_PRICE in attention.first.inner_text()
    keep_screenshot(page.screenshot(full_page=True), "stripe-events.png")

    # The operator adds the price to the catalog and restarts the service; the session stays.
    server.stop()
    server.start(catalogs[1])
    page.reload()
    page.click("#attention button:text('Replay')")
    assert "processed" in page.locator(".notice").inner_text()
    assert "Nothing failed or parked" in page.locator("#attention").inner_text()

    page.goto(f"{server.url}/console/accounts/acme_corp")
    assert figure(page, "#balance") == before + 20 + 5000
    assert page.locator("text=Stripe invoice.paid processed").count() == 1

    page.click("header button:text('Sign out')")
    page.wait_for_url("**/console/login")
    page.goto(f"{server.url}/console/accounts/acme_corp")
    assert page.url.endswith("/console/login")
    assert problems == []
    context.close()


def test_pages_are_readable_with_javascript_disabled(browser, server, clock):
    seed(server.url, clock)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=key]", token("admin"))
    page.click("main button:text('Sign in')")
    page.wait_for_url("**/console/accounts")
    assert "acme_corp" in page.locator("table").inner_text()
    page.goto(f"{server.url}/console/accounts/acme_corp")
    assert figure(page, "#balance") == SEEDED_BALANCE
    assert re.search(r"debit -\d+, balance \d+", page.locator("#timeline").inner_text())
    page.goto(f"{server.url}/console/stripe-events")
    assert "invoice.paid" in page.locator("#attention").inner_text()
    assert problems == []
    context.close()


HEAVY = "studio_heavy"


def seed_heavy(url: str, clock: FrozenClock) -> None:
    """An account that spends a lot every day: the figures above the bars are widest."""
    clock.set(START - timedelta(days=31))
    with httpx.Client(base_url=url) as http:
        grant = http.post(
            f"/v1/accounts/{HEAVY}/grants",
            headers={**auth("admin"), "Idempotency-Key": "heavy"},
            json={"amount": 10_000_000, "kind": "bonus", "description": "heavy"},
        )
        assert grant.status_code == 201, grant.text
        for day in range(31):
            clock.set(START - timedelta(days=30 - day))
            debit = http.post(
                f"/v1/accounts/{HEAVY}/debits",
                headers={**auth("admin"), "Idempotency-Key": f"heavy-{day}"},
                json={"amount": 100_000 + day * 7_919},
            )
            assert debit.status_code == 201, debit.text
    clock.set(START)


def chart_texts(page) -> list[dict]:
    """Every text of the usage chart with its group and its box on the page."""
    return page.eval_on_selector_all(
        "#usage-chart text",
        """els => els.map(e => {
            const r = e.getBoundingClientRect();
            return {group: e.closest('g').getAttribute('class'), text: e.textContent,
                    left: r.left, top: r.top, right: r.right, bottom: r.bottom};
        })""",
    )


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    ]


def test_the_usage_chart_reads_without_hover(browser, server, clock):
    seed(server.url, clock)
    seed_heavy(server.url, clock)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    watch(page, problems)
    page.goto(f"{server.url}/console/login")
    page.fill("input[name=key]", token("admin"))
    page.click("main button:text('Sign in')")
    page.wait_for_url("**/console/accounts")

    page.goto(f"{server.url}/console/accounts/acme_corp")
    chart = page.locator("#usage-chart")
    keep_screenshot(chart.screenshot(), "usage-chart.png")
    texts = chart_texts(page)
    scale = [t["text"] for t in texts if t["group"] == "scale"]
    dates = [t["text"] for t in texts if t["group"] == "dates"]
    figures = [t for t in texts if t["group"] == "figures"]
    # A scale from 0 in even steps, named; dates a week apart, named; each day's credits.
    assert scale == ["0", "2", "4", "6", "8", "10", "credits per day"]
    assert dates == ["Oct 2", "Oct 9", "Oct 16", "Oct 23", "Oct 30", "day (UTC)"]
    assert sum(int(f["text"]) for f in figures) == sum(credits for _, credits in SPENT)
    assert len(figures) == len(SPENT)
    frame = chart.bounding_box()
    for t in texts:
        assert frame["x"] <= t["left"] and t["right"] <= frame["x"] + frame["width"], t
        assert frame["y"] <= t["top"] and t["bottom"] <= frame["y"] + frame["height"], t
    assert overlapping(texts) == []

    page.goto(f"{server.url}/console/accounts/{HEAVY}")
    texts = chart_texts(page)
    figures = [t["text"] for t in texts if t["group"] == "figures"]
    assert len(figures) == 31 and figures[0] == "100k" and figures[-1] == "338k"
    assert [t["text"] for t in texts if t["group"] == "scale"][-2] == "400k"
    assert overlapping(texts) == []
    assert problems == []
    context.close()
