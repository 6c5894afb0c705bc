"""Fixtures every connector test module uses: a respx router behind an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx


@pytest.fixture
def router() -> respx.MockRouter:
    """Answers only what a test mocks; an unmocked request fails the test."""
    return respx.MockRouter(assert_all_mocked=True, assert_all_called=False)


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[httpx.AsyncClient]:
    """The client a connector under test is given, answering through ``router``."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as c:
        yield c
