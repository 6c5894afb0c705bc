"""The conformance kit over the built-in Project Open Data ``data.json`` connector.

The recording in ``recordings/datajson/`` is a ``data.json`` (schema v1.1) as the demo
data.json simulator (``simulators.datajson_sim``, a CKAN site's data.json export)
serves five packages of the demo city: packages 0, 3, 4 and 6 of the Finance Bureau's
``finance-datajson`` platform and package 1 of ``transport-platform`` (Transport
Bureau). It was recorded with ``--conformance-record`` against the simulator on
127.0.0.1:8080, the kit's own URL.

The connector loads the whole file and answers from a local index, so the kit skips what
cannot happen to it (a filter never reaches a request; ``get()`` after a search sends
nothing) and checks the rest as for any connector.
"""

from __future__ import annotations

from pathlib import Path

from connectors.datajson import DataJsonConnector
from connectors.sdk import SourceDefaults
from connectors.sdk.conformance import ConnectorConformance
from schema.model import Department, OpenType, Sensitivity, ShareType


class TestDataJsonConformance(ConnectorConformance):
    connector_class = DataJsonConnector
    recordings = Path(__file__).parent / "recordings" / "datajson"
    # As the demo reads its data.json platform (datajson_sim.datajson_department_ids).
    options = {"department_ids": {"财政局": "finance", "交通运输局": "transport"}}
    department = Department("finance", "财政局")
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L3)
    page_size = 2
