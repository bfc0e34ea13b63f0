"""The one shape of a list answer: `{data, has_more, next_cursor}` from a query of limit + 1."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pymongo import DESCENDING

if TYPE_CHECKING:
    from app.storage.collection import Collection

P = TypeVar("P")
D = TypeVar("D", bound=Mapping[str, Any])


def page_of(
    page: Callable[..., P],
    docs: Sequence[D],
    limit: int,
    view: Callable[[D], Any],
) -> P:
    """`docs` were read with `limit + 1`: one more than fits says there is more, and the last
    one shown (by `_id`) is the cursor of the next page."""
    has_more = len(docs) > limit
    shown = docs[:limit]
    return page(
        data=[view(d) for d in shown],
        has_more=has_more,
        next_cursor=shown[-1]["_id"] if has_more else None,
    )


async def newest_first(
    col: Collection,
    query: dict[str, Any],
    status: str | None,
    starting_after: str | None,
    limit: int,
) -> list[Any]:
    """The documents a page of a list shows, newest id first (ids grow with time): those of
    `query` in `status` when one is asked, older than the cursor; one more than `limit`, for
    page_of."""
    if status:
        query = {**query, "status": status}
    if starting_after:
        query = {**query, "_id": {"$lt": starting_after}}
    return await col.find(query).sort("_id", DESCENDING).limit(limit + 1).to_list(None)
