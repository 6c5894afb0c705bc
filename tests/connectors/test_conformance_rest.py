"""The conformance kit over the declarative REST connector with the demo mapping.

The connector is configured exactly as the demo configures it
(``simulators.rest_sim.rest_source_options``): the mapping
``gateway/demo/rest_platform.yaml`` and the platform's ``AppKey`` header, which the kit
checks never leaks. The recordings in ``recordings/rest/`` are answers of the demo REST
simulator (``simulators.rest_sim``, 河西市政务数据资源目录 开放接口 v1) serving five
packages of the demo city: packages 0, 1, 2 and 4 of the Human Resources and Social
Security Bureau's ``hr-rest`` platform and package 5 of ``transport-platform``
(Transport Bureau). They were recorded with ``--conformance-record`` against the
simulator on 127.0.0.1:8080, the kit's own URL.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from connectors.rest import RestConnector
from connectors.rest_config import RestOptions
from connectors.sdk import (
    Capabilities,
    DatasetFilter,
    FilterName,
    SourceDefaults,
    SourceSettings,
)
from connectors.sdk.conformance import ConnectorConformance
from schema.model import Department, OpenType, Sensitivity, ShareType
from simulators.rest_sim import rest_source_options

OPTIONS = rest_source_options()
URL = ConnectorConformance.url


class TestRestConformance(ConnectorConformance):
    connector_class = RestConnector
    recordings = Path(__file__).parent / "recordings" / "rest"
    options = OPTIONS
    department = Department("human-resources", "人力资源和社会保障局")
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L3)
    page_size = 2
    # A search for the source's own department is left to the gateway on purpose: records
    # that name no department are the source's, which the platform cannot know
    # (connectors/_rest_pushdown.py). Another department's search is pushed down.
    filter_examples = {FilterName.DEPARTMENTS: DatasetFilter(departments=("transport",))}
    # An anonymous caller's visibility: one clause, which the mapping can push down (the
    # kit's default adds the source's own department, which is left to the gateway).
    any_of_example = (DatasetFilter(open_types=(OpenType.OPEN,), max_sensitivity=Sensitivity.L1),)
    # The simulated platform's 参数错误 (HTTP 200, code 4001), mapped under bad_query.
    bad_query_answers = [
        {
            "status": 200,
            "body": {"code": 4001, "msg": "参数错误：updateTimeEnd格式应为yyyy-MM-dd HH:mm:ss"},
        },
        {"status": 400, "body": {"code": 400, "msg": "Bad Request"}},
    ]


def test_the_kit_checks_every_filter_the_demo_mapping_pushes_down() -> None:
    """The demo mapping has a get endpoint and pushes down these six filters, so the kit
    (which reads capabilities from a built connector) runs its get checks and one filter
    check per filter over it."""
    settings = SourceSettings(
        id="conformance", url=URL, options=RestOptions.model_validate(OPTIONS)
    )

    async def build() -> Capabilities:
        async with httpx.AsyncClient() as client:
            return RestConnector(settings, client).capabilities

    capabilities = asyncio.run(build())
    assert capabilities.get_by_id
    assert {f.value for f in capabilities.filters} == {
        "departments",
        "share_types",
        "open_types",
        "max_sensitivity",
        "modified_after",
        "modified_before",
    }
