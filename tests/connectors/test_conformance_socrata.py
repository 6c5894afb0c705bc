"""The conformance kit over the built-in Socrata connector (Discovery API).

The recordings in ``recordings/socrata/`` are answers of the demo Socrata simulator
(``simulators.socrata_sim``) serving five packages of the demo city: packages 0, 2, 3
and 5 of the Culture and Tourism Bureau's ``culture-socrata`` platform and package 0 of
``transport-platform`` (Transport Bureau), so the department, theme and keyword filters
have records to leave out. They were recorded with ``--conformance-record`` against the
simulator on 127.0.0.1:8080, the kit's own URL, so the links in them are the ones a
replay expects.
"""

from __future__ import annotations

import json
from pathlib import Path

from connectors.sdk import DatasetFilter, FilterName, SourceDefaults
from connectors.sdk.conformance import ConnectorConformance
from connectors.socrata import SocrataConnector
from schema.model import Department, OpenType, Sensitivity, ShareType

FIXTURES = Path(__file__).parent / "fixtures" / "socrata"


class TestSocrataConformance(ConnectorConformance):
    connector_class = SocrataConnector
    recordings = Path(__file__).parent / "recordings" / "socrata"
    # As the demo reads its Socrata platform (simulators.socrata_sim.connector_options),
    # plus an app token for the kit to check it never leaks.
    options = {
        "app_token": "socrata-conformance-app-token",
        "departments": {
            "文化和旅游局": {"id": "culture", "name": "文化和旅游局"},
            "交通运输局": {"id": "transport", "name": "交通运输局"},
        },
        "category_themes": {
            "交通": "transport",
            "经济发展": "economy",
            "社会民生": "society",
            "教育科技": "education",
            "公共安全": "public-safety",
        },
    }
    department = Department("culture", "文化和旅游局")
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L2)
    page_size = 2
    # A search for the source's own department is not pushed down on purpose: records
    # without an attribution belong to it and the API cannot ask for "no attribution"
    # (see connectors/socrata.py). Another department's records are.
    filter_examples = {FilterName.DEPARTMENTS: DatasetFilter(departments=("transport",))}
    # The Discovery API's 400 bodies for parameters it refuses.
    bad_query_answers = [
        {"status": 400, "body": json.loads((FIXTURES / name).read_text(encoding="utf-8"))}
        for name in ("catalog_400_order.json", "catalog_400_paging.json")
    ]
