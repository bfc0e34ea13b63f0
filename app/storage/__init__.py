"""Where the service's data lives; `embedded/` is the in-memory engine for development and
tests, imported only when MONGODB_URI is unset."""
