"""The service as a real HTTP server for the browser: uvicorn in a thread on 127.0.0.1, on the
embedded engine, restartable over the same data (as an operator restarts after a fix)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import uvicorn

from app.http.app import create_app
from app.kit.clock import Clock
from app.storage.database import Database, connect
from tests.support.ports import free_port
from tests.support.settings import make_settings

CONSOLE_SECRET = "console-secret-for-the-browser-tests-0123456789"


class _Server(uvicorn.Server):
    """Says when it listens, so the test waits for that event rather than polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


class LiveServer:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"console_{uuid.uuid4().hex[:8]}"
        self.client = connect(None, self.name).client
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None

    def start(self, plans_file: Path, **settings) -> None:
        # A fresh Database over the same in-memory data, on the new loop.
        database = Database(self.client, self.name)
        app = create_app(
            make_settings(plans_file=plans_file, console_secret=CONSOLE_SECRET, **settings),
            db=database,
            clock=self.clock,
            sweeper=False,
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = _Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        if not self.server.listening.wait(timeout=30) or not self.server.started:
            raise RuntimeError("the live server did not start")

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=20)
        self.server = self.thread = None
