"""HTTP routes by resource: thin, they parse, authorize, call a service and shape the answer."""

from __future__ import annotations

from fastapi import FastAPI

from app.http.routes import (
    accounts,
    admin,
    events,
    grants,
    health,
    rates,
    reservations,
    stripe_events,
    usage,
    webhook_endpoints,
)

# In this order: the first route that matches a request serves it, and the OpenAPI document
# lists the operations in it.
ROUTERS = (
    health.router,
    *accounts.ROUTERS,
    reservations.router,
    usage.router,
    rates.router,
    grants.router,
    stripe_events.router,
    events.router,
    admin.router,
    webhook_endpoints.router,
)


def install_routes(app: FastAPI) -> None:
    """Every router's routes into the app's own table, flat. app.include_router would keep
    each router as a branch that a request walks through, and build every route's handler
    again for each app; these route objects are built once, when their module is imported,
    and a request is matched by one pass over the table (docs/design.md, "A request's path")."""
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
