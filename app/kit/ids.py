"""Ids in ObjectId's layout, as hex, made without bson's per-id cost."""

from __future__ import annotations

import itertools
import os
import random
import time

_COUNTER_SPAN = 1 << 24


class _Process:
    """What every id this process makes shares (a 5-byte random value), and its counter:
    made again in a forked child, as bson's ObjectId does (it asks the pid on every id)."""

    def __init__(self) -> None:
        self.random = int.from_bytes(os.urandom(5), "big")
        self.counter = itertools.count(random.SystemRandom().randrange(_COUNTER_SPAN))


_process = _Process()


def _forked() -> None:
    global _process
    _process = _Process()


os.register_at_fork(after_in_child=_forked)


def object_id_hex() -> str:
    """`str(ObjectId())`: 4 bytes of the time in seconds, 5 of the process's random value, 3 of
    a counter, in hex; so ids sort by the second they were made in, and one process's ids of
    one second by the order it made them."""
    count = next(_process.counter) % _COUNTER_SPAN
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{_process.random:010x}{count:06x}"
