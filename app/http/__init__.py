"""Where a request enters: the app factory, authentication, middleware, errors as problem+json, the
routes by resource and the OpenAPI document."""
