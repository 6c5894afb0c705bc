"""Who is asking and what they may see: authentication (API keys, JWT), the policy and its
reload, rate limits. The one place where a request's visibility is decided."""

from __future__ import annotations

from gateway.access.auth import Authenticator, AuthError
from gateway.access.policy import Access, Caller, GrantSet, Policy, Privilege, hash_api_key
from gateway.access.policy_reload import PolicyHolder
from gateway.access.ratelimit import (
    RateDecision,
    RateLimitConfig,
    RateLimiter,
    address_key,
    window_decision,
)
from gateway.access.workflow_settings import DemandSettings, WorkflowDeadlines, WorkflowSettings

__all__ = [
    "Access",
    "AuthError",
    "Authenticator",
    "Caller",
    "DemandSettings",
    "GrantSet",
    "Policy",
    "PolicyHolder",
    "Privilege",
    "RateDecision",
    "RateLimitConfig",
    "RateLimiter",
    "WorkflowDeadlines",
    "WorkflowSettings",
    "address_key",
    "hash_api_key",
    "window_decision",
]
