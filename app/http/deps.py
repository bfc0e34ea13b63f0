"""Request-scoped dependencies shared by routers that need the database itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.storage.database import Database


async def get_db(request: Request) -> Database:
    return request.app.state.db


DbDep = Annotated[Database, Depends(get_db)]
