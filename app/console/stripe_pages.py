"""Console page of the Stripe event log: failed and parked events first, with Replay."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console.rendering import Operator, act, back, render
from app.http.services import services_of
from app.ledger.schemas import is_account_id
from app.stripe_events.repository import EventLogQuery

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/stripe-events")
async def stripe_events(
    request: Request,
    operator: Operator,
    status: str = "",
    type: str = "",
    account_id: str = "",
    after: str = "",  # noqa: A002
    notice: str = "",
    error: str = "",
) -> Response:
    log = services_of(request.app).event_log
    statuses = ("received", "processed", "duplicate", "ignored", "parked", "failed")
    account = account_id if is_account_id(account_id) else None
    attention = []
    for stuck in ("failed", "parked"):
        attention += (
            await log.page(EventLogQuery(limit=50, status=stuck, account_id=account))
        ).data
    page = await log.page(
        EventLogQuery(
            limit=50,
            starting_after=after[:255] or None,
            status=status if status in statuses else None,
            type_=type[:100] or None,
            account_id=account,
        )
    )
    return render(
        request,
        "stripe_events.html",
        operator=operator,
        attention=attention,
        page=page,
        status=status,
        type=type,
        account_id=account_id,
        statuses=statuses,
        notice=notice,
        error=error,
    )


@router.post("/stripe-events/{event_id}/replay")
async def replay(request: Request, event_id: str, operator: Operator) -> Response:
    async def run(form: dict[str, str]) -> Response:
        await services_of(request.app).webhooks.replay(event_id[:255])
        event = await services_of(request.app).event_log.get(event_id[:255])
        text = f"replayed {event.id}: {event.status}"
        if event.error:
            return back("/console/stripe-events", error=f"{text}: {event.error}")
        return back("/console/stripe-events", notice=text)

    return await act(request, operator, "/console/stripe-events", "replay", run)
