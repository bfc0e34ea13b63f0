"""The access log tells of failed and slow requests only (app/http/access_log.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.responses import PlainTextResponse

from app.http import access_log
from app.http.access_log import AccessLog


async def answering(status: int):
    async def app(scope, receive, send):
        await PlainTextResponse("x", status_code=status)(scope, receive, send)

    return app


async def get(app, path: str = "/v1/accounts/a?token=secret") -> httpx.Response:
    transport = httpx.ASGITransport(app=AccessLog(app), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_a_server_error_is_logged_without_the_query(caplog):
    caplog.set_level(logging.INFO, "app.access")
    await get(await answering(503))
    [record] = caplog.records
    assert record.getMessage().startswith("GET /v1/accounts/a 503 ")
    assert "secret" not in record.getMessage()


async def test_an_exception_is_logged_as_a_500(caplog):
    caplog.set_level(logging.INFO, "app.access")

    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    await get(broken)
    assert [r.getMessage().split(" ")[2] for r in caplog.records] == ["500"]


@pytest.mark.parametrize("status", [200, 404, 422])
async def test_a_quick_answer_is_not_logged(caplog, status):
    caplog.set_level(logging.INFO, "app.access")
    await get(await answering(status))
    assert caplog.records == []


async def test_a_slow_answer_is_logged(caplog, monkeypatch):
    caplog.set_level(logging.INFO, "app.access")
    monkeypatch.setattr(access_log, "SLOW_SECONDS", 0.0)
    await get(await answering(200))
    assert caplog.records[0].getMessage().startswith("GET /v1/accounts/a 200 ")
