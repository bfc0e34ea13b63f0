"""One-time changes to stored data, run at start-up and idempotent: each one finds nothing to do
once it has run."""
