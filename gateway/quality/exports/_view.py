"""A dataset as one caller may see it: the same privilege and masks as GraphQL."""

from __future__ import annotations

from dataclasses import replace

from gateway.access import Access, Privilege
from schema.model import Dataset


def caller_view(dataset: Dataset, access: Access) -> Dataset:
    """``dataset`` with the fields above ``access`` removed (``Dataset.quality`` and
    ``schema.graphql_types.dataset_type`` null the same ones)."""
    mask = access.mask
    use = access.privilege is Privilege.USE
    distributions = dataset.distributions
    if "distributions" in mask:
        distributions = ()
    elif not use:
        distributions = tuple(replace(d, access_url=None, download_url=None) for d in distributions)
    return replace(
        dataset,
        share_condition=None if "share_condition" in mask else dataset.share_condition,
        landing_page=None if "landing_page" in mask else dataset.landing_page,
        contact_point=None if "contact_point" in mask else dataset.contact_point,
        distributions=distributions,
        fields=() if not use or "fields" in mask else dataset.fields,
        spatial=None if "spatial" in mask else dataset.spatial,
    )
