"""Everything under /v1/accounts: the account, its credits, its holds and usage, its alerts,
its auto top-up."""

from app.http.routes.accounts import account, alerts, credits, reads, topups

ROUTERS = tuple(part.router for part in (reads, account, credits, alerts, topups))
