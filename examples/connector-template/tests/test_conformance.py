"""The gateway's conformance kit over the water connector, from recorded API answers.

Run: ``pytest`` (in this folder). Each standard check is a test method of
``ConnectorConformance``; ``recordings/`` holds one JSON file per API exchange.
"""

from __future__ import annotations

from pathlib import Path

from connectors.sdk.conformance import ConnectorConformance

from hexi_water_connector import WaterPortalConnector


class TestWaterPortalConformance(ConnectorConformance):
    connector_class = WaterPortalConnector
    recordings = Path(__file__).parent / "recordings"
    options = {
        "api_key": "hexi-water-test-key"
    }  # a SecretStr option: the kit checks it never leaks
    page_size = 2  # the recordings hold three pages of two
    # The API's answer to a query it refuses: the kit checks it raises QueryRejected.
    bad_query_answers = [
        {"status": 400, "body": {"code": 40000, "message": "参数错误: updated_since"}}
    ]
