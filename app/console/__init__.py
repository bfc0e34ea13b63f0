"""The operator console: a few server-rendered pages at /console over the same services."""
