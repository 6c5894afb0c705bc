"""The simulated CKAN platform over real HTTP on loopback: envelopes, paging, filters,
sorting, facets, error shapes, fault modes and request statistics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.catalogue import PlatformCatalogue, build_city_catalogue
from simulators.ckan_sim import Fault
from simulators.platforms import (
    PlatformServer,
    PlatformSpec,
    PlatformThread,
    demo_specs,
    running_platforms,
)

pytestmark = pytest.mark.integration

TRANSPORT = "transport-platform"
PORTAL = "city-open-portal"
ALL = "everything"


def everything() -> PlatformCatalogue:
    """All 1,600 records on one platform, to exceed CKAN's 1,000-row cap."""
    city = build_city_catalogue()
    packages = [p for platform in city.platforms.values() for p in platform.packages]
    orgs = [o for platform in city.platforms.values() for o in platform.organizations]
    return PlatformCatalogue(
        id=ALL,
        title="全部",
        title_en="All",
        packages=packages,
        organizations=orgs,
        groups=city.platforms[PORTAL].groups,
    )


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, PlatformServer]]:
    with PlatformThread(
        [*(s for s in demo_specs() if s.kind == "ckan"), PlatformSpec(ALL, everything())]
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def healthy(servers: dict[str, PlatformServer]) -> Iterator[None]:
    yield
    for server in servers.values():
        server.fault.reset()
        server.stats.reset()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def action(
    client: httpx.Client, server: PlatformServer, name: str, **params: Any
) -> httpx.Response:
    return client.get(f"{server.url}/api/3/action/{name}", params=params)


def search(client: httpx.Client, server: PlatformServer, **params: Any) -> dict[str, Any]:
    response = action(client, server, "package_search", **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body["result"]


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def test_package_search_answers_with_ckan_envelope(client, servers):
    server = servers[TRANSPORT]
    response = action(client, server, "package_search", q="公交", rows=3)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["help"] == f"{server.url}/api/3/action/help_show?name=package_search"
    assert body["success"] is True
    result = body["result"]
    assert set(result) == {"count", "facets", "results", "sort", "search_facets"}
    assert result["sort"] == "score desc, metadata_modified desc"
    assert result["facets"] == {} and result["search_facets"] == {}
    assert len(result["results"]) == 3 and result["count"] > 3
    package = result["results"][0]
    assert "公交" in package["title"]
    assert package["resources"][0]["url"].startswith(server.url + "/")
    assert "{base}" not in response.text


@pytest.mark.parametrize(
    "sort",
    ["score desc, metadata_modified desc", "metadata_modified asc", "title_string asc", "name asc"],
)
def test_paging_with_start_and_rows_returns_every_record_exactly_once(client, servers, sort):
    server = servers[PORTAL]
    seen: list[str] = []
    start = 0
    while True:
        page = search(client, server, rows=97, start=start, sort=sort)["results"]
        if not page:
            break
        seen += [p["id"] for p in page]
        start += 97
    assert len(seen) == len(set(seen)) == len(server.spec.catalogue.packages)


def test_free_text_paging_is_stable_under_ties(client, servers):
    server = servers[TRANSPORT]
    full = [p["id"] for p in search(client, server, q="公交", rows=1000)["results"]]
    paged = [
        p["id"]
        for start in range(0, len(full), 7)
        for p in search(client, server, q="公交", rows=7, start=start)["results"]
    ]
    assert paged == full


def test_rows_are_capped_at_1000_silently(client, servers):
    result = search(client, servers[ALL], rows=5000)
    assert result["count"] >= 1500
    assert len(result["results"]) == 1000
    assert search(client, servers[ALL], rows=0)["results"] == []


def test_free_text_search_requires_every_term_and_ranks_title_hits_first(client, servers):
    transport, portal = servers[TRANSPORT], servers[PORTAL]
    bus = search(client, transport, q="公交", rows=1000)
    assert bus["count"] >= 24
    assert search(client, portal, q="公交")["count"] >= 10
    assert "公交" in bus["results"][0]["title"]
    both = search(client, transport, q="公交 东城区", rows=1000)
    assert 0 < both["count"] < bus["count"]
    assert all("东城区" in json.dumps(p, ensure_ascii=False) for p in both["results"])
    english = search(client, transport, q="BUS routes", rows=1000)
    assert english["count"] > 0
    assert all("bus routes" in extras(p)["title_en"].lower() for p in english["results"])
    assert search(client, transport, q="*:*")["count"] == len(transport.spec.catalogue.packages)
    assert search(client, transport, q="不存在的关键词")["count"] == 0


def test_fielded_q_is_parsed_like_lucene(client, servers):
    result = search(client, servers[TRANSPORT], q="tags:公交 AND organization:transport")
    assert result["count"] > 0


def test_fq_filters_match_a_local_evaluation(client, servers):
    server = servers[PORTAL]
    packages = server.spec.catalogue.packages
    fq = (
        "organization:environment AND res_format:(CSV OR JSON) AND "
        '(extras_share_type:("无条件共享" OR unconditional) '
        "OR (*:* -extras_share_type:[* TO *]))"
    )
    result = search(client, server, fq=fq, rows=1000)
    expected = {
        p["id"]
        for p in packages
        if (p["organization"] or {}).get("name") == "environment"
        and {"CSV", "JSON"} & {r["format"] for r in p["resources"]}
        and extras(p).get("share_type", "无条件共享") in ("无条件共享", "unconditional")
    }
    assert expected and {p["id"] for p in result["results"]} == expected
    assert result["count"] == len(expected)


def test_fq_date_range_and_post_json_body(client, servers):
    server = servers[TRANSPORT]
    body = {
        "fq": "metadata_modified:[2026-01-01T00:00:00Z TO *]",
        "rows": 1000,
        "sort": "metadata_modified asc",
    }
    response = client.post(f"{server.url}/api/3/action/package_search", json=body)
    results = response.json()["result"]["results"]
    expected = [
        p for p in server.spec.catalogue.packages if p["metadata_modified"] >= "2026-01-01T00:00:00"
    ]
    assert len(results) == len(expected) > 0
    assert results[0]["metadata_modified"] == min(p["metadata_modified"] for p in expected)


@pytest.mark.parametrize(
    ("sort", "key", "descending"),
    [
        ("metadata_modified desc", "metadata_modified", True),
        ("metadata_modified asc", "metadata_modified", False),
        ("title_string asc", "title", False),
        ("title_string desc", "title", True),
        ("name asc", "name", False),
    ],
)
def test_sort_orders(client, servers, sort, key, descending):
    result = search(client, servers[TRANSPORT], rows=1000, sort=sort)
    values = [p[key] for p in result["results"]]
    assert values == sorted(values, reverse=descending)
    assert result["sort"] == sort


def test_facets_count_matches_and_honour_limit(client, servers):
    server = servers[PORTAL]
    fields = ["organization", "groups", "res_format", "tags", "extras_share_type"]
    result = search(client, server, rows=0, **{"facet.field": json.dumps(fields)})
    facets = result["facets"]
    assert set(facets) == set(fields) == set(result["search_facets"])
    packages = server.spec.catalogue.packages
    assert facets["organization"]["environment"] == sum(
        (p["organization"] or {}).get("name") == "environment" for p in packages
    )
    assert facets["res_format"]["CSV"] == sum(
        any(r["format"] == "CSV" for r in p["resources"]) for p in packages
    )
    counts = list(facets["tags"].values())
    assert counts == sorted(counts, reverse=True) and len(counts) == 50
    items = result["search_facets"]["organization"]["items"]
    assert {
        "name": "environment",
        "display_name": "生态环境局",
        "count": facets["organization"]["environment"],
    } in items
    limited = search(client, server, rows=0, **{"facet.field": '["tags"]', "facet.limit": 3})
    assert len(limited["facets"]["tags"]) == 3
    unlimited = search(client, server, rows=0, **{"facet.field": '["tags"]', "facet.limit": -1})
    assert len(unlimited["facets"]["tags"]) > 50


def test_package_show_by_id_or_name_and_404_shape(client, servers):
    server = servers[TRANSPORT]
    package = server.spec.catalogue.packages[5]
    for key in (package["id"], package["name"]):
        body = action(client, server, "package_show", id=key).json()
        assert body["success"] is True and body["result"]["id"] == package["id"]
        assert body["result"]["resources"][0]["url"].startswith(server.url)
    missing = action(client, server, "package_show", id="no-such-dataset")
    assert missing.status_code == 404
    assert missing.json() == {
        "help": f"{server.url}/api/3/action/help_show?name=package_show",
        "success": False,
        "error": {"message": "Not found", "__type": "Not Found Error"},
    }


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"rows": "abc"}, {"rows": ["Invalid integer"]}),
        ({"start": "-1"}, {"start": ["Must be a natural number"]}),
        ({"rows": "x", "start": "y"}, {"rows": ["Invalid integer"], "start": ["Invalid integer"]}),
        ({"facet.field": "[organization"}, {"facet.field": ["Could not parse as valid JSON"]}),
    ],
)
def test_invalid_parameters_give_409_validation_error(client, servers, params, errors):
    response = action(client, servers[TRANSPORT], "package_search", **params)
    assert response.status_code == 409
    body = response.json()
    assert body["success"] is False
    assert body["error"] == {"__type": "Validation Error", **errors}


