"""The ``quality:`` block of the gateway config (validated once, frozen)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LinkCheckSettings(BaseModel):
    """How the background link checker behaves (``quality.links``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(8, ge=1, le=256)
    per_host_interval_seconds: float = Field(1.0, ge=0, le=3600)
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Private, loopback and link-local addresses are refused unless allowed (the checker
    # must not become a way to probe the gateway's own network).
    allow_private_addresses: bool = False
    max_links_per_sweep: int = Field(20_000, ge=0)


class QualitySettings(BaseModel):
    """``quality:`` in gateway.yaml.

    >>> QualitySettings(grace_fraction=0.2, sweep_interval_seconds=1800)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_fraction: float = Field(0.1, ge=0, le=10)
    sweep_interval_seconds: float = Field(3600, gt=0)
    first_sweep_delay_seconds: float = Field(10, ge=0)
    # Upstream requests per second the sweep makes to one source, at most.
    sweep_requests_per_second: float = Field(2.0, gt=0, le=1000)
    sweep_page_size: int = Field(100, ge=1, le=1000)
    # 0 turns the background sweep off (``catalogue-gateway quality sweep`` still works).
    sweep_enabled: bool = True
    links: LinkCheckSettings = Field(default_factory=LinkCheckSettings)
