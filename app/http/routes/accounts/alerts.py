"""An account's balance alerts: its low-balance threshold, and which alerts are on."""

from __future__ import annotations

from app.http.auth import GrantCaller, ReadCaller
from app.http.deps import EventsDep
from app.http.routes.common import AccountId, api_router
from app.outbox import schemas

router = api_router(prefix="/v1/accounts", tags=["events"])


@router.get("/{account_id}/alerts", response_model=schemas.Alerts, operation_id="getAlerts")
async def get_alerts(account_id: AccountId, caller: ReadCaller, events: EventsDep):
    caller.check_account(account_id)
    return await events.alerts(account_id)


@router.put("/{account_id}/alerts", response_model=schemas.Alerts, operation_id="setAlerts")
async def set_alerts(
    account_id: AccountId, body: schemas.AlertsUpdate, caller: GrantCaller, events: EventsDep
):
    return await events.set_alerts(account_id, body)
