"""``/api/v1/docs`` works without the internet: every file it loads is ours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grimnir.api.routes.ui import UI_DIR_ENV
from tests._api import ApiWorld


async def test_the_docs_page_loads_swagger_ui_from_this_server(world: ApiWorld) -> None:
    client = world.client()
    page = await client.get("/api/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    urls += re.findall(r"""url: *["']([^"']+)["']""", page.text)
    assert urls, page.text
    offsite = [u for u in urls if re.match(r"(https?:)?//", u)]
    assert offsite == [], f"the docs page loads {offsite} from another host"
    assert "/api/v1/openapi.json" in urls
    for url in urls:
        reply = await client.get(url)
        assert reply.status_code == 200, url
        assert len(reply.content) > 1000, url
    script = await client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in script.content


async def test_the_docs_assets_are_outside_the_openapi_schema(world: ApiWorld) -> None:
    spec = (await world.client().get("/api/v1/openapi.json")).json()
    assert not [p for p in spec["paths"] if p.startswith("/api/v1/docs")]


async def test_a_ui_built_elsewhere_is_served_when_named(
    world: ApiWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GRIMNIR_UI_DIR`` serves a UI built into another folder (``vite build
    --outDir``), its page read afresh so a rebuild shows at once."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>first</title>")
    (tmp_path / "assets" / "app-abc123.js").write_text("console.log('here');")
    monkeypatch.setenv(UI_DIR_ENV, str(tmp_path))
    client = world.client()
    assert "first" in (await client.get("/schedule")).text
    (tmp_path / "index.html").write_text("<!doctype html><title>second</title>")
    assert "second" in (await client.get("/")).text
    script = await client.get("/assets/app-abc123.js")
    assert script.status_code == 200
    assert script.text == "console.log('here');"
    assert (await client.get("/assets/other.js")).status_code == 404
