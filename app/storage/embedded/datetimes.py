"""A speed-up of the walks mongomock makes over every document it stores, updates or returns:
datetimes to naive UTC milliseconds on the way in, and back to aware UTC on the way out.
mongomock's own walks test each value against OrderedDict, dict, tuple, list and datetime in
turn, through generators: about 5% of a debit's CPU on the hot account (bench/hot.py,
py-spy). These take the exact types a stored document holds by one type lookup and leave
everything else (OrderedDict, tuples, subclasses, bson Timestamps) to mongomock's own, so
every answer is the one mongomock gives. Put on mongomock by internals.install_datetimes, on
the versions internals.py was written for only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from bson import ObjectId

_AS_IS = frozenset({str, int, float, bool, type(None), ObjectId, bytes})


def _walk(
    at_datetime: Callable[[datetime], datetime], original: Callable[[Any], Any]
) -> Callable[[Any], Any]:
    """A walk of a value as mongomock's walks go, exact types first: dicts and lists rebuilt,
    each datetime given to `at_datetime`, anything else unusual to mongomock's `original`."""

    def walk(value: Any) -> Any:
        kind = type(value)
        if kind in _AS_IS:
            return value
        if kind is dict:
            return {k: walk(v) for k, v in value.items()}
        if kind is list:
            return [walk(item) for item in value]
        if kind is datetime:
            return at_datetime(value)
        return original(value)

    return walk


def naive_utc(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """mongomock's patch_datetime_awareness_in_document, exact types first."""
    return _walk(naive_ms, original)


@lru_cache(maxsize=256)
def naive_ms(value: datetime) -> datetime:
    """A datetime as mongomock stores it: naive UTC, to the millisecond. Remembered for the
    times met last (a batch's entries share their times: now, the rate's effective_from):
    equal datetimes are the same instant, or both naive and the same wall time."""
    ms = value.microsecond // 1000 * 1000
    if value.tzinfo:
        offset = value.utcoffset()
        assert offset is not None  # tzinfo set: an offset
        if offset:
            value -= offset
        return value.replace(tzinfo=None, microsecond=ms)
    return value.replace(microsecond=ms)


def aware_utc(original: Callable[[Any], Any], utc: tzinfo) -> Callable[[Any], Any]:
    """mongomock's make_datetime_timezone_aware_in_document, exact types first (`utc`: the
    tzinfo it gives, bson's own, as the driver's)."""
    return _walk(lambda at: at.replace(tzinfo=utc), original)