@pytest.mark.parametrize(
    "params",
    [
        {"fq": "organization:(transport"},
        {"fq": "no_such_field:x"},
        {"sort": "popularity desc"},
        {"sort": "name sideways"},
        {"facet.field": '["no_such_field"]'},
    ],
)
def test_invalid_queries_give_409_search_query_error(client, servers, params):
    response = action(client, servers[TRANSPORT], "package_search", **params)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["__type"] == "Search Query Error"
    assert error["message"].startswith("Search Query is invalid: ")


def test_unknown_action_is_a_bad_request(client, servers):
    response = action(client, servers[TRANSPORT], "package_frobnicate")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "message": "Bad request - Action name not known: package_frobnicate",
        "__type": "Bad Request",
    }


def test_organization_and_group_lists(client, servers):
    server = servers[PORTAL]
    names = action(client, server, "organization_list").json()["result"]
    assert set(names) >= {"environment", "market", "statistics", "transport"}
    orgs = action(client, server, "organization_list", all_fields="true", limit=100).json()
    assert len(orgs["result"]) == len(names)
    env = next(o for o in orgs["result"] if o["name"] == "environment")
    assert env["title"] == env["display_name"] == "生态环境局"
    assert env["package_count"] == search(client, server, fq="organization:environment")["count"]
    page = action(client, server, "organization_list", sort="name asc", limit=2, offset=1)
    assert page.json()["result"] == sorted(names)[1:3]
    groups = action(client, server, "group_list", all_fields=True).json()["result"]
    assert {g["name"] for g in groups} >= {"transport", "environment"}
    assert all(g["is_organization"] is False for g in groups)
    shown = action(client, server, "organization_show", id="market").json()["result"]
    assert shown["name"] == "market"


