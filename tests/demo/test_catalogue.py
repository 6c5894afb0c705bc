"""The sample city catalogue: deterministic, big enough, CKAN-shaped and realistically messy."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.demo.catalogue import REFERENCE_DATE, CityCatalogue, build_city_catalogue

PACKAGE_KEYS = {
    "author", "author_email", "creator_user_id", "id", "isopen", "license_id", "license_title",
    "maintainer", "maintainer_email", "metadata_created", "metadata_modified", "name", "notes",
    "num_resources", "num_tags", "organization", "owner_org", "private", "state", "title",
    "type", "url", "version", "extras", "groups", "resources", "tags",
    "relationships_as_object", "relationships_as_subject",
}
RESOURCE_KEYS = {
    "cache_last_updated", "cache_url", "created", "datastore_active", "description", "format",
    "hash", "id", "last_modified", "metadata_modified", "mimetype", "mimetype_inner", "name",
    "package_id", "position", "resource_type", "size", "state", "url", "url_type",
}
CKAN_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


@pytest.fixture(scope="module")
def city() -> CityCatalogue:
    return build_city_catalogue()


def all_packages(city: CityCatalogue) -> list[dict[str, Any]]:
    return [p for platform in city.platforms.values() for p in platform.packages]


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def test_same_seed_gives_identical_catalogue_and_another_seed_differs(city: CityCatalogue):
    fresh = build_city_catalogue.__wrapped__(2026)
    assert fresh is not city
    for platform_id, platform in city.platforms.items():
        assert json.dumps(fresh.platforms[platform_id].packages) == json.dumps(platform.packages)
        assert fresh.platforms[platform_id].organizations == platform.organizations
    other = build_city_catalogue.__wrapped__(7)
    assert other.platforms["transport-platform"].packages[0]["id"] != (
        city.platforms["transport-platform"].packages[0]["id"])


def test_generation_is_fast():
    started = time.perf_counter()
    build_city_catalogue.__wrapped__(99)
    assert time.perf_counter() - started < 1.0


def test_has_three_platforms_departments_and_enough_records(city: CityCatalogue):
    assert set(city.platforms) == {"transport-platform", "livelihood-platform",
                                   "city-open-portal"}
    assert city.platforms["city-open-portal"].title == "河西市公共数据开放平台"
    assert len(city.departments) >= 9
    assert all(d.name_zh and d.name_en and re.fullmatch(r"[a-z-]+", d.id)
               for d in city.departments)
    assert len(all_packages(city)) >= 1500
    sizes = {pid: len(p.packages) for pid, p in city.platforms.items()}
    assert sizes["transport-platform"] >= 500 and sizes["livelihood-platform"] >= 500


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


def test_identifiers_unique_per_platform_and_shared_by_city_portal_copies(
        city: CityCatalogue):
    by_platform = {pid: Counter(extras(p)["identifier"] for p in platform.packages)
                   for pid, platform in city.platforms.items()}
    assert all(max(c.values()) == 1 for c in by_platform.values())
    portal = set(by_platform["city-open-portal"])
    departments = set(by_platform["transport-platform"]) | set(by_platform["livelihood-platform"])
    shared = portal & departments
    assert 100 <= len(shared) <= 200
    originals = {extras(p)["identifier"]: p for pid, platform in city.platforms.items()
                 if pid != "city-open-portal" for p in platform.packages}
    copies = [p for p in city.platforms["city-open-portal"].packages
              if extras(p)["identifier"] in shared]
    assert all(extras(originals[extras(c)["identifier"]])["open_type"] == "无条件开放"
               for c in copies)
    stale = [c for c in copies if c["metadata_modified"]
             < originals[extras(c)["identifier"]]["metadata_modified"]]
    same_title = [c for c in copies if c["title"] == originals[extras(c)["identifier"]]["title"]]
    assert 10 <= len(stale) < len(copies)
    assert len(same_title) > len(copies) / 2


def test_bus_searches_hit_dozens_of_datasets_on_two_platforms(city: CityCatalogue):
    hits = {pid: sum("公交" in p["title"] for p in platform.packages)
            for pid, platform in city.platforms.items()}
    assert hits["transport-platform"] >= 24 and hits["city-open-portal"] >= 10
    english = sum("bus" in extras(p)["title_en"].lower() for p in all_packages(city))
    assert english >= 30


def test_classes_and_messiness_are_realistically_spread(city: CityCatalogue):
    packages = all_packages(city)
    values = {key: Counter(extras(p).get(key) for p in packages)
              for key in ("share_type", "open_type", "sensitivity", "update_cycle")}
    assert {"无条件共享", "有条件共享", "不予共享", "unconditional"} <= set(values["share_type"])
    assert {"无条件开放", "有条件开放", "不予开放"} <= set(values["open_type"])
    assert {"L1", "L2", "L3", "L4", "二级"} <= set(values["sensitivity"])
    assert set(values["update_cycle"]) == {"实时", "每日", "每周", "每月", "每季度", "每半年",
                                           "每年", "不定期"}
    missing = values["share_type"][None] / len(packages)
    assert 0.02 < missing < 0.08
    conditional = [p for p in packages if extras(p).get("share_type") == "有条件共享"]
    assert all(extras(p)["share_condition"] for p in conditional)

    orgless = [pid for pid, platform in city.platforms.items()
               for p in platform.packages if p["organization"] is None]
    assert orgless and set(orgless) == {"city-open-portal"} and len(orgless) < 20
    assert any(p["notes"] is None for p in packages)
    assert any(p["notes"] and "<p>" in p["notes"] for p in packages)
    assert any("\n\nEnglish: " in (p["notes"] or "") for p in packages)
    formats = Counter(r["format"] for p in packages for r in p["resources"])
    assert {"CSV", "JSON", "XLSX", "XLS", "API", "SHP", "GeoJSON", "PDF", ""} <= set(formats)
    tags = {t["name"] for p in packages for t in p["tags"]}
    assert "公交" in tags and "bus" in tags
    groups = {g["name"] for p in packages for g in p["groups"]}
    assert groups == {"transport", "health", "environment", "economy", "education", "society",
                      "urban-planning", "public-safety"}


def test_some_datasets_are_overdue_for_their_update_cycle(city: CityCatalogue):
    reference = REFERENCE_DATE.replace(tzinfo=None)
    monthly = [p for p in all_packages(city) if extras(p)["update_cycle"] == "每月"]
    ages = [(reference - datetime.fromisoformat(p["metadata_modified"])).days for p in monthly]
    assert sum(age > 62 for age in ages) > len(ages) / 10
    assert sum(age <= 31 for age in ages) > len(ages) / 10
    assert REFERENCE_DATE.tzinfo is UTC
