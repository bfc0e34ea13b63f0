"""The console in a real headless Chromium (Debian's chromium, driven by Playwright): sign in,
search, open an account, grant and adjust, replay a failed Stripe event after fixing the
catalog, sign out; no console errors; pages readable with JavaScript disabled."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import WEBHOOK_SECRET, auth, token
from tests.console.live_server import LiveServer
from tests.stripe_events import StripeEvents, signed_request
from tests.webhooks.helpers import catalog_toml, example_catalog

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEW_PRICE = "price_team_monthly"
REPO = Path(__file__).resolve().parents[2]


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/console/ with CONSOLE_SCREENSHOTS=1 (`make screenshots`); otherwise a temporary
    directory, so that a test run never changes tracked files."""
    return REPO / "docs" / "console" if os.environ.get("CONSOLE_SCREENSHOTS") else tmp_path


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            "no /usr/bin/chromium: install Debian's chromium (.ci/run does: "
            "apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives every launch a fresh, temporary user-data-dir.
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


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
def server(catalogs):
    live = LiveServer()
    live.start(catalogs[0])
    yield live
    live.stop()


def seed(url: str) -> None:
    """A customer who bought a plan the catalog does not know yet, and some usage."""
    events = StripeEvents("endive")
    with httpx.Client(base_url=url) as http:
        grant = http.post(
            "/v1/accounts/acme_corp/grants",
            headers={**auth("admin"), "Idempotency-Key": "welcome"},
            json={"amount": 100, "kind": "bonus", "description": "welcome"},
        )
        assert grant.status_code == 201, grant.text
        for n, feature in enumerate(("image", "video", "image")):
            debit = http.post(
                "/v1/accounts/acme_corp/debits",
                headers={**auth("admin"), "Idempotency-Key": f"gen-{n}"},
                json={"amount": 3 + n, "metadata": {"feature": feature}},
            )
            assert debit.status_code == 201, debit.text
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
    browser, server, catalogs, tmp_path
):
    seed(server.url)
    shots = screenshot_dir(tmp_path)
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
    assert before == 100 - 3 - 4 - 5

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
    assert page.locator("svg.chart rect").count() == 31
    page.screenshot(path=str(shots / "account.png"), full_page=True)

    page.click("nav a:text('Stripe events')")
    page.wait_for_url("**/console/stripe-events")
    attention = page.locator("#attention tbody tr")
    assert attention.count() == 1 and "failed" in attention.first.inner_text()
    assert NEW_PRICE in attention.first.inner_text()
    page.screenshot(path=str(shots / "stripe-events.png"), full_page=True)

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


def test_pages_are_readable_with_javascript_disabled(browser, server):
    seed(server.url)
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
    assert figure(page, "#balance") == 88
    assert re.search(r"debit -5", page.locator("#timeline").inner_text())
    page.goto(f"{server.url}/console/stripe-events")
    assert "invoice.paid" in page.locator("#attention").inner_text()
    assert problems == []
    context.close()
