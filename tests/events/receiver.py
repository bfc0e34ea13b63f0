"""A real HTTP receiver on 127.0.0.1 (stdlib http.server in a thread) that verifies every
delivery's signature with the standardwebhooks library and answers from a script."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    answers: list[int] = field(default_factory=list)  # in order; then `default`
    default: int = 200
    answer_body: bytes = b"ok"
    location: str | None = None  # sent with a 3xx answer
    # path -> the secrets a delivery there must verify with (all of them, during a rotation)
    secrets: dict[str, list[str]] = field(default_factory=dict)
    hold: threading.Event | None = None  # when set, requests wait for it before answering
    url: str = ""
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, path: str, body: bytes, headers: dict[str, str]) -> bool:
        if not self.secrets.get(path):
            return False
        try:
            for secret in self.secrets[path]:
                Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.default

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def start(receiver: Receiver) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, headers, body, receiver.verify(self.path, body, headers))
                )
            receiver.arrived.set()
            if receiver.hold is not None:
                receiver.hold.wait(10)
            status = receiver.answer()
            try:
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the dispatcher gave up first (a held answer past its timeout)

        def log_message(self, *args):  # quiet
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # several dispatchers connect at once
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
