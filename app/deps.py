"""Request-scoped dependencies: the database, the clock, the settings and the plan catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from app.clock import Clock
from app.config import Settings
from app.db import Database


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_clock(request: Request) -> Clock:
    return request.app.state.clock


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_catalog(request: Request) -> Any:
    return request.app.state.catalog


DbDep = Annotated[Database, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Any, Depends(get_catalog)]
