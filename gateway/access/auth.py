"""Who is asking: an API key, a bearer JWT, or nobody.

``Authenticator.authenticate(headers, policy)`` answers the ``Caller`` for one request:

- ``X-API-Key: <key>``: the key's SHA-256 is compared, in constant time, with the hashes
  in the policy's ``callers`` (``Policy.caller_for_api_key``).
- ``Authorization: Bearer <JWT>``: the token is checked against the policy's ``jwt:``
  block (``JwtSettings``): signature by a key from ``jwks_url`` or the static ``keys``,
  algorithm from the allowed list (never ``none``), ``iss``, ``aud``, ``exp``, ``nbf`` and
  ``iat`` with ``leeway_seconds``. The ``claims`` mapping names the caller, department
  and roles.
- neither: ``ANONYMOUS``.

A credential that is sent and cannot be accepted raises ``AuthError``; it is never
downgraded to anonymous. Messages say what is wrong and never echo the credential::

    try:
        caller = await authenticator.authenticate(request.headers, policy)
    except AuthError as exc:
        return error_response(exc.status, exc.message, headers=exc.headers)

Signing keys from ``jwks_url`` are cached. A token whose ``kid`` is unknown refetches the
key set once (key rotation), at most once per ``jwks_refetch_seconds`` however many such
tokens arrive, and concurrent refetches share one request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt
import orjson
from jwt import exceptions as jwt_errors

from connectors.sdk import ConnectorError, GatewayError, read_capped
from gateway.access.jwt_settings import ClaimsMapping, JwtSettings, VerificationKey, key_from_jwk
from gateway.access.policy import ANONYMOUS, Caller, Policy

__all__ = ["AuthError", "Authenticator", "JwtSettings"]

log = logging.getLogger("gateway.auth")

MAX_TOKEN_LENGTH = 8192
JWKS_MAX_BYTES = 1024 * 1024
JWKS_TIMEOUT_SECONDS = 5.0
# After a failed fetch (or before any succeeded), wait this long before asking again.
JWKS_RETRY_SECONDS = 5.0
# The headers that carry a credential, as an ASGI server passes names (lower case).
_CREDENTIAL_HEADERS = frozenset((b"x-api-key", b"authorization"))


class AuthError(GatewayError):
    """A credential was sent and cannot be accepted.

    ``status`` is 401, or 503 when the keys to check a token cannot be fetched (the token
    may be fine). ``headers`` carries the ``WWW-Authenticate`` challenge for the response.

    >>> raise AuthError("the token has expired")
    """

    def __init__(self, message: str, *, status: int = 401, scheme: str = "Bearer") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.scheme = scheme

    @property
    def headers(self) -> dict[str, str]:
        if self.status != 401:
            return {"Retry-After": str(int(JWKS_RETRY_SECONDS))}
        if self.scheme != "Bearer":
            return {"WWW-Authenticate": self.scheme}
        description = _header_safe(self.message)
        return {
            "WWW-Authenticate": (f'Bearer error="invalid_token", error_description="{description}"')
        }


class Authenticator:
    """Authenticates requests against the policy passed with each one.

    Holds only the cached JWKS key sets (one per ``jwks_url``), so a reloaded policy takes
    effect on the next request, JWT settings included. ``http_client`` fetches the JWKS;
    ``clock`` (monotonic seconds) paces the refetches.
    """

    def __init__(
        self,
        http_client: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = http_client
        self._clock = clock
        self._key_sets: dict[str, _KeySet] = {}

    async def authenticate(self, headers: Mapping[str, str], policy: Policy) -> Caller:
        """The caller these request headers prove (``ANONYMOUS`` with no credential).

        ``headers`` is case-insensitive (starlette's ``Headers``) or has lower-case names.
        Raises ``AuthError``.
        """
        if not _may_carry_credentials(headers):
            return ANONYMOUS
        api_key = _single(headers, "x-api-key", "X-API-Key", "ApiKey")
        authorization = _single(headers, "authorization", "Authorization", "Bearer")
        if api_key is not None and authorization is not None:
            raise AuthError(
                "send one credential: X-API-Key or Authorization, not both", scheme="ApiKey"
            )
        if api_key is not None:
            caller = policy.caller_for_api_key(api_key.strip())
            if caller is None:
                raise AuthError("the API key is not valid", scheme="ApiKey")
            return caller
        if authorization is None:
            return ANONYMOUS
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise AuthError(
                "Authorization must be 'Bearer <token>'; other schemes are not accepted"
            )
        settings = policy.document.jwt
        if settings is None:
            raise AuthError("bearer tokens are not accepted by this gateway; send X-API-Key")
        return await self._verify(token.strip(), settings)

    async def _verify(self, token: str, settings: JwtSettings) -> Caller:
        if not token:
            raise AuthError("the bearer token is empty")
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthError(f"the bearer token is longer than {MAX_TOKEN_LENGTH} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt_errors.PyJWTError:
            raise AuthError("the bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in settings.algorithms:
            allowed = ", ".join(settings.algorithms)
            if isinstance(algorithm, str) and algorithm.lower() == "none":
                raise AuthError(f"unsigned tokens (alg none) are not accepted; use {allowed}")
            raise AuthError(
                f"the token's algorithm {_shown(algorithm)} is not accepted; use {allowed}"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("the token's kid header must be a string")
        keys = await self._keys(settings, kid)
        candidates = [key for key in keys if algorithm in key.algorithms]
        if not candidates:
            which = f" (kid {_shown(kid)})" if kid is not None else ""
            raise AuthError(f"the token is signed with a key this gateway does not know{which}")
        claims = _decode(token, candidates, algorithm, settings)
        return _caller(claims, settings.claims)

    async def _keys(self, settings: JwtSettings, kid: str | None) -> tuple[VerificationKey, ...]:
        if settings.jwks_url is None:
            return _matching(settings.static_keys, kid)
        key_set = self._key_sets.get(settings.jwks_url)
        if key_set is None:
            key_set = _KeySet(settings.jwks_url, self._client, self._clock)
            self._key_sets[settings.jwks_url] = key_set
        return await key_set.find(kid, settings)


def _may_carry_credentials(headers: Mapping[str, str]) -> bool:
    """False only when starlette's raw header list names neither credential header: most
    requests to a public catalogue are anonymous, and reading each header (twice, to refuse
    a repeated one) scans and decodes the whole list every time."""
    raw = getattr(headers, "raw", None)
    if raw is None:
        return True
    return any(name in _CREDENTIAL_HEADERS for name, _ in raw)


def _single(headers: Mapping[str, str], name: str, shown: str, scheme: str) -> str | None:
    """The one value of header ``name``; two (even equal) are refused, since proxies and
    frameworks disagree on which one counts."""
    getlist = getattr(headers, "getlist", None)
    values = getlist(name) if getlist is not None else []
    if len(values) > 1:
        raise AuthError(f"send one {shown} header, not {len(values)}", scheme=scheme)
    return headers.get(name)


def _decode(
    token: str, candidates: list[VerificationKey], algorithm: str, settings: JwtSettings
) -> dict[str, Any]:
    for key in candidates:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=list(settings.audiences),
                issuer=settings.issuer,
                leeway=settings.leeway_seconds,
                options={
                    "require": ["exp", "iss", "aud"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt_errors.InvalidSignatureError:
            continue  # another candidate (same kid, or none given) may have signed it
        except jwt_errors.PyJWTError as exc:
            raise AuthError(_describe(exc)) from None
        _check_numeric_dates(claims)
        return claims
    raise AuthError("the token's signature does not verify")


def _check_numeric_dates(claims: Mapping[str, Any]) -> None:
    """RFC 7519 NumericDate: a JSON number. PyJWT reads ``"exp": "1999999999"`` as a
    number too; such a token is not one this gateway's issuer signed as meant."""
    for claim in ("exp", "nbf", "iat"):
        value = claims.get(claim)
        if claim in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise AuthError(f"the token's {claim} claim must be a number (a NumericDate)")


def _describe(exc: jwt_errors.PyJWTError) -> str:
    if isinstance(exc, jwt_errors.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(exc, jwt_errors.ImmatureSignatureError):
        claim = "iat" if "iat" in str(exc) else "nbf"
        return f"the token is not valid yet (its {claim} is in the future)"
    if isinstance(exc, jwt_errors.InvalidAudienceError):
        return "the token is not issued for this gateway (aud does not match)"
    if isinstance(exc, jwt_errors.InvalidIssuerError):
        return "the token's issuer is not accepted (iss does not match)"
    if isinstance(exc, jwt_errors.MissingRequiredClaimError):
        return f"the token has no {exc.claim!r} claim"
    if isinstance(exc, jwt_errors.InvalidSubjectError):
        return "the token's sub claim must be a string"
    if isinstance(exc, jwt_errors.InvalidIssuedAtError):
        return "the token's iat claim is not a number"
    if isinstance(exc, jwt_errors.InvalidKeyError):
        return "the token's signing key is not acceptable (too short or of the wrong type)"
    if isinstance(exc, jwt_errors.InvalidAlgorithmError):
        return "the token's algorithm does not fit its signing key"
    if isinstance(exc, jwt_errors.DecodeError):
        return "the bearer token is not a well-formed JWT"
    return "the token is not valid"


def _caller(claims: Mapping[str, Any], mapping: ClaimsMapping) -> Caller:
    caller_id = _claim(claims, mapping.caller)
    if not isinstance(caller_id, str) or not caller_id.strip():
        raise AuthError(f"the token's {mapping.caller!r} claim must name the caller")
    department = _claim(claims, mapping.department) if mapping.department else None
    if department is not None and not isinstance(department, str):
        raise AuthError(f"the token's {mapping.department!r} claim must be a string")
    roles: Any = _claim(claims, mapping.roles) if mapping.roles else None
    if isinstance(roles, str):  # OAuth scope style: "a b c"
        roles = roles.split()
    if roles is None:
        roles = []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise AuthError(f"the token's {mapping.roles!r} claim must be a list of strings")
    return Caller(id=caller_id.strip()[:256], department=department or None, roles=tuple(roles))


def _claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name; ``a.b`` reaches into nested objects."""
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _matching(keys: tuple[VerificationKey, ...], kid: str | None) -> tuple[VerificationKey, ...]:
    """Keys with the token's kid; failing that, keys without a kid (they fit any token)."""
    if kid is not None:
        exact = tuple(key for key in keys if key.kid == kid)
        if exact:
            return exact
    return tuple(key for key in keys if key.kid is None or kid is None)


def _shown(value: object) -> str:
    """A header value from the token, safe to put in a message."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c for c in text if c.isprintable() and c not in "\"'\\")[:40]
    return f"'{text}'"


def _header_safe(message: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "?" for c in message)


class _KeySet:
    """One JWKS URL's keys: fetched on first use, refreshed when old, refetched for an
    unknown kid at most once per ``jwks_refetch_seconds``; fetches never run twice at once."""

    def __init__(self, url: str, client: httpx.AsyncClient, clock: Callable[[], float]) -> None:
        self.url = url
        self._client = client
        self._clock = clock
        self._keys: tuple[VerificationKey, ...] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._refetched_at: float | None = None
        self._attempts = 0
        self._lock = asyncio.Lock()

    async def find(self, kid: str | None, settings: JwtSettings) -> tuple[VerificationKey, ...]:
        seen = self._attempts
        if self._keys is None or self._clock() - self._fetched_at >= settings.jwks_max_age_seconds:
            await self._refresh(seen, unknown_kid=False, settings=settings)
            seen = self._attempts
        if self._keys is None:
            raise AuthError(
                "the gateway cannot fetch the keys that sign tokens right now; try again shortly",
                status=503,
            )
        found = _matching(self._keys, kid)
        if found or kid is None:
            return found
        # Key rotation: the issuer may have published a key since we last asked.
        await self._refresh(seen, unknown_kid=True, settings=settings)
        return _matching(self._keys, kid)

    async def _refresh(self, seen: int, *, unknown_kid: bool, settings: JwtSettings) -> None:
        async with self._lock:
            if self._attempts != seen:
                return  # another request fetched while this one waited: use its answer
            now = self._clock()
            if unknown_kid:
                last, gap = self._refetched_at, settings.jwks_refetch_seconds
            else:
                last, gap = self._attempted_at, JWKS_RETRY_SECONDS
            if last is not None and now - last < gap:
                return
            self._attempts += 1
            self._attempted_at = now
            if unknown_kid:
                self._refetched_at = now
            try:
                keys = await self._fetch()
            except _FetchFailed as exc:
                log.warning("cannot fetch the JWKS at %s: %s", self.url, exc)
                return
            self._keys = keys
            self._fetched_at = now

    async def _fetch(self) -> tuple[VerificationKey, ...]:
        request = self._client.build_request(
            "GET",
            self.url,
            headers={"accept": "application/json"},
            timeout=JWKS_TIMEOUT_SECONDS,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _FetchFailed(type(exc).__name__) from exc
        try:
            if response.status_code != 200:
                raise _FetchFailed(f"HTTP {response.status_code}")
            body = await read_capped(response, JWKS_MAX_BYTES, source_id="jwks")
        except (httpx.HTTPError, ConnectorError) as exc:
            raise _FetchFailed(str(exc)) from exc
        finally:
            await response.aclose()
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _FetchFailed("the body is not JSON") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise _FetchFailed("the body has no 'keys' list")
        keys = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            try:
                key = key_from_jwk(entry)
            except ValueError as exc:
                log.warning("JWKS %s: skipping keys[%d]: %s", self.url, index, exc)
                continue
            if key is not None:
                keys.append(key)
        if not keys:
            raise _FetchFailed("no usable signature key in the set")
        return tuple(keys)


class _FetchFailed(Exception):
    pass
