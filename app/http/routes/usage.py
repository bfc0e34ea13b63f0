"""Usage in batches: a worker flushes its queue of usage records in one request."""

from __future__ import annotations

import orjson
from fastapi.responses import Response

from app.http.auth import DebitCaller
from app.http.deps import LedgerDep
from app.http.routes.common import api_router
from app.ledger.batch_schemas import UsageBatch, UsageBatchResult

router = api_router(tags=["credits"])
JSON = "application/json"


@router.post("/v1/usage", response_model=UsageBatchResult, operation_id="createUsageBatch")
async def create_usage_batch(body: UsageBatch, caller: DebitCaller, ledger: LedgerDep):
    """Up to 1,000 usage records, each a debit of its own account under its own idempotency
    key (`{account_id, idempotency_key, amount | meter + quantity, occurred_at?, description?,
    metadata?}`), answered one by one in `results` (in the order sent) with the status a
    single debit would get: 201 (with `replayed` true for the first answer again), 402, 403,
    404, 409 or 422. The batch itself answers 200 whenever it could be read: a refused record
    never holds back the others, and writes nothing. The records of one account are applied
    in one transaction, in the order sent."""
    # JSON values already (each new record's entry and account as the text its stored answer
    # holds), checked by the tests against the document: not validated again.
    return Response(orjson.dumps(await ledger.usage(body, caller.name)), media_type=JSON)