def test_organization_list_with_all_fields_is_capped_at_25(client, servers):
    many = [{"id": f"org-{n}", "name": f"org-{n:02d}", "title": f"机构{n}"} for n in range(40)]
    platform = PlatformCatalogue(
        id="orgs", title="t", title_en="t", packages=[], organizations=many, groups=[]
    )
    with PlatformThread([PlatformSpec("orgs", platform)]) as running:
        server = running["orgs"]
        full = action(client, server, "organization_list", all_fields=True, limit=1000)
        assert len(full.json()["result"]) == 25
        assert len(action(client, server, "organization_list").json()["result"]) == 40


def test_status_show_reports_ckan_version_and_site(client, servers):
    server = servers[PORTAL]
    result = action(client, server, "status_show").json()["result"]
    assert result["ckan_version"] == "2.10.4"
    assert result["site_title"] == "河西市公共数据开放平台"
    assert result["site_url"] == server.url


def test_hang_mode_never_answers(client, servers):
    server = servers[TRANSPORT]
    server.fault.mode = "hang"
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{server.url}/api/3/action/package_search", timeout=0.3)
    assert server.stats.count("package_search") == 1  # it was asked, and never answered


def test_latency_delays_each_answer(client, servers):
    server = servers[TRANSPORT]
    server.fault.latency_ms = 60_000
    # A client waiting far less than the latency gets no answer; without it, one comes.
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{server.url}/api/3/action/package_search", timeout=0.3)
    server.fault.latency_ms = 0
    assert search(client, server, rows=1)["count"] > 0


