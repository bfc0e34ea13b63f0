"""The embedded engine's datetime walks (app/storage/embedded/datetimes.py) give mongomock's
own answers for any document: naive UTC milliseconds in, aware UTC out."""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone

from bson import ObjectId, Timestamp
from hypothesis import given
from hypothesis import strategies as st
from mongomock import helpers

from app.storage.embedded import datetimes, fast

fast.install()  # as the engine does when it is created
ORIGINAL_IN = helpers._original_patch_datetime_awareness_in_document
ORIGINAL_OUT = helpers._original_make_datetime_timezone_aware_in_document

zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30)), helpers.utc])
moments = st.builds(
    lambda at, zone: at.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1)),
    zones,
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.builds(ObjectId),
    moments,
    st.just(Timestamp(1, 2)),
)
documents = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), inner, max_size=4),
        st.dictionaries(st.text(max_size=4), inner, max_size=3).map(OrderedDict),
    ),
    max_leaves=20,
)


@given(documents)
def test_a_document_goes_in_as_mongomock_stores_it(doc):
    ours = helpers.patch_datetime_awareness_in_document(doc)

    assert helpers.patch_datetime_awareness_in_document is not ORIGINAL_IN  # installed
    assert _typed(ours) == _typed(ORIGINAL_IN(doc))


@given(documents)
def test_a_document_comes_out_as_mongomock_returns_it(doc):
    stored = ORIGINAL_IN(doc)

    assert _typed(helpers.make_datetime_timezone_aware_in_document(stored)) == _typed(
        ORIGINAL_OUT(stored)
    )


def test_an_aware_datetime_is_stored_naive_at_utc_to_the_millisecond():
    walk = datetimes.naive_utc(ORIGINAL_IN)
    at = datetime(2026, 12, 2, 15, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))

    assert walk({"a": [at]}) == {"a": [datetime(2026, 12, 2, 13, 30, 0, 123000)]}


def _typed(value):
    """The value with each part's type and tzinfo beside it: == alone takes 1 for True, a
    tuple for a list, and an aware datetime for the same instant in another zone."""
    if isinstance(value, dict):
        return (type(value), [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value), [_typed(v) for v in value])
    if isinstance(value, datetime):
        return (datetime, value.isoformat(), repr(value.tzinfo))
    return (type(value), value)
