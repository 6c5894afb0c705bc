"""Credentials for upstream platforms, as ``httpx.Auth`` flows.

Pass one to ``get_json(..., auth=...)``. Secrets are ``pydantic.SecretStr``: they never
appear in a ``repr``, a ``str``, a log line or an error. Each flow sends an authorized
*copy* of the request, so the request a ``ConnectorError`` keeps (and logs) is the one
without credentials, and a key sent in the query string is redacted from httpx's
request log.

    >>> ApiKeyAuth("AppKey", "${KEY}")                   # header
    >>> ApiKeyAuth("api_key", "${KEY}", in_="query")     # query string
    >>> BearerAuth("${TOKEN}")
    >>> BasicAuth("harvester", "${PASSWORD}")
    >>> OAuth2ClientCredentials("https://sso.example/oauth/token", "gateway", "${SECRET}")
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Literal
from urllib.parse import quote, quote_plus

import httpx
import orjson
from pydantic import SecretStr

from connectors.sdk._errors import FatalError, RetriableError

TOKEN_RESPONSE_MAX_BYTES = 64 * 1024
_HIDDEN = "**********"


def _secret(value: str | SecretStr) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(value)


def _authorized(
    request: httpx.Request,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Request:
    """A copy of ``request`` with credentials added; the original stays clean."""
    url = request.url.copy_merge_params(params) if params else request.url
    copy = httpx.Request(
        request.method,
        url,
        headers=request.headers.copy(),
        stream=request.stream,
        extensions=request.extensions,
    )
    for name, value in (headers or {}).items():
        copy.headers[name] = value
    return copy


class _RedactSecrets(logging.Filter):
    """Replaces registered secrets in log records (httpx logs each request's full URL)."""

    def __init__(self) -> None:
        super().__init__("secrets")
        self._lock = threading.Lock()
        self._secrets: set[str] = set()

    def add(self, secret: str) -> None:
        with self._lock:
            self._secrets |= {secret, quote(secret, safe=""), quote_plus(secret, safe="")}

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            if secret and secret in redacted:
                redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTOR = _RedactSecrets()
logging.getLogger("httpx").addFilter(_REDACTOR)


class ApiKeyAuth(httpx.Auth):
    """An API key sent in a header (the default) or a query parameter.

    >>> ApiKeyAuth("X-Api-Key", SecretStr("k"))
    ApiKeyAuth(name='X-Api-Key', in_='header', value='**********')

    Prefer a header: a key in the query string also lands in the platform's access
    logs (the gateway redacts it from its own).
    """

    def __init__(
        self,
        name: str,
        value: str | SecretStr,
        in_: Literal["header", "query"] = "header",
    ) -> None:
        if in_ not in ("header", "query"):
            raise ValueError(f"in_ must be 'header' or 'query', not {in_!r}")
        if not name:
            raise ValueError("an API key needs a header or parameter name")
        self.name = name
        self.value = _secret(value)
        self.in_ = in_
        if in_ == "query":
            _REDACTOR.add(self.value.get_secret_value())

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        secret = self.value.get_secret_value()
        if self.in_ == "header":
            yield _authorized(request, headers={self.name: secret})
        else:
            yield _authorized(request, params={self.name: secret})

    def redact_url(self, url: str | httpx.URL) -> httpx.URL:
        """``url`` without this key's query parameter (for URLs kept from responses)."""
        parsed = httpx.URL(url)
        if self.in_ != "query" or self.name not in parsed.params:
            return parsed
        return parsed.copy_remove_param(self.name)

    def __repr__(self) -> str:
        return f"ApiKeyAuth(name={self.name!r}, in_={self.in_!r}, value={_HIDDEN!r})"


class BearerAuth(httpx.Auth):
    """A static token sent as ``Authorization: Bearer <token>``.

    >>> BearerAuth("t0ken")
    BearerAuth(token='**********')
    """

    def __init__(self, token: str | SecretStr) -> None:
        self.token = _secret(token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield _authorized(
            request, headers={"Authorization": f"Bearer {self.token.get_secret_value()}"}
        )

    def __repr__(self) -> str:
        return f"BearerAuth(token={_HIDDEN!r})"


class BasicAuth(httpx.Auth):
    """HTTP Basic authentication (RFC 7617) with a hidden password.

    >>> BasicAuth("harvester", "pa55")
    BasicAuth(username='harvester', password='**********')
    """

    def __init__(self, username: str, password: str | SecretStr) -> None:
        self.username = username
        self.password = _secret(password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield _authorized(request, headers={"Authorization": self._header()})

    def _header(self) -> str:
        pair = f"{self.username}:{self.password.get_secret_value()}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={_HIDDEN!r})"


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4), for ``AsyncClient``.

    The access token is fetched on first use and cached until shortly before it expires
    (``expires_in`` less ``expiry_margin``, at most half its lifetime). Concurrent
    requests share one fetch. A 401 from the API with a cached token fetches a new
    token once and retries the request once; a second 401 is returned as is.

        >>> auth = OAuth2ClientCredentials(
        ...     "https://sso.example.gov.cn/oauth2/token", "gateway", SecretStr("s3cret"),
        ...     scope="catalogue.read")
        >>> await get_json(client, url, source_id="health", auth=auth)

    ``client_auth="basic"`` sends the client credentials as HTTP Basic (the RFC's
    preference); ``"body"`` sends them as form fields, for servers that want that.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | SecretStr,
        scope: str | None = None,
        *,
        client_auth: Literal["basic", "body"] = "basic",
        expiry_margin: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if client_auth not in ("basic", "body"):
            raise ValueError(f"client_auth must be 'basic' or 'body', not {client_auth!r}")
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = _secret(client_secret)
        self.scope = scope
        self.client_auth = client_auth
        self.expiry_margin = expiry_margin
        self._clock = clock
        self._token: SecretStr | None = None
        self._expires_at: float | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, "
            f"client_id={self.client_id!r}, scope={self.scope!r}, client_secret={_HIDDEN!r})"
        )

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentials works with httpx.AsyncClient only")
        yield request  # pragma: no cover (makes this a generator)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._cached()
        if token is None:
            async with self._the_lock():
                token = self._cached()  # another request may have fetched it meanwhile
                if token is None:
                    token = await self._store((yield self._token_request()))
        response = yield self._with_token(request, token)
        if response.status_code != 401:
            return
        async with self._the_lock():
            current = self._cached()
            if current is None or current.get_secret_value() == token.get_secret_value():
                # Nobody replaced the token that was refused: fetch a new one.
                self._token = None
                current = await self._store((yield self._token_request()))
        yield self._with_token(request, current)

    # -- internals ------------------------------------------------------------------------

    def _the_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    def _cached(self) -> SecretStr | None:
        if self._token is None:
            return None
        if self._expires_at is not None and self._clock() >= self._expires_at:
            return None
        return self._token

    def _with_token(self, request: httpx.Request, token: SecretStr) -> httpx.Request:
        return _authorized(request, headers={"Authorization": f"Bearer {token.get_secret_value()}"})

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        headers = {"Accept": "application/json"}
        secret = self.client_secret.get_secret_value()
        if self.client_auth == "basic":
            # RFC 6749 2.3.1: each part form-urlencoded before the Basic encoding.
            pair = f"{quote_plus(self.client_id)}:{quote_plus(secret)}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            form |= {"client_id": self.client_id, "client_secret": secret}
        return httpx.Request("POST", self.token_url, data=form, headers=headers)

    async def _store(self, response: httpx.Response) -> SecretStr:
        """Read a token response; raise a ``ConnectorError`` that names no secret."""
        status = response.status_code
        body = await _read_small(response)
        try:
            answer: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            answer = None
        if status == 429 or status >= 500:
            raise RetriableError(f"the OAuth2 token endpoint answered HTTP {status}")
        if status != 200:
            detail = _oauth_error(answer)
            raise FatalError(
                f"the OAuth2 token endpoint refused the client credentials (HTTP {status}"
                f"{': ' + detail if detail else ''}); check client_id, client_secret and scope"
            )
        if not isinstance(answer, dict):
            raise FatalError("the OAuth2 token endpoint did not answer a JSON object")
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise FatalError("the OAuth2 token endpoint answered no access_token")
        kind = answer.get("token_type")
        if kind is not None and str(kind).lower() != "bearer":
            raise FatalError(f"the OAuth2 token type {kind!r} is not supported (only Bearer)")
        expires_in = answer.get("expires_in")
        self._token = SecretStr(token)
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            lifetime = float(expires_in)
            self._expires_at = self._clock() + lifetime - min(self.expiry_margin, lifetime / 2)
        else:
            self._expires_at = None  # kept until the API refuses it
        return self._token


async def _read_small(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > TOKEN_RESPONSE_MAX_BYTES:
            raise FatalError("the OAuth2 token response is too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _oauth_error(answer: Any) -> str:
    """RFC 6749 5.2 ``error`` and ``error_description`` (never contain credentials)."""
    if not isinstance(answer, dict):
        return ""
    parts = [str(answer[k])[:200] for k in ("error", "error_description") if answer.get(k)]
    return ": ".join(parts)
