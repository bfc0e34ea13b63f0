"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import os

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse

from app.http.deps import ServicesDep
from app.http.routes.common import api_router
from app.http.throttle import client_address
from app.kit.errors import NotReady, problem_response

router = api_router(tags=["health"])


@router.get("/healthz", operation_id="checkLiveness")
async def healthz():
    """The process is up, whether or not the database answers; `pid` tells the worker
    processes of one server apart."""
    return {"status": "ok", "pid": os.getpid()}


@router.get("/metrics", response_class=PlainTextResponse, operation_id="getMetrics")
async def metrics(request: Request, services: ServicesDep):
    """Counters in Prometheus' text format (no secrets, no account ids)."""
    services.metrics_access.check(
        client_address(request.scope), request.headers.get("authorization", "")
    )
    await services.metrics.collect()
    return PlainTextResponse(services.metrics.render(), media_type="text/plain; version=0.0.4")


@router.get("/readyz", operation_id="checkReadiness")
async def readyz(services: ServicesDep):
    readiness, db = services.readiness, services.db
    if not readiness.ready:  # still starting: what is missing (the database, its indexes)
        return problem_response(NotReady(readiness.reason, missing=readiness.missing))
    try:
        await asyncio.wait_for(db.ping(), timeout=2)
    except Exception:  # any failure to answer means not ready
        return problem_response(NotReady("MongoDB does not answer", missing=["database"]))
    return JSONResponse({"status": "ready", "engine": "embedded" if db.embedded else "mongodb"})
