"""The sample city catalogue: deterministic, big enough, CKAN-shaped and realistically messy."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from simulators import catalogue
from simulators.catalogue import (
    EXTRA_PLATFORMS,
    REFERENCE_DATE,
    CityCatalogue,
    build_city_catalogue,
)
from simulators.platforms import DEMO_PLATFORMS

PACKAGE_KEYS = {
    "author",
    "author_email",
    "creator_user_id",
    "id",
    "isopen",
    "license_id",
    "license_title",
    "maintainer",
    "maintainer_email",
    "metadata_created",
    "metadata_modified",
    "name",
    "notes",
    "num_resources",
    "num_tags",
    "organization",
    "owner_org",
    "private",
    "state",
    "title",
    "type",
    "url",
    "version",
    "extras",
    "groups",
    "resources",
    "tags",
    "relationships_as_object",
    "relationships_as_subject",
}
RESOURCE_KEYS = {
    "cache_last_updated",
    "cache_url",
    "created",
    "datastore_active",
    "description",
    "format",
    "hash",
    "id",
    "last_modified",
    "metadata_modified",
    "mimetype",
    "mimetype_inner",
    "name",
    "package_id",
    "position",
    "resource_type",
    "size",
    "state",
    "url",
    "url_type",
}
CKAN_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")
ALL_CYCLES = {"实时", "每日", "每周", "每月", "每季度", "每半年", "每年", "不定期"}
# SHA-256 of the three CKAN platforms' packages, organizations and groups (see
# ckan_platforms_digest), taken before the extra platforms were added: they must not move.
CKAN_DIGESTS = {
    2026: "e0f0f684200a9f0f48921c6b40e1f80ec3c586e6295e8a859f083923570da97a",
    7: "39fc79ca23a11839f1c8f63dddf85ad206f17dbbbc5ad43f90000db55442d864",
}
# extra platform -> (its one department, identifier code, themes its records must cover)
EXTRA_DEPARTMENTS = {
    "culture-socrata": ("culture", "WLJ", {"society", "economy"}),
    "water-ods": ("water", "SWJ", {"environment"}),
    "agriculture-dcat": ("agriculture", "NYJ", {"economy", "environment"}),
    "finance-datajson": ("finance", "CZJ", {"economy"}),
    "hr-rest": ("human-resources", "RSJ", {"society"}),
}


@pytest.fixture(scope="module")
def city() -> CityCatalogue:
    return build_city_catalogue()


def all_packages(city: CityCatalogue) -> list[dict[str, Any]]:
    return [p for platform in city.platforms.values() for p in platform.packages]


def extra_packages(city: CityCatalogue) -> list[dict[str, Any]]:
    return [p for platform_id in EXTRA_PLATFORMS for p in city.platforms[platform_id].packages]


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


DIRECTORY_KEYS = frozenset(
    {
        "resource_code",
        "resource_class",
        "format_class",
        "share_method",
        "not_shared_basis",
        "related_resources",
        "grade",
    }
)


def without_directory_fields(value: Any) -> Any:
    """The catalogue as it was before the directory fields (issue 14) were added."""
    if isinstance(value, list):
        return [
            without_directory_fields(v)
            for v in value
            if not (isinstance(v, dict) and v.get("key") in DIRECTORY_KEYS)
        ]
    if isinstance(value, dict):
        return {k: without_directory_fields(v) for k, v in value.items() if k != "code"}
    return value


def ckan_platforms_digest(city: CityCatalogue) -> str:
    """Adding the directory fields shifted no value that was there before: they are left
    out of the digest, everything else must be byte-identical."""
    dump = json.dumps(
        {
            pid: without_directory_fields([p.packages, p.organizations, p.groups])
            for pid, p in city.platforms.items()
            if pid in DEMO_PLATFORMS
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(dump.encode()).hexdigest()


def test_same_seed_gives_identical_catalogue_and_another_seed_differs(city: CityCatalogue):
    fresh = build_city_catalogue.__wrapped__(2026)
    assert fresh is not city
    assert list(fresh.platforms) == list(city.platforms)
    for platform_id, platform in city.platforms.items():
        assert json.dumps(fresh.platforms[platform_id].packages) == json.dumps(platform.packages)
        assert fresh.platforms[platform_id].organizations == platform.organizations
        assert fresh.platforms[platform_id].groups == platform.groups
    other = build_city_catalogue.__wrapped__(7)
    for platform_id in ("transport-platform", "water-ods"):
        assert (
            other.platforms[platform_id].packages[0]["id"]
            != city.platforms[platform_id].packages[0]["id"]
        )


@pytest.mark.parametrize("seed", sorted(CKAN_DIGESTS))
def test_ckan_platforms_are_byte_identical_to_before_the_extra_platforms(seed: int):
    assert ckan_platforms_digest(build_city_catalogue(seed)) == CKAN_DIGESTS[seed]


def test_each_extra_platform_draws_from_its_own_random_stream(
    city: CityCatalogue, monkeypatch: pytest.MonkeyPatch
):
    last = catalogue._EXTRA_PLATFORM_DATA[-1]
    monkeypatch.setattr(catalogue, "_EXTRA_PLATFORM_DATA", [last])
    alone = build_city_catalogue.__wrapped__(2026)
    assert list(alone.platforms) == [*DEMO_PLATFORMS, last[0]]
    assert json.dumps(alone.platforms[last[0]].packages) == json.dumps(
        city.platforms[last[0]].packages
    )
    assert ckan_platforms_digest(alone) == CKAN_DIGESTS[2026]


def test_has_ckan_and_extra_platforms_departments_and_enough_records(city: CityCatalogue):
    assert list(city.platforms) == [*DEMO_PLATFORMS, *EXTRA_PLATFORMS]
    assert EXTRA_PLATFORMS == {
        "culture-socrata": "socrata",
        "water-ods": "opendatasoft",
        "agriculture-dcat": "dcat",
        "finance-datajson": "datajson",
        "hr-rest": "rest",
    }
    assert city.platforms["city-open-portal"].title == "河西市公共数据开放平台"
    assert city.platforms["culture-socrata"].title == "文化旅游开放数据 (Socrata)"
    assert len(city.departments) >= 15
    assert len({d.id for d in city.departments}) == len(city.departments)
    assert len({d.code for d in city.departments}) == len(city.departments)
    assert all(d.name_zh and d.name_en and re.fullmatch(r"[a-z-]+", d.id) for d in city.departments)
    assert city.department("human-resources").name_zh == "人力资源和社会保障局"
    assert len(all_packages(city)) >= 2100
    sizes = {pid: len(p.packages) for pid, p in city.platforms.items()}
    assert sizes["transport-platform"] >= 500 and sizes["livelihood-platform"] >= 500
    assert all(100 <= sizes[pid] <= 130 for pid in EXTRA_PLATFORMS)
    org_names = {o["name"] for p in city.platforms.values() for o in p.organizations}
    assert org_names == {d.id for d in city.departments}


@pytest.mark.parametrize("platform_id", EXTRA_DEPARTMENTS)
def test_extra_platform_publishes_one_department_with_its_own_code_and_themes(
    city: CityCatalogue, platform_id: str
):
    dept_id, code, themes = EXTRA_DEPARTMENTS[platform_id]
    platform = city.platforms[platform_id]
    assert [o["name"] for o in platform.organizations] == [dept_id]
    portal_groups = city.platforms["city-open-portal"].groups
    assert [g["name"] for g in platform.groups] == [g["name"] for g in portal_groups]
    packages = platform.packages
    assert all(p["organization"]["name"] == dept_id for p in packages)
    identifiers = [extras(p)["identifier"] for p in packages]
    assert identifiers == [f"330100/{code}-{n:05d}" for n in range(1, len(packages) + 1)]
    assert themes <= {g["name"] for p in packages for g in p["groups"]}
    assert all(re.search(r"[\u4e00-\u9fff]", p["title"]) for p in packages)
    assert all(extras(p)["title_en"].isascii() for p in packages)
    assert sum("公交" in p["title"] for p in packages) >= 5


@pytest.mark.parametrize("platform_id", EXTRA_DEPARTMENTS)
def test_extra_platform_spreads_sharing_open_and_sensitivity_classes(
    city: CityCatalogue, platform_id: str
):
    packages = city.platforms[platform_id].packages
    values = {
        key: Counter(extras(p).get(key) for p in packages)
        for key in ("share_type", "open_type", "sensitivity", "update_cycle")
    }
    assert {"无条件共享", "有条件共享", "不予共享"} <= set(values["share_type"])
    assert {"无条件开放", "有条件开放", "不予开放"} <= set(values["open_type"])
    assert {"L1", "L2", "L3", "L4"} <= set(values["sensitivity"])
    assert len(values["update_cycle"]) >= 6
    assert None in values["share_type"]  # some records state no class at all
    assert len({r["format"] for p in packages for r in p["resources"]}) >= 6


def test_extra_platforms_are_as_messy_as_the_ckan_ones(city: CityCatalogue):
    packages = extra_packages(city)
    assert {extras(p)["update_cycle"] for p in packages} == ALL_CYCLES
    assert 0.02 < sum("share_type" not in extras(p) for p in packages) / len(packages) < 0.08
    assert {"unconditional", "conditional"} <= {extras(p).get("share_type") for p in packages}
    assert {"一级", "二级", "三级"} <= {extras(p).get("sensitivity") for p in packages}
    assert any(p["notes"] is None for p in packages)
    assert any(p["notes"] and "<p>" in p["notes"] for p in packages)
    formats = {r["format"] for p in packages for r in p["resources"]}
    assert {"CSV", "JSON", "XLSX", "XLS", "API", "SHP", "GeoJSON", "PDF", ""} <= formats


def test_every_record_is_shaped_like_ckan_package_show(city: CityCatalogue):
    for platform in city.platforms.values():
        names = [p["name"] for p in platform.packages]
        assert len(names) == len(set(names)), platform.id
        for package in platform.packages:
            assert package.keys() >= PACKAGE_KEYS
            uuid.UUID(package["id"])
            assert CKAN_TIMESTAMP.fullmatch(package["metadata_modified"])
            assert package["metadata_created"] <= package["metadata_modified"]
            assert package["num_resources"] == len(package["resources"])
            assert package["num_tags"] == len(package["tags"])
            if package["organization"] is not None:
                assert package["owner_org"] == package["organization"]["id"]
                assert package["organization"]["is_organization"] is True
            for position, resource in enumerate(package["resources"]):
                assert set(resource) == RESOURCE_KEYS
                assert resource["package_id"] == package["id"]
                assert resource["position"] == position
                assert resource["url"].startswith("{base}/")
            keys = [e["key"] for e in package["extras"]]
            assert len(keys) == len(set(keys))
            fields = json.loads(extras(package)["fields"])
            assert fields and all(set(f) == {"name", "type", "description"} for f in fields)
            assert extras(package)["title_en"]


def test_dates_spread_over_years_and_never_pass_the_reference_date(city: CityCatalogue):
    limit = REFERENCE_DATE.replace(tzinfo=None).isoformat()
    modified = [p["metadata_modified"] for p in all_packages(city)]
    assert max(modified) <= limit
    assert {m[:4] for m in modified} >= {str(y) for y in range(2019, 2027)}


def test_identifiers_unique_per_platform_and_shared_by_city_portal_copies(city: CityCatalogue):
    by_platform = {
        pid: Counter(extras(p)["identifier"] for p in platform.packages)
        for pid, platform in city.platforms.items()
    }
    assert all(max(c.values()) == 1 for c in by_platform.values())
    portal = set(by_platform["city-open-portal"])
    departments = set(by_platform["transport-platform"]) | set(by_platform["livelihood-platform"])
    shared = portal & departments
    assert 100 <= len(shared) <= 200
    originals = {
        extras(p)["identifier"]: p
        for pid, platform in city.platforms.items()
        if pid != "city-open-portal"
        for p in platform.packages
    }
    copies = [
        p for p in city.platforms["city-open-portal"].packages if extras(p)["identifier"] in shared
    ]
    assert all(
        extras(originals[extras(c)["identifier"]])["open_type"] == "无条件开放" for c in copies
    )
    stale = [
        c
        for c in copies
        if c["metadata_modified"] < originals[extras(c)["identifier"]]["metadata_modified"]
    ]
    same_title = [c for c in copies if c["title"] == originals[extras(c)["identifier"]]["title"]]
    assert 10 <= len(stale) < len(copies)
    assert len(same_title) > len(copies) / 2


def test_bus_searches_hit_dozens_of_datasets_across_platforms_and_departments(
    city: CityCatalogue,
):
    hits = {
        pid: sum("公交" in p["title"] for p in platform.packages)
        for pid, platform in city.platforms.items()
    }
    assert hits["transport-platform"] >= 24 and hits["city-open-portal"] >= 10
    assert all(hits[pid] >= 5 for pid in EXTRA_PLATFORMS)
    departments = {
        p["organization"]["name"]
        for p in all_packages(city)
        if "公交" in p["title"] and p["organization"] is not None
    }
    assert len(departments) >= 9
    english = sum("bus" in extras(p)["title_en"].lower() for p in all_packages(city))
    assert english >= 80


def test_classes_and_messiness_are_realistically_spread(city: CityCatalogue):
    packages = all_packages(city)
    values = {
        key: Counter(extras(p).get(key) for p in packages)
        for key in ("share_type", "open_type", "sensitivity", "update_cycle")
    }
    assert {"无条件共享", "有条件共享", "不予共享", "unconditional"} <= set(values["share_type"])
    assert {"无条件开放", "有条件开放", "不予开放"} <= set(values["open_type"])
    assert {"L1", "L2", "L3", "L4", "二级"} <= set(values["sensitivity"])
    assert set(values["update_cycle"]) == ALL_CYCLES
    missing = values["share_type"][None] / len(packages)
    assert 0.02 < missing < 0.08
    conditional = [p for p in packages if extras(p).get("share_type") == "有条件共享"]
    assert all(extras(p)["share_condition"] for p in conditional)

    orgless = [
        pid
        for pid, platform in city.platforms.items()
        for p in platform.packages
        if p["organization"] is None
    ]
    assert orgless and set(orgless) == {"city-open-portal"} and len(orgless) < 20
    assert any(p["notes"] is None for p in packages)
    assert any(p["notes"] and "<p>" in p["notes"] for p in packages)
    assert any("\n\nEnglish: " in (p["notes"] or "") for p in packages)
    formats = Counter(r["format"] for p in packages for r in p["resources"])
    assert {"CSV", "JSON", "XLSX", "XLS", "API", "SHP", "GeoJSON", "PDF", ""} <= set(formats)
    tags = {t["name"] for p in packages for t in p["tags"]}
    assert "公交" in tags and "bus" in tags
    groups = {g["name"] for p in packages for g in p["groups"]}
    assert groups == {
        "transport",
        "health",
        "environment",
        "economy",
        "education",
        "society",
        "urban-planning",
        "public-safety",
    }


@pytest.mark.parametrize("scope", ["all", "extra"])
def test_some_datasets_are_overdue_for_their_update_cycle(city: CityCatalogue, scope: str):
    reference = REFERENCE_DATE.replace(tzinfo=None)
    packages = all_packages(city) if scope == "all" else extra_packages(city)
    monthly = [p for p in packages if extras(p)["update_cycle"] == "每月"]
    ages = [(reference - datetime.fromisoformat(p["metadata_modified"])).days for p in monthly]
    assert sum(age > 62 for age in ages) > len(ages) / 10
    assert sum(age <= 31 for age in ages) > len(ages) / 10
    assert REFERENCE_DATE.tzinfo is UTC
