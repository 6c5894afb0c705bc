"""Who is asking and what they may see: authentication (API keys, JWT), the policy and its
reload, grants issued by the workflows (``IssuedGrants``, read from the store), rate limits.
The one place where a request's visibility is decided."""

from __future__ import annotations

from gateway.access.auth import Authenticator, AuthError
from gateway.access.fingerprint import GrantFingerprints, grant_fingerprint
from gateway.access.issued import (
    NO_ISSUED_GRANTS,
    AgreementGrant,
    IssuedGrants,
    RequestGrant,
)
from gateway.access.policy import (
    MASKABLE_FIELDS,
    Access,
    Caller,
    Clause,
    GrantInfo,
    GrantSet,
    Policy,
    Privilege,
    hash_api_key,
)
from gateway.access.policy_reload import PolicyHolder
from gateway.access.ratelimit import (
    RateDecision,
    RateLimitConfig,
    RateLimiter,
    RateLimits,
    address_key,
    window_decision,
)
from gateway.access.shared_ratelimit import SharedRateLimiter
from gateway.access.workflow_settings import DemandSettings, WorkflowDeadlines, WorkflowSettings

__all__ = [
    "MASKABLE_FIELDS",
    "NO_ISSUED_GRANTS",
    "Access",
    "AgreementGrant",
    "Clause",
    "GrantInfo",
    "IssuedGrants",
    "RequestGrant",
    "AuthError",
    "Authenticator",
    "Caller",
    "DemandSettings",
    "GrantFingerprints",
    "GrantSet",
    "Policy",
    "PolicyHolder",
    "Privilege",
    "RateDecision",
    "RateLimitConfig",
    "RateLimiter",
    "RateLimits",
    "SharedRateLimiter",
    "WorkflowDeadlines",
    "WorkflowSettings",
    "address_key",
    "grant_fingerprint",
    "hash_api_key",
    "window_decision",
]
