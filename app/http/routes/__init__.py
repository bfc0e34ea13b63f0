"""HTTP routes by resource: thin, they parse, authorize, call a service and shape the answer."""
