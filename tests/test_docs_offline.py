"""/docs (Swagger UI) and /redoc (ReDoc) render in headless Chromium with every request that
leaves the service blocked: their scripts and styles come from the service itself."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from app.kit.clock import FrozenClock
from tests.browser import launch_chromium
from tests.console.live_server import LiveServer
from tests.support.settings import START

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def server():
    live = LiveServer(FrozenClock(START))
    live.start(REPO / "plans.example.toml")
    yield live
    live.stop()


@pytest.fixture
def browser():
    yield from launch_chromium()


@pytest.fixture
def offline_page(server, browser):
    """A page whose requests reach the service only: the rest are refused, and listed."""
    context = browser.new_context()
    own = urlsplit(server.url).netloc
    elsewhere: list[str] = []
    errors: list[str] = []

    def route(request_route):
        if urlsplit(request_route.request.url).netloc == own:
            request_route.continue_()
        else:
            elsewhere.append(request_route.request.url)
            request_route.abort("internetdisconnected")

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, elsewhere, errors
    context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_swagger_ui_renders_every_operation_offline(server, offline_page):
    page, elsewhere, errors = offline_page

    page.goto(f"{server.url}/docs")
    page.locator("#operations-credits-createDebit").wait_for(timeout=15000)

    assert page.locator(".opblock").count() == len(operation_ids(server))
    assert "Credit Ledger" in page.locator(".info .title").inner_text()
    assert elsewhere == [] and errors == []


@pytest.mark.slow
@pytest.mark.browser
def test_redoc_renders_the_reference_offline(server, offline_page):
    page, elsewhere, errors = offline_page

    page.goto(f"{server.url}/redoc")
    page.locator("[data-section-id='operation/createDebit']").wait_for(timeout=15000)

    assert page.locator("h1").first.inner_text().startswith("Credit Ledger")
    assert elsewhere == [] and errors == []


def operation_ids(server) -> list[str]:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    return [op["operationId"] for methods in doc["paths"].values() for op in methods.values()]


async def test_the_pages_name_no_other_host(client):
    for path in ("/docs", "/redoc"):
        page = await client.get(path)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "http://" not in page.text and "https://" not in page.text, path
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert (await client.get(f"/docs/assets/{asset}")).status_code == 200, asset
