"""Authentication: API keys, bearer JWTs (JWKS or static keys), and anonymous callers."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.datastructures import Headers

from gateway.access.auth import Authenticator, AuthError
from gateway.access.policy import ANONYMOUS, Caller, Policy, hash_api_key
from gateway.config import ConfigError

ISSUER = "https://idp.test/realms/city"
AUDIENCE = "catalogue-gateway"
JWKS_URL = "http://127.0.0.1:9/jwks"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if isinstance(private_key, ec.EllipticCurvePrivateKey) else RSAAlgorithm
    jwk: dict[str, Any] = algorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


def public_pem(private_key: Any) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def token(
    private_key: Any,
    *,
    kid: str | None = "k1",
    algorithm: str = "ES256",
    **claims: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "analyst-7",
        "dept": "transport",
        "roles": ["government-staff"],
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, private_key, algorithm=algorithm, headers=headers)


def unsigned_token(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "intruder", "exp": now + 300, **claims}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def jwt_policy(**jwt_block: Any) -> Policy:
    block: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, **jwt_block}
    if "keys" not in block:
        block.setdefault("jwks_url", JWKS_URL)
    return Policy.parse(
        {
            "callers": [
                {"id": "analyst", "department": "transport", "api_keys": [hash_api_key("k-1")]}
            ],
            "jwt": block,
        }
    )


class Jwks:
    """A JWKS endpoint whose key set the test swaps; counts fetches."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.route = router.get(JWKS_URL).mock(side_effect=self._answer)

    async def _answer(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent requests arrive while this one is in flight
        return httpx.Response(self.status, json={"keys": self.keys})

    @property
    def fetches(self) -> int:
        return self.route.call_count


@pytest.fixture
async def router() -> AsyncIterator[respx.MockRouter]:
    async with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def jwks(router: respx.MockRouter) -> Jwks:
    return Jwks(router)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def authenticator(clock: FakeClock) -> AsyncIterator[Authenticator]:
    async with httpx.AsyncClient() as client:
        yield Authenticator(client, clock=clock)


def bearer(value: str) -> dict[str, str]:
    return {"authorization": f"Bearer {value}"}


async def rejected(
    authenticator: Authenticator, headers: dict[str, str], policy: Policy
) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await authenticator.authenticate(headers, policy)
    return caught.value


# --- API keys and anonymous callers ------------------------------------------------------


async def test_a_request_without_credentials_is_anonymous(authenticator: Authenticator) -> None:
    assert await authenticator.authenticate({}, jwt_policy()) is ANONYMOUS


async def test_an_api_key_authenticates_its_caller(authenticator: Authenticator) -> None:
    caller = await authenticator.authenticate({"x-api-key": " k-1 "}, jwt_policy())
    assert caller == Caller(id="analyst", department="transport")


async def test_an_unknown_api_key_is_refused_not_downgraded(authenticator: Authenticator) -> None:
    error = await rejected(authenticator, {"x-api-key": "guess"}, jwt_policy())
    assert error.status == 401
    assert error.message == "the API key is not valid"
    assert error.headers == {"WWW-Authenticate": "ApiKey"}


async def test_two_credentials_at_once_are_refused(
    authenticator: Authenticator, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    headers = {"x-api-key": "k-1", **bearer(token(ec_key))}
    error = await rejected(authenticator, headers, jwt_policy())
    assert "not both" in error.message


@pytest.mark.parametrize(
    ("name", "value"), [("x-api-key", b"k-1"), ("authorization", b"Bearer x.y.z")]
)
async def test_a_credential_header_sent_twice_is_refused_even_when_both_are_equal(
    authenticator: Authenticator, name: str, value: bytes
) -> None:
    headers = Headers(raw=[(name.encode(), value), (name.encode(), value)])
    error = await rejected(authenticator, headers, jwt_policy())
    assert error.status == 401
    assert error.message.startswith("send one ") and error.message.endswith(", not 2")


async def test_bearer_tokens_are_refused_when_the_policy_has_no_jwt_block(
    authenticator: Authenticator, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    error = await rejected(authenticator, bearer(token(ec_key)), Policy.default())
    assert error.message == "bearer tokens are not accepted by this gateway; send X-API-Key"


async def test_other_authorization_schemes_are_refused(authenticator: Authenticator) -> None:
    error = await rejected(authenticator, {"authorization": "Basic dXNlcjpwdw=="}, jwt_policy())
    assert "Bearer" in error.message


# --- valid tokens and the claims mapping -------------------------------------------------


async def test_a_valid_token_from_the_jwks_maps_its_claims_to_the_caller(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    caller = await authenticator.authenticate(bearer(token(ec_key)), jwt_policy())
    assert caller == Caller(id="analyst-7", department="transport", roles=("government-staff",))
    assert not caller.anonymous
    assert jwks.fetches == 1


async def test_the_jwks_is_fetched_once_and_reused(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    for _ in range(3):
        await authenticator.authenticate(bearer(token(ec_key)), jwt_policy())
    assert jwks.fetches == 1


async def test_the_jwks_is_refreshed_once_it_is_older_than_its_max_age(
    authenticator: Authenticator, jwks: Jwks, clock: FakeClock, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    policy = jwt_policy(jwks_max_age_seconds=600)
    await authenticator.authenticate(bearer(token(ec_key)), policy)
    clock.now += 601
    await authenticator.authenticate(bearer(token(ec_key)), policy)
    assert jwks.fetches == 2


async def test_a_static_pem_key_verifies_rs256_tokens(
    authenticator: Authenticator, rsa_key: rsa.RSAPrivateKey
) -> None:
    policy = jwt_policy(keys=[public_pem(rsa_key)])
    signed = token(rsa_key, algorithm="RS256", kid=None)
    caller = await authenticator.authenticate(bearer(signed), policy)
    assert caller.id == "analyst-7"


async def test_a_static_jwk_verifies_tokens_with_its_kid(
    authenticator: Authenticator,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    policy = jwt_policy(keys=[public_jwk(other_ec_key, "old"), public_jwk(ec_key, "new")])
    caller = await authenticator.authenticate(bearer(token(ec_key, kid="new")), policy)
    assert caller.id == "analyst-7"


async def test_a_token_without_kid_is_tried_against_every_key(
    authenticator: Authenticator,
    jwks: Jwks,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    jwks.keys = [public_jwk(other_ec_key, "a"), public_jwk(ec_key, "b")]
    caller = await authenticator.authenticate(bearer(token(ec_key, kid=None)), jwt_policy())
    assert caller.id == "analyst-7"


async def test_claims_mapping_reaches_nested_claims_and_splits_scope_strings(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    policy = jwt_policy(
        claims={"caller": "preferred_username", "department": "org.unit", "roles": "scope"}
    )
    signed = token(
        ec_key, preferred_username="li.wei", org={"unit": "health"}, scope="staff auditor"
    )
    caller = await authenticator.authenticate(bearer(signed), policy)
    assert caller == Caller(id="li.wei", department="health", roles=("staff", "auditor"))


async def test_unmapped_department_and_roles_leave_the_caller_without_them(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    policy = jwt_policy(claims={"caller": "sub", "department": None, "roles": None})
    caller = await authenticator.authenticate(bearer(token(ec_key)), policy)
    assert caller == Caller(id="analyst-7")


async def test_a_token_without_the_caller_claim_is_refused(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    error = await rejected(authenticator, bearer(token(ec_key, sub=None)), jwt_policy())
    assert error.message == "the token's 'sub' claim must name the caller"


async def test_roles_that_are_not_strings_are_refused(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    error = await rejected(authenticator, bearer(token(ec_key, roles=[1, 2])), jwt_policy())
    assert "'roles' claim must be a list of strings" in error.message


# --- refused tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "message"),
    # Claims from the moment the test runs, not the one the module was collected at: in a
    # long suite "600 s ahead" at collection is already past when the test runs.
    [
        pytest.param(
            lambda now: {"exp": now - 120, "iat": now - 600},
            "the token has expired",
            id="expired",
        ),
        pytest.param(
            lambda now: {"nbf": now + 600},
            "the token is not valid yet (its nbf is in the future)",
            id="nbf-in-future",
        ),
        pytest.param(
            lambda now: {"iat": now + 600},
            "the token is not valid yet (its iat is in the future)",
            id="iat-in-future",
        ),
        pytest.param(
            lambda now: {"aud": "another-service"},
            "the token is not issued for this gateway (aud does not match)",
            id="wrong-audience",
        ),
        pytest.param(
            lambda now: {"iss": "https://evil.test"},
            "the token's issuer is not accepted (iss does not match)",
            id="wrong-issuer",
        ),
        pytest.param(lambda now: {"exp": None}, "the token has no 'exp' claim", id="no-expiry"),
        pytest.param(
            lambda now: {"exp": str(now + 300)},
            "the token's exp claim must be a number (a NumericDate)",
            id="exp-numeric-string",
        ),
        pytest.param(
            lambda now: {"nbf": str(now - 60)},
            "the token's nbf claim must be a number (a NumericDate)",
            id="nbf-numeric-string",
        ),
        pytest.param(
            lambda now: {"iat": True},
            "the token's iat claim must be a number (a NumericDate)",
            id="iat-boolean",
        ),
    ],
)
async def test_tokens_failing_a_claim_check_are_refused_with_the_reason(
    authenticator: Authenticator,
    jwks: Jwks,
    ec_key: ec.EllipticCurvePrivateKey,
    claims: Callable[[int], dict[str, Any]],
    message: str,
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    signed = token(ec_key, **claims(int(time.time())))
    error = await rejected(authenticator, bearer(signed), jwt_policy())
    assert error.message == message
    assert error.status == 401
    assert signed not in error.message
    assert signed.split(".")[1] not in error.headers["WWW-Authenticate"]


async def test_a_token_expired_within_the_leeway_is_still_accepted(
    authenticator: Authenticator, jwks: Jwks, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    signed = token(ec_key, exp=int(time.time()) - 10)
    caller = await authenticator.authenticate(bearer(signed), jwt_policy(leeway_seconds=30))
    assert caller.id == "analyst-7"


async def test_a_token_signed_by_another_key_is_refused(
    authenticator: Authenticator,
    jwks: Jwks,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    jwks.keys = [public_jwk(ec_key, "k1")]
    error = await rejected(authenticator, bearer(token(other_ec_key, kid="k1")), jwt_policy())
    assert error.message == "the token's signature does not verify"


async def test_an_unsigned_token_is_refused(authenticator: Authenticator, jwks: Jwks) -> None:
    error = await rejected(authenticator, bearer(unsigned_token()), jwt_policy())
    assert error.message.startswith("unsigned tokens (alg none) are not accepted")
    assert jwks.fetches == 0


async def test_a_token_with_an_algorithm_outside_the_allowed_list_is_refused(
    authenticator: Authenticator, rsa_key: rsa.RSAPrivateKey
) -> None:
    policy = jwt_policy(keys=[public_pem(rsa_key)], algorithms=["ES256"])
    error = await rejected(authenticator, bearer(token(rsa_key, algorithm="RS256")), policy)
    assert error.message == "the token's algorithm 'RS256' is not accepted; use ES256"


async def test_a_malformed_token_is_refused(authenticator: Authenticator) -> None:
    error = await rejected(authenticator, bearer("not.a-jwt"), jwt_policy())
    assert error.message == "the bearer token is not a well-formed JWT"


async def test_the_refusal_carries_a_bearer_challenge_describing_the_problem() -> None:
    assert AuthError("the token has expired").headers == {
        "WWW-Authenticate": (
            'Bearer error="invalid_token", error_description="the token has expired"'
        )
    }


# --- key rotation ------------------------------------------------------------------------


async def test_an_unknown_kid_refetches_the_jwks_once_and_then_succeeds(
    authenticator: Authenticator,
    jwks: Jwks,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    policy = jwt_policy()
    jwks.keys = [public_jwk(ec_key, "k1")]
    await authenticator.authenticate(bearer(token(ec_key, kid="k1")), policy)
    jwks.keys.append(public_jwk(other_ec_key, "k2"))  # the issuer rotates in a new key

    caller = await authenticator.authenticate(bearer(token(other_ec_key, kid="k2")), policy)

    assert caller.id == "analyst-7"
    assert jwks.fetches == 2


async def test_unknown_kid_refetches_are_rate_limited(
    authenticator: Authenticator,
    jwks: Jwks,
    clock: FakeClock,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    policy = jwt_policy(jwks_refetch_seconds=60)
    jwks.keys = [public_jwk(ec_key, "k1")]
    await authenticator.authenticate(bearer(token(ec_key)), policy)
    for kid in ("x1", "x2", "x3"):
        error = await rejected(authenticator, bearer(token(other_ec_key, kid=kid)), policy)
        assert (
            error.message
            == f"the token is signed with a key this gateway does not know (kid '{kid}')"
        )
    assert jwks.fetches == 2  # the first load and one refetch, not one per token

    clock.now += 61
    jwks.keys.append(public_jwk(other_ec_key, "x4"))
    caller = await authenticator.authenticate(bearer(token(other_ec_key, kid="x4")), policy)
    assert caller.id == "analyst-7"
    assert jwks.fetches == 3


async def test_concurrent_requests_share_one_jwks_fetch(
    authenticator: Authenticator,
    jwks: Jwks,
    ec_key: ec.EllipticCurvePrivateKey,
    other_ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    policy = jwt_policy()
    jwks.keys = [public_jwk(ec_key, "k1")]
    first = [authenticator.authenticate(bearer(token(ec_key)), policy) for _ in range(5)]
    assert len(await asyncio.gather(*first)) == 5
    assert jwks.fetches == 1

    jwks.keys.append(public_jwk(other_ec_key, "k2"))
    rotated = [
        authenticator.authenticate(bearer(token(other_ec_key, kid="k2")), policy) for _ in range(5)
    ]
    callers = await asyncio.gather(*rotated)
    assert {c.id for c in callers} == {"analyst-7"}
    assert jwks.fetches == 2


async def test_an_unreachable_jwks_answers_503_and_recovers(
    authenticator: Authenticator, jwks: Jwks, clock: FakeClock, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    jwks.status = 500
    error = await rejected(authenticator, bearer(token(ec_key)), jwt_policy())
    assert error.status == 503
    assert "Retry-After" in error.headers

    jwks.status = 200
    jwks.keys = [public_jwk(ec_key, "k1")]
    clock.now += 6
    caller = await authenticator.authenticate(bearer(token(ec_key)), jwt_policy())
    assert caller.id == "analyst-7"


# --- the jwt: block in policy.yaml -------------------------------------------------------


def test_the_jwt_block_reports_every_problem_with_its_key_path() -> None:
    with pytest.raises(ConfigError) as caught:
        Policy.parse(
            {
                "jwt": {
                    "issuer": "",
                    "audience": AUDIENCE,
                    "keys": ["-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"],
                    "algorithms": ["none", "HS256"],
                    "claims": {"caller": "sub", "role": "roles"},
                }
            }
        )
    paths = [problem.path for problem in caught.value.problems]
    assert paths == [
        "jwt.issuer",
        "jwt.keys[0]",
        "jwt.algorithms",
        "jwt.claims.role",
    ]
    algorithms = next(p for p in caught.value.problems if p.path == "jwt.algorithms")
    assert "'none'" in algorithms.message
    assert "HS256" in algorithms.message


def test_the_jwt_block_needs_exactly_one_key_source(ec_key: ec.EllipticCurvePrivateKey) -> None:
    for keys in ({}, {"jwks_url": JWKS_URL, "keys": [public_jwk(ec_key, "k1")]}):
        with pytest.raises(ConfigError, match="jwt: give exactly one of jwks_url or keys"):
            Policy.parse({"jwt": {"issuer": ISSUER, "audience": AUDIENCE, **keys}})


def test_defaults_allow_rs256_and_es256_with_thirty_seconds_of_leeway() -> None:
    settings = jwt_policy().document.jwt
    assert settings is not None
    assert settings.algorithms == ("RS256", "ES256")
    assert settings.leeway_seconds == 30
    assert (settings.claims.caller, settings.claims.department, settings.claims.roles) == (
        "sub",
        "dept",
        "roles",
    )


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"accept", b"*/*"), (b"x-purpose", b"research")],
        [(b"x-api-key", b"k-1")],
        [(b"x-api-key", b"guess")],
        [(b"x-api-key", b"k-1"), (b"x-api-key", b"k-1")],
        [(b"authorization", b"Basic dXNlcjpwdw==")],
        [(b"authorization", b"Bearer ")],
        [(b"x-api-key", b"k-1"), (b"authorization", b"Bearer x.y.z")],
        [(b"accept", b"*/*"), (b"x-api-key", b" k-1 ")],
    ],
    ids=lambda raw: "+".join(name.decode() for name, _ in raw) or "none",
)
async def test_starlette_headers_and_a_plain_mapping_authenticate_alike(
    authenticator: Authenticator, raw: list[tuple[bytes, bytes]]
) -> None:
    """Headers without a credential header answer ANONYMOUS at once (their raw list is
    checked); a plain mapping, which has no raw list, takes every read. Same outcome."""

    async def outcome(headers: Any) -> Caller | tuple[int, str]:
        try:
            return await authenticator.authenticate(headers, jwt_policy())
        except AuthError as exc:
            return exc.status, exc.message

    plain = {name.decode(): value.decode() for name, value in reversed(raw)}
    found = await outcome(Headers(raw=raw))
    if len({name for name, _ in raw}) == len(raw):  # a mapping cannot repeat a header
        assert found == await outcome(plain)
    assert (found is ANONYMOUS) == (not {b"x-api-key", b"authorization"} & {n for n, _ in raw})
