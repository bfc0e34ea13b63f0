"""The service `make run` starts (`python -m app dev`: uvicorn, the embedded engine unless
MONGODB_URI is set), started for the benchmark with its own key and webhook secret, on a free
port of this machine, and stopped after it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.client import Connection
from bench.scenarios import Service

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def started_service(
    settings: dict[str, str] | None = None,
) -> AsyncIterator[tuple[Service, int]]:
    """`settings`: environment variables of the service's own (the hot account's simulated
    latency and GROUP_COMMIT)."""
    from app.kit.config import Scope, sha256_hex

    key = "bench-" + secrets.token_urlsafe(16)
    secret = "whsec_bench_" + secrets.token_hex(8)
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "APP_ENV": "development",
        "STRIPE_WEBHOOK_SECRET": secret,
        "API_KEYS": json.dumps(
            [{"name": "bench", "sha256": sha256_hex(key), "scopes": [s.value for s in Scope]}]
        ),
        **(settings or {}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        process = _start(env, Path(tmp))
        try:
            url = f"http://127.0.0.1:{port}"
            await _wait_until_up(url, process, Path(tmp) / "server.log")
            yield Service(url, key, secret), process.pid
        finally:
            _stop(process)


def _start(env: dict[str, str], tmp: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "app",
        "dev",
        "--credentials-file",
        str(tmp / "credentials.json"),
    ]
    with open(tmp / "server.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: the service did not start:\n{_tail(log)}")
        conn = Connection(url, {})
        try:
            status, _ = await conn.request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        finally:
            await conn.close()
        await asyncio.sleep(0.2)
    raise SystemExit("bench: the service did not answer /healthz within 60 s")
