"""Auto top-up: when an account runs low, buy its pack off-session, exactly once, within a cap."""
