"""The read side of accounts: search, an account's holds, usage and the timeline."""
