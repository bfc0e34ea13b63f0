"""The TypeScript client (clients/typescript): its types are the OpenAPI document's, and,
built with tsc, it debits, holds and captures against the service running on 127.0.0.1 under
Node's own test runner."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import jwt
import pytest

from app.clock import FrozenClock
from scripts.typescript_types import generated
from tests.conftest import JWT_SECRET, START, auth, token
from tests.console.live_server import LiveServer
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


@pytest.mark.node
def test_the_typescript_client_debits_holds_and_captures_against_the_service(server, tmp_path):
    node, tsc = need(NODE), need(TSC)
    built = tmp_path / "dist"
    subprocess.run(
        [node, tsc, "-p", str(TYPESCRIPT_CLIENT / "tsconfig.json"), "--outDir", str(built)],
        check=True,
        timeout=300,
    )
    (built / "package.json").write_text(json.dumps({"type": "module"}))
    user = jwt.encode(
        {"sub": USER_ACCOUNT, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256"
    )
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
