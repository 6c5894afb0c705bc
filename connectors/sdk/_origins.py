"""Where a source's requests may go, and which of them carry its credentials.

A source's credential (API key header, bearer token, basic password, OAuth2 token, or any
header the connector adds) goes only to the origin of its configured ``url``. A next link
or a redirect to another origin is refused (``FatalError``: "redirect to another origin
refused", "link to another origin refused") unless the source's ``allowed_origins`` names
that origin, and then it is sent without credentials: no ``auth``, no extra headers.

The SDK's HTTP layer (``get_json``, ``fetch_json``, ``StaticCatalogueConnector``) applies
this to every request and follows redirects itself, one hop at a time, for that purpose.
The origins come from the ``origins=`` argument, else from ``source_origins`` (the gateway
sets it around every call to a connector), else the first request's own origin::

    with source_origins(Origins.of(settings)):
        await connector.search(query)
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from connectors.sdk._errors import FatalError

if TYPE_CHECKING:
    from connectors.sdk._contract import SourceSettings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx.URL) -> str:
    """``scheme://host:port`` of ``url``, with the default port spelled out.

    >>> origin_of("https://Data.Example.gov.cn/api?q=1")
    'https://data.example.gov.cn:443'
    """
    parsed = httpx.URL(url) if isinstance(url, str) else url
    scheme = parsed.scheme.lower()
    port = parsed.port or _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{parsed.host.lower()}:{port}"


@dataclass(frozen=True, slots=True)
class Origins:
    """A source's own origin (credentials go there) and the others it may be sent to
    (without credentials).

    >>> Origins.of(settings).decide("https://cdn.example.gov.cn/x.json")
    'anonymous'
    """

    home: str
    allowed: frozenset[str] = frozenset()

    @classmethod
    def of_url(cls, url: str | httpx.URL, allowed: Iterable[str] = ()) -> Origins:
        return cls(origin_of(url), frozenset(origin_of(a) for a in allowed))

    @classmethod
    def of(cls, settings: SourceSettings) -> Origins:
        """From a source's settings (its ``url`` and ``allowed_origins``)."""
        return cls.of_url(settings.url, settings.allowed_origins)

    def decide(self, url: str | httpx.URL) -> str:
        """``"home"`` (send with credentials), ``"anonymous"`` (send without) or
        ``"refused"``."""
        found = origin_of(url)
        if found == self.home:
            return "home"
        return "anonymous" if found in self.allowed else "refused"


_ORIGINS: contextvars.ContextVar[Origins | None] = contextvars.ContextVar(
    "source_origins", default=None
)


@contextlib.contextmanager
def source_origins(origins: Origins) -> Iterator[None]:
    """Declare the origins of the source whose connector runs inside the block."""
    token = _ORIGINS.set(origins)
    try:
        yield
    finally:
        _ORIGINS.reset(token)


def current_origins() -> Origins | None:
    """The origins ``source_origins`` declared for this task, if any."""
    return _ORIGINS.get()


MAX_REDIRECTS = 5


def _refused(what: str, request: httpx.Request, source_id: str | None = None) -> Exception:
    return FatalError(
        f"{what} to another origin refused ({origin_of(request.url)}); list it in the "
        "source's allowed_origins to follow it (then without credentials)",
        source_id=source_id,
        request=request,
    )


def _within(
    client: httpx.AsyncClient, request: httpx.Request, origins: Origins, what: str
) -> tuple[httpx.Request, bool]:
    """``request`` as it may be sent, and whether it may carry credentials."""
    match origins.decide(request.url):
        case "home":
            return request, True
        case "anonymous":
            # A fresh request: the client's own headers only, none the connector added.
            return client.build_request("GET", request.url), False
        case _:
            raise _refused(what, request)


async def send_within_origins(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    auth: httpx.Auth | None = None,
    origins: Origins | None = None,
) -> httpx.Response:
    """Send ``request`` (streamed), following redirects one hop at a time, each checked
    against ``origins`` (see the module docstring); returns the final response."""
    rules = origins or current_origins() or Origins.of_url(request.url)
    request, credentials = _within(client, request, rules, "link")
    for _ in range(MAX_REDIRECTS + 1):
        if not credentials:
            response = await client.send(request, stream=True, follow_redirects=False, auth=None)
        elif auth is None:  # the client's own auth, if it has one
            response = await client.send(request, stream=True, follow_redirects=False)
        else:
            response = await client.send(request, stream=True, follow_redirects=False, auth=auth)
        if not (client.follow_redirects and response.has_redirect_location):
            return response  # (a client told not to follow redirects gets them as they are)
        target = request.url.join(response.headers["location"])
        await response.aclose()
        headers = request.headers.copy()
        del headers["host"]
        request, credentials = _within(
            client, httpx.Request("GET", target, headers=headers), rules, "redirect"
        )
    raise httpx.TooManyRedirects("too many redirects", request=request)
