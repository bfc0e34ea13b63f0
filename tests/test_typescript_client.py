"""The TypeScript client (clients/typescript): its types are the OpenAPI document's; built
with tsc, it debits, holds and captures against the service running on 127.0.0.1 under Node's
own test runner, and a frontend on another origin reads its user's account with it in
Chromium, with the user's token."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import httpx
import jwt
import pytest

from app.kit.clock import FrozenClock
from scripts.typescript_types import generated
from tests.browser import launch_chromium
from tests.console.live_server import LiveServer
from tests.support.settings import JWT_SECRET, START, auth, token
from tests.tools import NODE, TSC, TYPESCRIPT_CLIENT, need

REPO = Path(__file__).resolve().parents[1]
USER_ACCOUNT = "ts_user"


async def test_the_generated_types_are_the_services_document(client):
    doc = (await client.get("/openapi.json")).json()

    for name, text in generated(doc).items():
        committed = (TYPESCRIPT_CLIENT / "src" / name).read_text()
        assert committed == text, f"clients/typescript/src/{name} is stale: run make client-types"


@pytest.fixture
def server():
    live = LiveServer(FrozenClock(START))
    live.start(REPO / "plans.example.toml")
    yield live
    live.stop()


def build(node: str, tsc: str, into: Path) -> Path:
    """The client compiled by tsc (strict) into `into`, as ES modules."""
    subprocess.run(
        [node, tsc, "-p", str(TYPESCRIPT_CLIENT / "tsconfig.json"), "--outDir", str(into)],
        check=True,
        timeout=300,
    )
    (into / "package.json").write_text(json.dumps({"type": "module"}))
    return into


def user_token(account_id: str) -> str:
    return jwt.encode(
        {"sub": account_id, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256"
    )


@pytest.mark.slow
@pytest.mark.node
def test_the_typescript_client_debits_holds_and_captures_against_the_service(server, tmp_path):
    node, tsc = need(NODE), need(TSC)
    built = build(node, tsc, tmp_path / "dist")
    user = user_token(USER_ACCOUNT)
    env = {
        **os.environ,
        "CREDIT_LEDGER_CLIENT": str(built / "client.js"),
        "CREDIT_LEDGER_URL": server.url,
        "CREDIT_LEDGER_API_KEY": token("worker"),
        "CREDIT_LEDGER_ADMIN_KEY": token("admin"),
        "CREDIT_LEDGER_USER_TOKEN": user,
        "CREDIT_LEDGER_USER_ACCOUNT": USER_ACCOUNT,
    }

    run = subprocess.run(
        [node, "--test", str(TYPESCRIPT_CLIENT / "test" / "client.test.mjs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 8" in run.stdout, run.stdout
    verify = httpx.get(f"{server.url}/v1/admin/verify", headers=auth("admin")).json()
    assert verify["ok"], verify["problems"]


PAGE = """<!doctype html>
<meta charset="utf-8">
<p>Available: <span id="available">...</span> <span id="refused"></span></p>
<script type="module">
  import { CreditLedger } from "./client.js";
  const [service, account, token] = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const ledger = new CreditLedger({ baseUrl: service, token: async () => token, maxRetries: 0 });
  const { available } = await ledger.getAccount(account);
  document.querySelector("#available").textContent = String(available);
  const refused = await ledger.createDebit(account, { amount: 1 }).catch((e) => e);
  document.querySelector("#refused").textContent = `${refused.status} ${refused.code}`;
</script>
"""


@pytest.fixture
def frontend(tmp_path):
    """A product frontend on an origin of its own: the page and the compiled client."""
    node, tsc = need(NODE), need(TSC)
    built = build(node, tsc, tmp_path / "site")
    (built / "index.html").write_text(PAGE)
    handler = partial(SimpleHTTPRequestHandler, directory=str(built))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    site = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{site.server_address[1]}"
    site.shutdown()
    site.server_close()


@pytest.fixture
def browser():
    yield from launch_chromium()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
def test_a_frontend_reads_its_users_account_with_the_client_in_chromium(frontend, browser):
    # The service lets the frontend's origin read its answers (CORS_ORIGINS), as deployed.
    service = LiveServer(FrozenClock(START))
    service.start(REPO / "plans.example.toml", cors_origins=frontend)
    try:
        granted = httpx.post(
            f"{service.url}/v1/accounts/{USER_ACCOUNT}/grants",
            headers={**auth("admin"), "Idempotency-Key": "welcome"},
            json={"amount": 42, "kind": "bonus", "description": "welcome"},
        )
        assert granted.status_code == 201, granted.text
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        state = json.dumps([service.url, USER_ACCOUNT, user_token(USER_ACCOUNT)])

        page.goto(f"{frontend}/index.html#{quote(state)}")
        page.locator("#refused:not(:empty)").wait_for(timeout=15000)

        assert page.locator("#available").inner_text() == "42"
        assert page.locator("#refused").inner_text() == "403 forbidden"
        assert errors == []
    finally:
        service.stop()
