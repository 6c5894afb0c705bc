"""The conformance kit over the built-in DCAT-AP connector.

The recordings in ``recordings/dcat/`` are the two hydra pages of a DCAT-AP 2 catalogue
in Turtle, as the demo DCAT simulator (``simulators.dcat_sim``, ckanext-dcat's
``/catalog.ttl`` with ``ckanext.dcat.datasets_per_page = 3``) serves five packages of the
demo city: packages 0, 1, 4 and 5 of the Agriculture and Rural Affairs Bureau's
``agriculture-dcat`` platform (package 4 states no classes, so the source's defaults
apply) and package 4 of ``transport-platform`` (Transport Bureau). They were recorded
with ``--conformance-record`` against the simulator on 127.0.0.1:8080, the kit's own
URL, so the ``hydra:next`` links in them are the ones a replay expects.

The connector loads the whole catalogue and answers from a local index, so the kit skips
what cannot happen to it (a filter never reaches a request; ``get()`` and
``departments()`` after a search send nothing) and checks the rest as for any connector.
"""

from __future__ import annotations

from pathlib import Path

from connectors.dcat import DcatConnector
from connectors.sdk import SourceDefaults
from connectors.sdk.conformance import ConnectorConformance
from schema.model import Department, OpenType, Sensitivity, ShareType


class TestDcatConformance(ConnectorConformance):
    connector_class = DcatConnector
    recordings = Path(__file__).parent / "recordings" / "dcat"
    options = {"catalogue_path": "/catalog.ttl"}
    department = Department("agriculture", "农业农村局")
    defaults = SourceDefaults(ShareType.CONDITIONAL, OpenType.NOT_OPEN, Sensitivity.L2)
    page_size = 2
