"""The OpenAPI document as a working console: bearer auth, every operation's problem+json
answers, and a description and an example for every field, parameter and body."""

from app.http.apidoc.document import install_openapi

__all__ = ["install_openapi"]
