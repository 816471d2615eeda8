"""``/api/v1/docs`` works without the internet: every file it loads is ours."""

from __future__ import annotations

import re

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
