"""Free TCP ports for the tests that start a real server, distinct across pytest-xdist workers."""

from __future__ import annotations

import os
import socket
import zlib

_given: set[int] = set()


def _worker() -> tuple[int, int]:
    """(this worker's index, how many workers): (0, 1) outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return int(name.removeprefix("gw")), count


def free_port() -> int:
    """A port nothing listens on now, as the kernel hands out. Each worker keeps only the ports
    that hash to it, and never one it gave before: two workers never start servers on one port
    between its choice and its bind. (A hash, not the port modulo the workers: Linux hands out
    odd ports to bind(0), so a parity split would starve one worker.)"""
    index, count = _worker()
    for _ in range(1000):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if zlib.crc32(port.to_bytes(2, "big")) % count == index and port not in _given:
            _given.add(port)
            return port
    raise RuntimeError("no free port found in 1000 tries")
