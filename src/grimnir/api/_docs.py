"""``/api/v1/docs`` without the internet: Swagger UI's files are served from a package.

FastAPI's own docs page loads Swagger UI from a CDN, so on a studio machine
without internet access it is blank. The same page is built here with
FastAPI's helper, pointing at the copy of Swagger UI that ships inside the
``fastapi-offline`` package.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
"""Swagger UI's JavaScript, CSS and icon, as shipped in the package."""


def install_docs(app: FastAPI, docs_url: str) -> None:
    """Serve the Swagger UI page at ``docs_url`` and its files under ``docs_url/assets``."""
    assets_url = f"{docs_url}/assets"
    app.mount(assets_url, StaticFiles(directory=ASSETS), name="docs-assets")

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — API docs",
            swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_url}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    app.add_route(docs_url, docs, include_in_schema=False)
