"""What the driver takes and gives: a stored document, a query or an update, as a dict. The
hot collections' documents have typed shapes of their own (app/ledger/documents.py)."""

from __future__ import annotations

from typing import Any

Doc = dict[str, Any]
