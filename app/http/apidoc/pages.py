"""/docs (Swagger UI) and /redoc (ReDoc) served by the service itself, from the assets the
pinned fastapi-offline package ships: nothing is loaded from a CDN, so they work offline."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS_PATH = "/docs/assets"
# Swagger UI 5.32 and ReDoc 2.5, as the fastapi-offline package (pinned by the locks) ships them.
# Relative to /docs and /redoc, so the pages also work under a proxy's path prefix.
OPENAPI = "openapi.json"
ASSETS = ASSETS_PATH.lstrip("/")
# The pages may load from the service only. ReDoc's sidebar asks its vendor's CDN for a logo:
# refused here, it hides the image. Inline script and styles: FastAPI's page templates and
# ReDoc's styled components use them; blob: for ReDoc's search worker.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Mount the assets and the two pages; create the app with docs_url=redoc_url=None."""
    # The pages are the same for every request: made once, here.
    swagger = get_swagger_ui_html(
        openapi_url=OPENAPI,
        title=f"{app.title} - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        swagger_ui_parameters={"persistAuthorization": True},
    ).body
    redoc = get_redoc_html(
        openapi_url=OPENAPI,
        title=f"{app.title} - API reference",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    ).body
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers=HEADERS)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc, headers=HEADERS)
