"""Credits spent per UTC day, week or month, optionally split by one metadata value: what a
frontend draws its usage chart from."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.accounts import schemas
from app.accounts.repository import ReadRepository
from app.kit.errors import ValidationFailed, invalid_field

GroupBy = Literal["day", "week", "month"]
DEFAULT_SPAN = timedelta(days=30)
MAX_BUCKETS = 400


def bucket_start(when: datetime, unit: GroupBy) -> datetime:
    """The UTC day, ISO week (from Monday) or month that `when` falls in."""
    day = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: datetime, unit: GroupBy) -> datetime:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    return (start + timedelta(days=32)).replace(day=1)


def bucket_range(start: datetime, end: datetime, unit: GroupBy) -> list[datetime]:
    """Starts of the whole buckets covering [start, end): `start` is rounded down to its
    bucket, `end` up to the next boundary."""
    starts = [bucket_start(start, unit)]
    while next_bucket(starts[-1], unit) < end:
        starts.append(next_bucket(starts[-1], unit))
        if len(starts) > MAX_BUCKETS:
            raise _invalid(
                "from", f"at most {MAX_BUCKETS} buckets: narrow the range or group by a longer unit"
            )
    return starts


def _invalid(field: str, msg: str) -> ValidationFailed:
    return invalid_field("query", field, msg)


class _Sum:
    def __init__(self) -> None:
        self.credits = 0
        self.operations = 0
        self.groups: dict[tuple[str, Any], list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(self, value: Any, credits: int, operations: int, quantity: int = 0) -> None:
        self.credits += credits
        self.operations += operations
        # The type is part of the key: "1" and 1 are different values of the key.
        group = self.groups[(type(value).__name__, value)]
        group[0] += credits
        group[1] += operations
        group[2] += quantity

    def groups_view(self, by_meter: bool = False) -> list[schemas.UsageGroup]:
        rows = [
            schemas.UsageGroup(
                value=value, credits=c, operations=n, quantity=q if by_meter else None
            )
            for (_, value), (c, n, q) in self.groups.items()
        ]
        return sorted(rows, key=lambda g: (-g.credits, str(g.value)))


async def usage(
    reads: ReadRepository,
    account_id: str,
    *,
    start: datetime | None,
    end: datetime | None,
    group_by: GroupBy,
    metadata_key: str | None,
    now: datetime,
    by_meter: bool = False,
) -> schemas.Usage:
    end = end or now
    start = start or end - DEFAULT_SPAN
    if start >= end:
        raise _invalid("from", "must be before to")
    if by_meter and metadata_key is not None:
        raise _invalid("by_meter", "split by a metadata key or by meter, not both")
    starts = bucket_range(start, end, group_by)
    first, last = starts[0], next_bucket(starts[-1], group_by)
    sums = {s: _Sum() for s in starts}
    total = _Sum()
    for row in await reads.spending_by_day(account_id, first, last, metadata_key, by_meter):
        day = datetime.strptime(row["_id"]["day"], "%Y-%m-%d").replace(tzinfo=UTC)
        value = row["_id"].get("value")
        credits, operations, quantity = -row["amount"], row["operations"], row.get("quantity", 0)
        sums[bucket_start(day, group_by)].add(value, credits, operations, quantity)
        total.add(value, credits, operations, quantity)
    split = metadata_key is not None or by_meter
    data = [
        schemas.UsageBucket(
            start=s,
            end=next_bucket(s, group_by),
            credits=sums[s].credits,
            operations=sums[s].operations,
            groups=sums[s].groups_view(by_meter) if split else None,
        )
        for s in starts
    ]
    return schemas.Usage(
        account_id=account_id,
        from_=first,
        to=last,
        group_by=group_by,
        metadata_key=metadata_key,
        by_meter=by_meter,
        data=data,
        totals=schemas.UsageTotals(
            credits=total.credits,
            operations=total.operations,
            groups=total.groups_view(by_meter) if split else None,
        ),
    )
