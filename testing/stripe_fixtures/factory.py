"""The event factory's state: the layout, a settable clock, fresh ids, the envelope."""

from __future__ import annotations

import itertools
import time
from typing import Any

from stripe_fixtures.common import ENDIVE_API_VERSION, LEGACY_API_VERSION, Obj, Shape
from stripe_fixtures.envelope import envelope


class Factory:
    """Builds webhook events at one API shape, with a settable clock (`now`, unix seconds)."""

    # Shared by every factory, so two factories in one test never mint the same event id.
    _counter = itertools.count(1)

    def __init__(self, shape: Shape = "endive", now: int | None = None) -> None:
        if shape not in ("endive", "legacy"):
            raise ValueError(f'shape must be "endive" or "legacy", not {shape!r}')
        self.shape: Shape = shape
        self.api_version = ENDIVE_API_VERSION if shape == "endive" else LEGACY_API_VERSION
        self.now: int = int(time.time()) if now is None else now

    @property
    def legacy(self) -> bool:
        return self.shape == "legacy"

    def advance(self, seconds: int) -> int:
        """Move the clock forward; returns the new `now`."""
        self.now += seconds
        return self.now

    def new_id(self, prefix: str) -> str:
        """A fresh Stripe-looking id, e.g. `new_id("in")` -> `in_test0000000042`."""
        return f"{prefix}_test{next(self._counter):010d}"

    def event(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
        created: int | None = None,
        event_id: str | None = None,
    ) -> Obj:
        """Any event: `obj` becomes `data.object` as given."""
        return envelope(
            type,
            obj,
            event_id=event_id or self.new_id("evt"),
            api_version=self.api_version,
            created=self.now if created is None else created,
            previous_attributes=previous_attributes,
        )
