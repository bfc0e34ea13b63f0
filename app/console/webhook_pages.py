"""Console page of outgoing webhooks: endpoints, failing deliveries with Retry."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console.rendering import Operator, act, back, render
from app.http.services import services_of

router = APIRouter(prefix="/console", include_in_schema=False)
FAILING = ("failed", "pending")  # given up, and still retrying


@router.get("/webhooks")
async def webhooks_page(
    request: Request, operator: Operator, notice: str = "", error: str = ""
) -> Response:
    service = services_of(request.app).endpoints
    endpoints = (await service.page(limit=100, starting_after=None)).data
    failing = []
    for endpoint in endpoints:
        for status in FAILING:
            page = await service.deliveries_page(
                endpoint.id, status=status, limit=20, starting_after=None
            )
            # A pending delivery is failing once an attempt has failed.
            failing += [(endpoint, d) for d in page.data if status == "failed" or d.attempts]
    return render(
        request,
        "webhooks.html",
        operator=operator,
        endpoints=endpoints,
        failing=failing,
        notice=notice,
        error=error,
    )


@router.post("/webhooks/deliveries/{delivery_id}/retry")
async def retry_delivery(request: Request, delivery_id: str, operator: Operator) -> Response:
    async def run(form: dict[str, str]) -> Response:
        delivery = await services_of(request.app).endpoints.retry(delivery_id[:64])
        return back("/console/webhooks", notice=f"delivery {delivery.id} queued to be sent now")

    return await act(request, operator, "/console/webhooks", "retry", run)
