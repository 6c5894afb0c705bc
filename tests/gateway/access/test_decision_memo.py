"""The engine's memo of filter and grant decisions on a cached upstream page.

A page from the upstream cache answers many callers; what it decides for one grant set
must never answer for another.
"""

from __future__ import annotations

from connectors.sdk import DatasetFilter, SearchPage
from gateway.access.policy import Clause, GrantSet, Privilege
from gateway.federation.batch import PageRows, SearchRequest, page_rows
from schema.model import Department
from tests.gateway.conftest import make_dataset


def dept(name: str) -> Department:
    return Department(name, f"{name} department")


def _decisions(page: SearchPage, wanted: DatasetFilter, grants: GrantSet) -> PageRows:
    return page_rows(page, SearchRequest(filter=wanted), grants, 0, 0)


def _privileges(found: PageRows) -> list[Privilege]:
    return [access.privilege for _, _, _, access in found.rows]


def test_memoised_decisions_are_per_grant_set_content_and_filter() -> None:
    rows = (
        make_dataset("a", 0, department=dept("transport")),
        make_dataset("a", 1, department=dept("health")),
    )
    page = SearchPage(datasets=rows, total=2)
    transport = DatasetFilter(departments=("transport",))
    reader = GrantSet((Clause("g", transport, Privilege.DISCOVER, frozenset({"contact_point"})),))
    user = GrantSet((Clause("g", transport, Privilege.USE),))
    assert reader.key and user.key and reader.key != user.key  # derived from the clauses
    as_reader = _decisions(page, DatasetFilter(), reader)
    as_user = _decisions(page, DatasetFilter(), user)
    assert _privileges(as_reader) == [Privilege.DISCOVER] and as_reader.withheld == 1
    assert _privileges(as_user) == [Privilege.USE] and as_user.withheld == 1
    assert _decisions(page, DatasetFilter(), reader) is as_reader  # memoised
    # another filter is another decision: a record not asked for is dropped, not withheld
    other = _decisions(page, DatasetFilter(departments=("health",)), user)
    assert other.rows == () and other.withheld == 1 and other.refuted
    assert GrantSet(reader.clauses).key == reader.key
