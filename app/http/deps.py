"""The one dependencies module: what a route gets from the app, as Annotated aliases over the
typed services (app/http/services.py). Who is calling, and with which scopes, is auth.py's."""

from __future__ import annotations

from typing import Annotated

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


async def get_services(request: Request) -> Services:
    return services_of(request.app)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_db(request: Request) -> Database:
    return services_of(request.app).db


async def get_ledger(request: Request) -> Ledger:
    return services_of(request.app).ledger


async def get_directory(request: Request) -> Directory:
    return services_of(request.app).directory


async def get_timeline(request: Request) -> Timeline:
    return services_of(request.app).timeline


async def get_events(request: Request) -> EventService:
    return services_of(request.app).events


async def get_endpoints(request: Request) -> EndpointService:
    return services_of(request.app).endpoints


async def get_webhooks(request: Request) -> WebhookProcessor:
    return services_of(request.app).webhooks


async def get_event_log(request: Request) -> EventLog:
    return services_of(request.app).event_log


DbDep = Annotated[Database, Depends(get_db)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
DirectoryDep = Annotated[Directory, Depends(get_directory)]
TimelineDep = Annotated[Timeline, Depends(get_timeline)]
EventsDep = Annotated[EventService, Depends(get_events)]
EndpointsDep = Annotated[EndpointService, Depends(get_endpoints)]
WebhooksDep = Annotated[WebhookProcessor, Depends(get_webhooks)]
EventLogDep = Annotated[EventLog, Depends(get_event_log)]
