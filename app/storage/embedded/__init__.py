"""The embedded engine (dev and tests only): mongomock under an adapter that gives it what a
replica set's transactions have. Imported only when MONGODB_URI is unset; a real server is
never touched by anything here."""

from app.storage.embedded.client import EmbeddedClient
from app.storage.embedded.freezing import freeze_after_full_collections

__all__ = ["EmbeddedClient", "freeze_after_full_collections"]