def test_error_mode_answers_500_html(client, servers):
    server = servers[TRANSPORT]
    server.fault.mode = "error"
    response = action(client, server, "package_search")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")


def test_garbage_mode_answers_invalid_json_labelled_as_json(client, servers):
    server = servers[TRANSPORT]
    server.fault.mode = "garbage"
    response = action(client, server, "package_search")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_html_mode_answers_a_login_page(client, servers):
    server = servers[TRANSPORT]
    server.fault.mode = "html"
    response = action(client, server, "package_search")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "登录" in response.text


def test_huge_mode_streams_a_valid_json_body(client, servers):
    server = servers[TRANSPORT]
    server.fault.mode = "huge"
    with client.stream("GET", f"{server.url}/api/3/action/package_search") as response:
        assert response.status_code == 200
        assert "content-length" not in response.headers
        first = next(response.iter_bytes())
        assert first.startswith(b'{"help":')
    server.fault.huge_bytes = 3_000_000
    body = action(client, server, "package_search").content
    assert len(body) >= 3_000_000
    assert json.loads(body)["success"] is True


def test_fail_rate_answers_503(client, servers):
    server = servers[TRANSPORT]
    server.fault.fail_rate = 1.0
    assert action(client, server, "package_search").status_code == 503
    server.fault.fail_rate = 0.5
    codes = {action(client, server, "status_show").status_code for _ in range(20)}
    assert codes == {200, 503}


def test_admin_endpoint_changes_the_fault(client, servers):
    server = servers[TRANSPORT]
    response = client.post(f"{server.url}/__sim__/fault", json={"mode": "error", "latency_ms": 5})
    assert response.json()["mode"] == "error"
    assert server.fault.mode == "error" and server.fault.latency_ms == 5
    assert action(client, server, "package_search").status_code == 500
    bad = client.post(f"{server.url}/__sim__/fault", json={"mode": "explode"})
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    assert server.fault.mode == "error"


def test_stats_count_requests_per_action(client, servers):
    server = servers[TRANSPORT]
    for start in (0, 10, 20):
        search(client, server, start=start)
    action(client, server, "package_show", id="nope")
    server.fault.mode = "error"
    action(client, server, "package_search")
    stats = client.get(f"{server.url}/__sim__/stats").json()
    assert stats["actions"] == {"package_search": 4, "package_show": 1}
    assert stats["total"] == 5
    assert [r["params"].get("start") for r in stats["recent"][:3]] == ["0", "10", "20"]
    assert server.stats.count("package_search") == 4
    client.post(f"{server.url}/__sim__/stats/reset")
    assert server.stats.total == 0


def test_stopping_releases_a_hung_request_with_503(client):
    fault = Fault(mode="hang")
    platform = build_city_catalogue().platforms[TRANSPORT]
    answers: list[int] = []

    def hang(url: str) -> None:
        answers.append(httpx.get(f"{url}/api/3/action/package_search", timeout=10).status_code)

    with PlatformThread([PlatformSpec(TRANSPORT, platform, fault=fault)]) as running:
        caller = threading.Thread(target=hang, args=(running[TRANSPORT].url,))
        caller.start()
        while running[TRANSPORT].stats.total == 0:
            time.sleep(0.01)
    # Stopping answered the hung call (the caller would wait 10 s otherwise, then fail).
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert answers == [503]  # released at shutdown rather than left hanging


async def test_running_platforms_in_the_current_event_loop():
    specs = [s for s in demo_specs() if s.kind == "ckan"]
    async with running_platforms(specs) as running, httpx.AsyncClient() as http:
        assert list(running) == [s.id for s in specs]
        ports = {server.port for server in running.values()}
        assert len(ports) == 3
        for server in running.values():
            response = await http.get(f"{server.url}/api/3/action/status_show")
            assert response.json()["result"]["site_url"] == server.url
