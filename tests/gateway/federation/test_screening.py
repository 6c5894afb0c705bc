"""What a source may say (issue 10, "also found"): a source bounded to its departments
cannot publish a record "of" another; links that are not http(s), or that point at
link-local or metadata addresses, never reach a caller. Both are reported in the log."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.sdk import SourceSettings
from gateway.access.policy import ANONYMOUS, Caller, Policy, Privilege
from gateway.federation.cursor import CursorCodec
from gateway.federation.screening import _clean_links, safe_link
from gateway.federation.search import FederatedSearch, SearchRequest
from schema.model import Department, Distribution, OpenType, Sensitivity, ShareType
from tests.gateway.conftest import BASE, make_dataset
from tests.gateway.memory_connector import MemoryConnector
from tests.gateway.policy_strategies import properties

HR = Department("hr", "Human Resources")
HEALTH = Department("health", "Health")
HEALTH_STAFF = Caller(id="nurse", department="health", roles=("staff",))


def engine(client: httpx.AsyncClient, rows: list[Any], **settings: Any) -> FederatedSearch:
    source = SourceSettings(id="hr-rest", url="http://127.0.0.1:9", **settings)
    return FederatedSearch([MemoryConnector(source, client, rows)], CursorCodec(b"k" * 32))


async def test_a_source_cannot_speak_for_a_department_outside_its_bound(
    http_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = make_dataset(
        "hr-rest",
        1,
        department=HEALTH,
        share_type=ShareType.NOT_SHARED,
        sensitivity=Sensitivity.L4,
        open_type=OpenType.NOT_OPEN,
    )
    own = make_dataset("hr-rest", 2, department=HR)
    grants = Policy.default().grant_set(HEALTH_STAFF, None, BASE)
    assert grants.access(forged) is not None  # own department: it would be shown, with `use`
    assert grants.access(forged).privilege is Privilege.USE  # type: ignore[union-attr]

    bounded = engine(http_client, [forged, own], speaks_for=("hr",))
    result = await bounded.search(SearchRequest(), grants)
    assert [e.dataset.local_id for e in result.edges] == ["hr-rest-2"]
    assert result.total_count == 1
    found, _ = await bounded.get("hr-rest", "hr-rest-1")
    assert found is None  # by id too: as if the platform had no such record
    assert "hr-rest-1 (health)" in caplog.text and "does not speak for" in caplog.text

    unbounded = engine(http_client, [forged, own])  # no speaks_for: any department
    result = await unbounded.search(SearchRequest(), grants)
    assert [e.dataset.local_id for e in result.edges] == ["hr-rest-1", "hr-rest-2"]


BAD_LINKS = [
    "javascript:alert(document.cookie)",
    "file:///etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fe80::1]/x",
    "http://[::ffff:169.254.169.254]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "ftp://data.example.gov.cn/x.csv",
    "//no-scheme.example/x",
]


async def test_links_that_are_not_http_or_point_at_metadata_are_dropped_and_reported(
    http_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    good = "https://data.example.gov.cn/files/x.csv"
    distributions = tuple(
        Distribution(title=f"d{i}", format="CSV", access_url=bad, download_url=good)
        for i, bad in enumerate(BAD_LINKS)
    )
    dataset = make_dataset(
        "hr-rest", 1, landing_page="javascript:void(0)", distributions=distributions
    )
    found = engine(http_client, [dataset])
    grants = Policy.default().grant_set(ANONYMOUS, None, BASE)
    [edge] = (await found.search(SearchRequest(), grants)).edges
    served = edge.dataset
    assert served.landing_page is None
    assert [d.access_url for d in served.distributions] == [None] * len(BAD_LINKS)
    assert {d.download_url for d in served.distributions} == {good}  # the good ones stay
    by_id, _ = await found.get("hr-rest", "hr-rest-1")
    assert by_id is not None and by_id.landing_page is None
    assert "javascript:alert" in caplog.text and caplog.records[-1].levelno == logging.WARNING


@pytest.mark.parametrize(
    "url",
    [
        "https://data.example.gov.cn/x.csv",
        "http://127.0.0.1:9101/dataset/x/resource.csv",  # an intranet or demo platform
        "http://10.1.2.3/x",
        None,
    ],
)
def test_ordinary_links_are_kept(url: str | None) -> None:
    assert safe_link(url)


@pytest.mark.parametrize("url", BAD_LINKS)
def test_each_bad_link_is_refused(url: str) -> None:
    assert not safe_link(url)


_LINKS = st.sampled_from(
    [None, "https://data.example.gov.cn/x.csv", "http://10.1.2.3/x", *BAD_LINKS]
)


@properties(80)
@given(
    landing=_LINKS,
    links=st.lists(st.tuples(_LINKS, _LINKS), max_size=3),
)
def test_a_record_whose_links_are_all_safe_is_served_as_it_is_else_without_each_bad_one(
    landing: str | None, links: list[tuple[str | None, str | None]]
) -> None:
    dataset = make_dataset(
        "s",
        0,
        landing_page=landing,
        distributions=tuple(Distribution(access_url=a, download_url=d) for a, d in links),
    )
    cleaned, dropped = _clean_links(dataset)
    every = [landing, *(url for pair in links for url in pair)]
    assert dropped == [url for url in every if not safe_link(url)]
    if not dropped:
        assert cleaned is dataset
    kept = [cleaned.landing_page]
    kept += [url for d in cleaned.distributions for url in (d.access_url, d.download_url)]
    assert kept == [url if safe_link(url) else None for url in every]
