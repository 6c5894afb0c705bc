from pathlib import Path

from gateway.api.schema import schema

SDL = Path(__file__).parents[2] / "schema" / "catalogue.graphql"


def test_committed_sdl_matches_the_schema() -> None:
    assert SDL.read_text(encoding="utf-8") == schema.as_str() + "\n", (
        "schema/catalogue.graphql is stale: run "
        "`catalogue-gateway print-schema > schema/catalogue.graphql`"
    )


def test_contract_names_are_in_the_sdl() -> None:
    sdl = schema.as_str()
    for name in [
        "datasets(search: String = null, filter: DatasetFilter = null, "
        "sort: DatasetSort = RELEVANCE, first: Int = 20, after: String = null): "
        "DatasetConnection!",
        "dataset(id: ID!): Dataset",
        "node(id: ID!): Node",
        "departments: [Department!]!",
        "sources: [Source!]!",
        "me: Caller!",
        "totalCountIsExact: Boolean!",
        "alsoPublishedBy: [DatasetCopy!]!",
        "enum SourceStatus",
        "CIRCUIT_OPEN",
    ]:
        assert name in sdl
