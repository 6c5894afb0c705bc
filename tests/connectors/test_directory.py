"""The national directory fields: key names, scheming fields, grades (connectors._directory)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import respx

from connectors._directory import DirectoryKeys, directory_fields, parse_interval, text_list
from connectors.ckan import CkanConnector
from connectors.sdk import SearchQuery
from schema.model import Grade
from tests.connectors.test_ckan import API, load, make_settings


def test_strictest_grade_stated_under_any_key_wins() -> None:
    record = {"grade": "GENERAL", "数据分级": "重要数据"}
    assert directory_fields(record.get, DirectoryKeys())["grade"] is Grade.IMPORTANT
    record = {"grade": "核心数据", "数据分级": "IMPORTANT"}
    assert directory_fields(record.get, DirectoryKeys())["grade"] is Grade.CORE
    assert directory_fields({"grade": "secret-ish"}.get, DirectoryKeys())["grade"] is None


def test_first_key_with_a_value_wins_and_chinese_keys_are_read() -> None:
    record = {"共享方式": "接口", "信息资源分类": "基础信息资源", "resource_class": "  "}
    fields = directory_fields(record.get, DirectoryKeys())
    assert fields["share_method"] == "接口"
    assert fields["resource_class"] == "基础信息资源"  # blank English key: next name
    assert fields["resource_code"] is None


def test_related_resources_from_lists_json_and_separated_text() -> None:
    assert text_list(["a", " b ", "a", None]) == ("a", "b")
    assert text_list('["x/1", "x/2"]') == ("x/1", "x/2")
    assert text_list("x/1，x/2; x/3") == ("x/1", "x/2", "x/3")
    assert text_list(42) == ()


def test_interval_parses_both_ends_or_none() -> None:
    start, end = parse_interval("2024-01-01/2024-12-31")
    assert start is not None and end is not None and (start.year, end.month) == (2024, 12)
    assert parse_interval("2024") == (None, None)


def package(**changes: Any) -> dict[str, Any]:
    pkg: dict[str, Any] = copy.deepcopy(load("package_search.json")["result"]["results"][0])
    pkg.update(changes)
    return pkg


async def search_one(router: respx.MockRouter, client: httpx.AsyncClient, pkg: Any) -> Any:
    body = load("package_search.json")
    body["result"]["results"], body["result"]["count"] = [pkg], 1
    router.get(f"{API}/package_search").mock(return_value=httpx.Response(200, json=body))
    page = await CkanConnector(make_settings(), client).search(SearchQuery())
    return page.datasets[0]


async def test_ckan_reads_directory_extras_with_chinese_keys(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    extras = [
        {"key": "信息资源代码", "value": "330100/JTJ-00042"},
        {"key": "数据分级", "value": "重要数据"},
        {"key": "不予共享依据", "value": "《数据安全法》第二十一条"},
        {"key": "关联资源", "value": '["330100/JTJ-00041"]'},
        {"key": "temporal", "value": "2023-01-01/2023-12-31"},
    ]
    dataset = await search_one(router, client, package(extras=extras))
    assert dataset.resource_code == "330100/JTJ-00042"
    assert dataset.grade is Grade.IMPORTANT
    assert dataset.not_shared_basis == "《数据安全法》第二十一条"
    assert dataset.related_resources == ("330100/JTJ-00041",)
    assert dataset.temporal is not None and dataset.temporal.start is not None
    assert dataset.temporal.start.year == 2023


async def test_ckan_reads_scheming_fields_at_the_package_top_level(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    pkg = package(format_class="数据库", share_method="库表交换", grade="CORE")
    pkg["organization"] = {**pkg["organization"], "code": "11330100MB0000001X"}
    dataset = await search_one(router, client, pkg)
    assert (dataset.format_class, dataset.share_method) == ("数据库", "库表交换")
    assert dataset.grade is Grade.CORE
    assert dataset.department is not None and dataset.department.code == "11330100MB0000001X"
