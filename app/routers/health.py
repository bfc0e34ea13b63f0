"""Liveness and readiness."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from app.deps import DbDep
from app.errors import problem
from app.throttle import client_address

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="checkLiveness")
async def healthz():
    return {"status": "ok"}


@router.get("/metrics", response_class=PlainTextResponse, operation_id="getMetrics")
async def metrics(request: Request):
    """Counters in Prometheus' text format (no secrets, no account ids)."""
    request.app.state.metrics_access.check(
        client_address(request.scope), request.headers.get("authorization", "")
    )
    await request.app.state.metrics.collect()
    return PlainTextResponse(
        request.app.state.metrics.render(), media_type="text/plain; version=0.0.4"
    )


@router.get("/readyz", operation_id="checkReadiness")
async def readyz(db: DbDep):
    try:
        await asyncio.wait_for(db.ping(), timeout=2)
    except Exception:  # any failure to answer means not ready
        return problem(503, "not_ready", "Not ready", "MongoDB does not answer")
    return JSONResponse({"status": "ready", "engine": "embedded" if db.embedded else "mongodb"})
