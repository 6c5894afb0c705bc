"""Credential flows for upstream platforms (connectors.sdk._auth), through get_json."""

from __future__ import annotations

import asyncio
import base64
import logging

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.sdk import FatalError, RetriableError, get_json
from connectors.sdk._auth import ApiKeyAuth, BasicAuth, BearerAuth, OAuth2ClientCredentials

API = "https://data.example.gov.cn/api/v1/resources"
TOKEN_URL = "https://sso.example.gov.cn/oauth2/token"
SECRET = "s3cret-Value/with+chars"
CLIENT_SECRET = "client-5ecret-value"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_answer(token: str, expires_in: int | None = 3600) -> httpx.Response:
    body: dict[str, object] = {"access_token": token, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, json=body)


class TokenServer:
    """Issues token-1, token-2... slowly enough for concurrent requests to pile up."""

    def __init__(self) -> None:
        self.issued = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        self.issued += 1
        return token_answer(f"token-{self.issued}")


def bearer(request: httpx.Request) -> str:
    return str(request.headers.get("authorization", ""))


# -- API keys, bearer, basic ---------------------------------------------------------------


async def test_an_api_key_goes_in_the_named_header(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.get(API).mock(return_value=httpx.Response(200, json={}))
    await get_json(client, API, source_id="s", auth=ApiKeyAuth("AppKey", SECRET))
    assert route.calls.last.request.headers["AppKey"] == SECRET


async def test_an_api_key_can_go_in_the_query_string(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.get(API).mock(return_value=httpx.Response(200, json={}))
    auth = ApiKeyAuth("api_key", SECRET, in_="query")
    await get_json(client, API, source_id="s", params={"q": "bus"}, auth=auth)
    params = route.calls.last.request.url.params
    assert params["api_key"] == SECRET and params["q"] == "bus"


@pytest.mark.parametrize("in_", ["header", "query"])
async def test_errors_keep_the_request_without_the_key(
    router: respx.MockRouter, client: httpx.AsyncClient, in_: str
) -> None:
    router.get(API).mock(return_value=httpx.Response(400))
    auth = ApiKeyAuth("X-Token", SECRET, in_=in_)  # type: ignore[arg-type]
    with pytest.raises(FatalError) as caught:
        await get_json(client, API, source_id="s", auth=auth)
    error = caught.value
    assert error.request is not None
    shown = f"{error} {error.request!r} {error.request.url} {dict(error.request.headers)}"
    assert SECRET not in shown


async def test_a_query_key_is_redacted_from_httpx_request_logs(
    router: respx.MockRouter, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    router.get(API).mock(return_value=httpx.Response(200, json={}))
    auth = ApiKeyAuth("api_key", SECRET, in_="query")
    with caplog.at_level(logging.DEBUG):
        await get_json(client, API, source_id="s", auth=auth)
    assert "HTTP Request" in caplog.text  # httpx did log the request...
    assert "?[query hidden]" in caplog.text  # (the whole query string: it holds search text)
    assert SECRET not in caplog.text and "s3cret" not in caplog.text  # ...without the key


def test_redact_url_drops_a_query_key_from_urls_kept_from_answers() -> None:
    auth = ApiKeyAuth("api_key", SECRET, in_="query")
    url = auth.redact_url(f"https://x.example/list?page=2&api_key={SECRET}")
    assert str(url) == "https://x.example/list?page=2"


async def test_bearer_and_basic_send_their_authorization_headers(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.get(API).mock(return_value=httpx.Response(200, json={}))
    await get_json(client, API, source_id="s", auth=BearerAuth(SECRET))
    assert route.calls.last.request.headers["authorization"] == f"Bearer {SECRET}"
    await get_json(client, API, source_id="s", auth=BasicAuth("harvester", SECRET))
    expected = base64.b64encode(f"harvester:{SECRET}".encode()).decode()
    assert route.calls.last.request.headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    "auth",
    [
        ApiKeyAuth("AppKey", SECRET),
        ApiKeyAuth("k", SecretStr(SECRET), in_="query"),
        BearerAuth(SECRET),
        BasicAuth("harvester", SECRET),
        OAuth2ClientCredentials(TOKEN_URL, "gateway", SECRET, "catalogue.read"),
    ],
    ids=["api-key-header", "api-key-query", "bearer", "basic", "oauth2"],
)
def test_secrets_never_appear_in_repr_or_str(auth: httpx.Auth) -> None:
    assert SECRET not in repr(auth) and SECRET not in str(auth)
    assert "**********" in repr(auth)


def test_an_api_key_must_say_where_it_goes() -> None:
    with pytest.raises(ValueError, match="header"):
        ApiKeyAuth("k", "v", in_="cookie")  # type: ignore[arg-type]


# -- OAuth2 client credentials -------------------------------------------------------------


def oauth(clock: Clock | None = None, **kwargs: object) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(
        TOKEN_URL,
        "gateway",
        CLIENT_SECRET,
        "catalogue.read",
        clock=clock or Clock(),
        **kwargs,  # type: ignore[arg-type]
    )


async def test_the_token_request_is_a_client_credentials_grant(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    token = router.post(TOKEN_URL).mock(return_value=token_answer("t"))
    api = router.get(API).mock(return_value=httpx.Response(200, json={}))
    await get_json(client, API, source_id="s", auth=oauth())
    sent = token.calls.last.request
    assert sent.content == b"grant_type=client_credentials&scope=catalogue.read"
    pair = base64.b64encode(f"gateway:{CLIENT_SECRET}".encode()).decode()
    assert sent.headers["authorization"] == f"Basic {pair}"
    assert bearer(api.calls.last.request) == "Bearer t"


async def test_client_credentials_can_go_in_the_form_body(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    token = router.post(TOKEN_URL).mock(return_value=token_answer("t"))
    router.get(API).mock(return_value=httpx.Response(200, json={}))
    await get_json(client, API, source_id="s", auth=oauth(client_auth="body"))
    sent = token.calls.last.request
    assert b"client_id=gateway" in sent.content and b"client_secret=" in sent.content
    assert "authorization" not in sent.headers


async def test_one_token_serves_concurrent_requests_until_it_expires(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    server = TokenServer()
    token = router.post(TOKEN_URL).mock(side_effect=server)
    api = router.get(API).mock(return_value=httpx.Response(200, json={}))
    clock = Clock()
    auth = oauth(clock)
    await asyncio.gather(*(get_json(client, API, source_id="s", auth=auth) for _ in range(8)))
    assert token.call_count == 1
    assert {bearer(call.request) for call in api.calls} == {"Bearer token-1"}

    clock.now += 3600 - 31  # still valid (30 s margin)
    await get_json(client, API, source_id="s", auth=auth)
    assert token.call_count == 1
    clock.now += 2  # now within the margin: refreshed before it can expire in flight
    await get_json(client, API, source_id="s", auth=auth)
    assert token.call_count == 2 and bearer(api.calls.last.request) == "Bearer token-2"


async def test_a_401_refreshes_the_token_once_and_retries_once(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    server = TokenServer()
    token = router.post(TOKEN_URL).mock(side_effect=server)

    def api_answer(request: httpx.Request) -> httpx.Response:
        ok = bearer(request) == "Bearer token-2"
        return httpx.Response(200 if ok else 401, json={})

    api = router.get(API).mock(side_effect=api_answer)
    auth = oauth()
    assert (await get_json(client, API, source_id="s", auth=auth))[0] == 200
    assert token.call_count == 2 and api.call_count == 2

    # Revoked again: concurrent 401s for the same token lead to a single refresh.
    api.side_effect = lambda request: httpx.Response(
        200 if bearer(request) == "Bearer token-3" else 401, json={}
    )
    await asyncio.gather(*(get_json(client, API, source_id="s", auth=auth) for _ in range(5)))
    assert token.call_count == 3


async def test_a_second_401_is_returned_not_retried_again(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    token = router.post(TOKEN_URL).mock(side_effect=TokenServer())
    api = router.get(API).mock(return_value=httpx.Response(401, json={}))
    with pytest.raises(FatalError, match="HTTP 401"):
        await get_json(client, API, source_id="s", auth=oauth())
    assert token.call_count == 2 and api.call_count == 2


async def test_a_refused_token_request_is_fatal_and_names_no_secret(
    router: respx.MockRouter, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    router.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": "bad secret"}
        )
    )
    router.get(API).mock(return_value=httpx.Response(200, json={}))
    with caplog.at_level(logging.DEBUG), pytest.raises(FatalError) as caught:
        await get_json(client, API, source_id="health", auth=oauth())
    error = caught.value
    assert error.source_id == "health"
    assert "invalid_client" in str(error) and "client_id" in str(error)
    assert CLIENT_SECRET not in f"{error!s} {error!r} {caplog.text}"


async def test_a_token_endpoint_outage_is_retriable(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.post(TOKEN_URL).mock(return_value=httpx.Response(503))
    with pytest.raises(RetriableError, match="token endpoint"):
        await get_json(client, API, source_id="s", auth=oauth(), retry=None)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, json={"token_type": "Bearer"}),
        httpx.Response(200, json={"access_token": "t", "token_type": "mac"}),
        httpx.Response(200, text="<html>login</html>"),
    ],
    ids=["no-token", "not-bearer", "html"],
)
async def test_an_unusable_token_answer_is_fatal(
    router: respx.MockRouter, client: httpx.AsyncClient, answer: httpx.Response
) -> None:
    router.post(TOKEN_URL).mock(return_value=answer)
    with pytest.raises(FatalError, match="OAuth2"):
        await get_json(client, API, source_id="s", auth=oauth())


async def test_a_token_without_expiry_is_kept_until_refused(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    token = router.post(TOKEN_URL).mock(return_value=token_answer("forever", expires_in=None))
    router.get(API).mock(return_value=httpx.Response(200, json={}))
    clock = Clock()
    auth = oauth(clock)
    await get_json(client, API, source_id="s", auth=auth)
    clock.now += 10**6
    await get_json(client, API, source_id="s", auth=auth)
    assert token.call_count == 1
