"""/readyz reports why a platform is failing as readable text: a classified reason, never a
bytes repr and never the platform's own text (anyone may read /readyz; the log has it)."""

from __future__ import annotations

import httpx

from gateway.app import Gateway, create_app
from gateway.config import parse_config

LOGIN_PAGE = '<!DOCTYPE html>\n<html lang="zh-CN"><head><title>河西市统一身份认证</title>'


async def test_readyz_shows_a_broken_answer_as_text_not_a_bytes_repr() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=LOGIN_PAGE, headers={"Content-Type": "text/html"})

    upstream = httpx.AsyncClient(transport=httpx.MockTransport(platform))
    config = parse_config(
        {"sources": [{"id": "transport", "connector": "ckan", "url": "http://ckan.test"}]}
    )
    gateway = Gateway(config, client=upstream)
    async with (
        upstream,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(gateway)), base_url="http://gateway.test"
        ) as client,
    ):
        response = await client.get("/readyz")
    source = response.json()["sources"][0]
    assert response.status_code == 503
    assert source["status"] == "DOWN"
    message = source["message"]
    assert "b'" not in message and "\\x" not in message and "\\n" not in message
    assert "invalid JSON" in message
    assert "河西市" not in message and "<html" not in message
