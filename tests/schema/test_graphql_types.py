"""``dataset_type``: the GraphQL Dataset derives its fields from the record on first read."""

from __future__ import annotations

from datetime import UTC, datetime

from strawberry.types.base import get_object_definition
from strawberry.types.private import is_private

from schema import graphql_types as gql
from schema.model import (
    ContactPoint,
    DataField,
    Dataset,
    Department,
    Distribution,
    Grade,
    Temporal,
)

RECORD = Dataset(
    source_id="s",
    local_id="s-1",
    title="t",
    identifier="res-1",
    themes=("transport",),
    department=Department("d1", "Transport", "CODE"),
    issued=datetime(2024, 1, 2, tzinfo=UTC),
    modified=datetime(2024, 3, 4, tzinfo=UTC),
    share_condition="condition",
    license="CC-BY",
    landing_page="http://landing",
    contact_point=ContactPoint("name", "a@b", "555"),
    distributions=(Distribution("f", "CSV", "text/csv", "http://access", "http://dl", 9),),
    fields=(DataField("kept", "int"), DataField("dropped")),
    spatial="city",
    temporal=Temporal(datetime(2020, 1, 1, tzinfo=UTC), None),
    resource_code="RC",
    related_resources=("other",),
    grade=Grade.GENERAL,
)


def _attribute_fields() -> list[str]:
    """The Dataset fields graphql-core (and the compiled plans) read as attributes."""
    definition = get_object_definition(gql.Dataset, strict=True)
    return [
        f.python_name
        for f in definition.fields
        if f.base_resolver is None and not is_private(f.type)
    ]


def test_every_attribute_field_of_dataset_is_derived_from_the_record() -> None:
    # A field added to Dataset without a derivation would be an error in every answer.
    assert sorted(_attribute_fields()) == sorted(gql._DERIVED)


def test_a_derived_field_is_built_once_and_kept() -> None:
    node = gql.dataset_type(RECORD, use=True, mask=frozenset())
    assert "distributions" not in vars(node)
    first = node.distributions
    assert vars(node)["distributions"] is first
    assert node.distributions is first


def test_the_derived_fields_are_the_records_with_privilege_and_mask_applied() -> None:
    node = gql.dataset_type(
        RECORD, use=True, mask=frozenset({"landing_page"}), items=frozenset({"kept"})
    )
    assert node.id == "RGF0YXNldDpzOnMtMQ"
    assert node.department == gql.Department(id="d1", name="Transport", code="CODE")  # type: ignore[arg-type]
    assert node.source == gql.SourceRef(id="s")  # type: ignore[arg-type]
    assert node.themes == ["transport"] and node.related_resources == ["other"]
    assert (node.issued, node.modified) == (RECORD.issued, RECORD.modified)
    assert node.share_condition == "condition" and node.landing_page is None
    assert node.contact_point == gql.ContactPoint(name="name", email="a@b", phone="555")
    assert [d.download_url for d in node.distributions] == ["http://dl"]
    assert [f.name for f in node.fields or ()] == ["kept"]
    assert node.temporal == gql.Temporal(start=RECORD.temporal.start, end=None)  # type: ignore[union-attr]
    assert (node.resource_code, node.grade, node.spatial) == ("RC", Grade.GENERAL, "city")


def test_an_unknown_attribute_is_still_an_attribute_error() -> None:
    node = gql.dataset_type(RECORD, use=False, mask=frozenset())
    assert not hasattr(node, "no_such_field")
    assert node.fields is None
    assert [d.access_url for d in node.distributions] == [None]
