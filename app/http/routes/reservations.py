"""A hold, once made: read it, capture it or release it. Each POST is idempotent by key."""

from __future__ import annotations

from app.http.auth import ReserveCaller
from app.http.deps import LedgerDep
from app.http.routes.common import IdempotencyKey, ReservationId, api_router, replayable
from app.ledger import schemas

router = api_router(prefix="/v1/reservations", tags=["credits"])


@router.get(
    "/{reservation_id}",
    response_model=schemas.Reservation,
    operation_id="getReservation",
)
async def get_reservation(reservation_id: ReservationId, caller: ReserveCaller, ledger: LedgerDep):
    return await ledger.reservation(reservation_id)


@router.post(
    "/{reservation_id}/capture",
    response_model=schemas.CaptureResult,
    operation_id="captureReservation",
)
async def capture(
    reservation_id: ReservationId,
    caller: ReserveCaller,
    key: IdempotencyKey,
    ledger: LedgerDep,
    body: schemas.CaptureCreate | None = None,
):
    body = body or schemas.CaptureCreate()
    return replayable(await ledger.capture(reservation_id, body, key, caller.name))


@router.post(
    "/{reservation_id}/release",
    response_model=schemas.Reservation,
    operation_id="releaseReservation",
)
async def release(
    reservation_id: ReservationId, caller: ReserveCaller, key: IdempotencyKey, ledger: LedgerDep
):
    return replayable(await ledger.release(reservation_id, key, caller.name))
