"""What every server start shares: validate all settings and the catalog, bind the port, and
only then run uvicorn, announcing the start once the server is really up."""

from __future__ import annotations

import errno
import importlib.util
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from app.billing.catalog import Catalog, CatalogError, load_catalog
from app.cli.common import CommandError
from app.kit.config import Settings, SettingsError, load_settings

log = logging.getLogger("app")


@dataclass(frozen=True)
class Configuration:
    settings: Settings
    catalog: Catalog


def load_configuration() -> Configuration:
    """Every setting and the catalog, checked before anything is printed, bound or written."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise CommandError(f"cannot start: {error}") from None
    if not settings.mongodb_uri and importlib.util.find_spec("mongomock_motor") is None:
        raise CommandError(
            "cannot start: MONGODB_URI is unset and the embedded engine is not installed "
            "(pip install 'credit-ledger[embedded]', or set MONGODB_URI)"
        )
    try:
        catalog = load_catalog(settings.plans_file)
    except CatalogError as error:
        # One line, however many problems the file has.
        raise CommandError(
            f"cannot start: PLANS_FILE={error.path}: {'; '.join(error.problems)}"
        ) from None
    return Configuration(settings, catalog)


def bind_port(host: str, port: int) -> socket.socket:
    """Take the port now, so that a busy one stops the start before anything is announced."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: restart right after a stop; it never lets two servers share a port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            reason = "already in use (is another server running?)"
        else:
            reason = error.strerror or str(error)
        raise CommandError(f"cannot start: PORT={port}: {host}:{port} {reason}") from None
    sock.set_inheritable(True)  # worker processes serve the same socket
    return sock


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, calling `on_started` once the app's start-up ran and it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()


def run_server(
    config: uvicorn.Config, sock: socket.socket, on_started: Callable[[], None] | None = None
) -> int:
    """Serve on the bound socket: in this process, or in worker or reloading processes."""
    server = AnnouncingServer(config, on_started)
    if config.should_reload:
        from uvicorn.supervisors import ChangeReload

        ChangeReload(config, target=server.run, sockets=[sock]).run()
    elif config.workers > 1:
        from uvicorn.supervisors import Multiprocess

        # uvicorn >= 0.51 builds each worker's server itself (pyproject.toml's lower bound).
        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])
    return 0
