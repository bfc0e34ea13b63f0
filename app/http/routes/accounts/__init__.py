"""Everything under /v1/accounts: the account, its credits, its holds and usage, its alerts,
its auto top-up."""

from fastapi import APIRouter

from app.http.routes.accounts import account, alerts, credits, reads, topups

# Each part carries the /v1/accounts prefix itself: a route's own path is the full one, which
# the undeclared-query-parameter check reads.
router = APIRouter()
for part in (reads, account, credits, alerts, topups):
    router.include_router(part.router)
