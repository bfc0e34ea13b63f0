"""The one dependencies module: what a route gets from the app, as Annotated aliases over the
typed services (app/http/services.py). Who is calling, and with which scopes, is auth.py's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from app.accounts.directory import Directory
from app.accounts.timeline.service import Timeline
from app.http.services import Services, services_of
from app.ledger.operations import Ledger
from app.outbox.endpoint_service import EndpointService
from app.outbox.service import EventService
from app.storage.database import Database
from app.stripe_events.event_log import EventLog
from app.stripe_events.processor import WebhookProcessor
from app.topups.service import AutoTopupService

T = TypeVar("T")


async def get_services(request: Request) -> Services:
    return services_of(request.app)


def _part(pick: Callable[[Services], T]) -> Any:
    """A dependency on one part of the services."""

    async def dependency(request: Request) -> T:
        return pick(services_of(request.app))

    return Depends(dependency)


ServicesDep = Annotated[Services, Depends(get_services)]
DbDep = Annotated[Database, _part(lambda s: s.db)]
LedgerDep = Annotated[Ledger, _part(lambda s: s.ledger)]
DirectoryDep = Annotated[Directory, _part(lambda s: s.directory)]
TimelineDep = Annotated[Timeline, _part(lambda s: s.timeline)]
EventsDep = Annotated[EventService, _part(lambda s: s.events)]
EndpointsDep = Annotated[EndpointService, _part(lambda s: s.endpoints)]
WebhooksDep = Annotated[WebhookProcessor, _part(lambda s: s.webhooks)]
EventLogDep = Annotated[EventLog, _part(lambda s: s.event_log)]
TopupsDep = Annotated[AutoTopupService, _part(lambda s: s.topups)]
