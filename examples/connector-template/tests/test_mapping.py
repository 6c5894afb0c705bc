"""What the kit cannot know: how this API's fields map to the canonical model.

The recorded answers serve these tests too, through the kit's ``RecordedPlatform``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from connectors.sdk import SearchQuery, SourceDefaults, SourceSettings
from connectors.sdk.conformance import RecordedPlatform, load_recordings
from schema.model import OpenType, Sensitivity, ShareType, UpdateFrequency

from hexi_water_connector import WaterPortalConnector, WaterPortalOptions

URL = "http://127.0.0.1:8080"
DEFAULTS = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L2)


@pytest.fixture
def platform() -> RecordedPlatform:
    return RecordedPlatform(load_recordings(Path(__file__).parent / "recordings"), URL)


@pytest.fixture
async def connector(platform: RecordedPlatform) -> AsyncIterator[WaterPortalConnector]:
    settings = SourceSettings(
        id="water",
        url=URL,
        defaults=DEFAULTS,
        options=WaterPortalOptions.model_validate({"api_key": "k"}),
    )
    async with httpx.AsyncClient(transport=platform.transport()) as client:
        yield WaterPortalConnector(settings, client)


async def test_a_record_maps_its_chinese_classes_cycle_and_local_times(
    connector: WaterPortalConnector,
) -> None:
    levels = (await connector.search(SearchQuery(limit=2))).datasets[0]
    assert levels.local_id == "HX-SW-0001" and levels.identifier == "330100/SWJ-0001"
    assert levels.share_type is ShareType.UNCONDITIONAL  # 无条件共享
    assert levels.open_type is OpenType.OPEN  # 无条件开放
    assert levels.sensitivity is Sensitivity.L1  # 一级
    assert levels.update_frequency is UpdateFrequency.CONT  # 实时
    assert levels.issued == datetime(2023, 3, 1, tzinfo=timezone(timedelta(hours=8)))
    assert [d.format for d in levels.distributions] == ["CSV", "API"]
    assert levels.distributions[1].download_url is None  # an API is not a download


async def test_a_record_without_classes_gets_the_source_defaults(
    connector: WaterPortalConnector,
) -> None:
    depots = (await connector.search(SearchQuery(offset=2, limit=2))).datasets[1]
    assert depots.local_id == "HX-SW-0004"
    assert (depots.share_type, depots.open_type, depots.sensitivity) == (
        DEFAULTS.share_type,
        DEFAULTS.open_type,
        DEFAULTS.sensitivity,
    )


async def test_a_record_without_a_code_is_skipped_and_its_row_still_counted(
    connector: WaterPortalConnector,
) -> None:
    last = await connector.search(SearchQuery(offset=4, limit=2))
    assert [d.local_id for d in last.datasets] == ["HX-SW-0005"]
    assert (last.consumed, last.positions, last.total) == (2, (0,), 6)


async def test_the_key_travels_in_the_x_api_key_header(
    connector: WaterPortalConnector, platform: RecordedPlatform
) -> None:
    await connector.departments()
    assert [e.request.headers["x-api-key"] for e in platform.exchanges] == ["k"]
