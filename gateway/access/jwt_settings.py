"""The ``jwt:`` block of the policy file, validated into ``JwtSettings``.

Kept apart from ``gateway.auth`` so that ``gateway.policy`` can validate the block without
importing the authenticator (which itself needs the policy)::

    jwt:
      issuer: https://idp.example.gov/realms/city
      audience: catalogue-gateway
      jwks_url: https://idp.example.gov/realms/city/protocol/openid-connect/certs
      algorithms: [RS256, ES256]      # the default; "none" and HS* are refused
      leeway_seconds: 30
      claims: {caller: sub, department: dept, roles: realm_access.roles}

Static keys (``keys:``, PEM text or JWK mappings) replace ``jwks_url`` on networks
without an identity provider reachable from the gateway. Each key is parsed here, so a
broken key is a configuration problem with its key path, not a failure at the first request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.exceptions import PyJWTError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
ACCEPTED_ALGORITHMS = RSA_ALGORITHMS | frozenset(EC_ALGORITHMS.values()) | {"EdDSA"}

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)


PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key that may verify tokens: its ``kid`` (if any) and the algorithms it fits."""

    key: PublicKey
    algorithms: frozenset[str]
    kid: str | None = None


def key_from_jwk(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """The verification key a JWK describes; ``None`` for keys that cannot verify signatures
    (``use: enc``, symmetric or unsupported types). Raises ``ValueError`` for a broken key."""
    if jwk.get("use") not in (None, "sig") or jwk.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    try:
        parsed = PyJWK(dict(jwk))
    except PyJWTError as exc:
        raise ValueError(f"not a usable JWK: {exc}") from None
    key = parsed.key
    if not isinstance(key, PublicKey):
        # A private JWK also carries the public half; never keep the secret part around.
        if not isinstance(key, PrivateKey):
            return None
        key = key.public_key()
    algorithms = _fitting_algorithms(key)
    declared = jwk.get("alg")
    if declared is not None:
        algorithms &= {declared}
    kid = jwk.get("kid")
    return VerificationKey(key, algorithms, kid if isinstance(kid, str) else None)


def key_from_pem(text: str) -> VerificationKey:
    """A PEM public key (``-----BEGIN PUBLIC KEY-----``). Raises ``ValueError``."""
    try:
        key = load_pem_public_key(text.strip().encode())
    except (ValueError, TypeError):
        raise ValueError(
            "not a PEM public key "
            "(expected -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)"
        ) from None
    if not isinstance(key, PublicKey):
        raise ValueError(f"unsupported key type {type(key).__name__}; use RSA, EC or Ed25519")
    return VerificationKey(key, _fitting_algorithms(key))


def _fitting_algorithms(key: PublicKey) -> frozenset[str]:
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        algorithm = EC_ALGORITHMS.get(_curve_name(key))
        return frozenset({algorithm}) if algorithm else frozenset()
    return frozenset({"EdDSA"})


def _curve_name(key: ec.EllipticCurvePublicKey) -> str:
    return {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}.get(
        key.curve.name, key.curve.name
    )


def _usable_key(entry: str | dict[str, Any]) -> str | dict[str, Any]:
    parsed = key_from_pem(entry) if isinstance(entry, str) else key_from_jwk(entry)
    if parsed is None:
        raise ValueError("not a signature verification key (RSA, EC or OKP with use: sig)")
    return entry


# A PEM public key, or a JWK mapping; each checked on its own so a problem names its index.
KeyEntry = Annotated[str | dict[str, Any], AfterValidator(_usable_key)]


class ClaimsMapping(BaseModel):
    """Which token claims name the caller, their department and their roles.

    A dotted name reaches into nested claims (Keycloak's ``realm_access.roles``); ``null``
    for department or roles means the tokens do not carry it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    caller: str = Field(default="sub", min_length=1)
    department: str | None = Field(default="dept", min_length=1)
    roles: str | None = Field(default="roles", min_length=1)


class JwtSettings(BaseModel):
    """The policy's ``jwt:`` block: who issues tokens, for whom, and how to check them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    audience: str | tuple[str, ...]
    jwks_url: str | None = None
    keys: tuple[KeyEntry, ...] = ()
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    leeway_seconds: float = Field(default=30, ge=0, le=300)
    claims: ClaimsMapping = ClaimsMapping()
    jwks_refetch_seconds: float = Field(
        default=60, ge=1, le=86_400, description="unknown kids refetch the JWKS at most this often"
    )
    jwks_max_age_seconds: float = Field(
        default=3600, ge=60, le=7 * 86_400, description="the JWKS is refreshed after this"
    )

    _static_keys: tuple[VerificationKey, ...] = PrivateAttr(default=())

    @field_validator("audience")
    @classmethod
    def _some_audience(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if not value or (isinstance(value, tuple) and not all(value)):
            raise ValueError("name the audience the gateway's tokens are issued for")
        return value

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one algorithm, e.g. [RS256, ES256]")
        problems = []
        for name in value:
            if name.lower() == "none":
                problems.append("'none' (unsigned tokens) is never accepted")
            elif name.upper().startswith("HS"):
                problems.append(
                    f"{name} needs a shared secret in the policy file; "
                    "use an asymmetric algorithm (RS256, ES256, EdDSA...)"
                )
            elif name not in ACCEPTED_ALGORITHMS:
                accepted = ", ".join(sorted(ACCEPTED_ALGORITHMS))
                problems.append(f"unknown algorithm {name!r}; accepted: {accepted}")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        if (self.jwks_url is None) == (not self.keys):
            raise ValueError("give exactly one of jwks_url or keys")
        return self

    def model_post_init(self, context: Any, /) -> None:
        parsed = (
            key_from_pem(entry) if isinstance(entry, str) else key_from_jwk(entry)
            for entry in self.keys
        )
        self._static_keys = tuple(key for key in parsed if key is not None)

    @property
    def static_keys(self) -> tuple[VerificationKey, ...]:
        """The parsed ``keys:`` (empty when the keys come from ``jwks_url``)."""
        return self._static_keys

    @property
    def audiences(self) -> tuple[str, ...]:
        return (self.audience,) if isinstance(self.audience, str) else self.audience
