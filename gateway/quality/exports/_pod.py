"""Project Open Data 1.1 ``data.json`` entries (``/data.json``).

Keys POD defines are used as POD defines them (``accessLevel`` from the open class,
``accrualPeriodicity`` as ISO 8601 repeating durations, ``publisher`` as an
``org:Organization``); the directory's classes are extension keys (camelCase, as the
datajson connector reads them). POD requires a description and a contact name: a
record without them gets its title and its department's name (nothing
else is filled in; the quality check reports MISSING_DESCRIPTION and MISSING_CONTACT).
"""

from __future__ import annotations

from typing import Any

from schema.model import Dataset, OpenType, UpdateFrequency

ACCESS_LEVELS = {
    OpenType.OPEN: "public",
    OpenType.CONDITIONAL: "restricted public",
    OpenType.NOT_OPEN: "non-public",
}
PERIODICITY = {
    UpdateFrequency.CONT: "R/PT1S",
    UpdateFrequency.HOURLY: "R/PT1H",
    UpdateFrequency.DAILY: "R/P1D",
    UpdateFrequency.WEEKLY: "R/P1W",
    UpdateFrequency.BIWEEKLY: "R/P2W",
    UpdateFrequency.MONTHLY: "R/P1M",
    UpdateFrequency.BIMONTHLY: "R/P2M",
    UpdateFrequency.QUARTERLY: "R/P3M",
    UpdateFrequency.ANNUAL_2: "R/P6M",
    UpdateFrequency.ANNUAL: "R/P1Y",
    UpdateFrequency.BIENNIAL: "R/P2Y",
    UpdateFrequency.IRREG: "irregular",
}
_EXTENSIONS = (
    ("share_type", "shareType"),
    ("sensitivity", "sensitivity"),
    ("grade", "grade"),
)
_DIRECTORY = (
    ("share_condition", "shareCondition"),
    ("resource_class", "resourceClass"),
    ("format_class", "formatClass"),
    ("share_method", "shareMethod"),
    ("open_condition", "openCondition"),
    ("not_shared_basis", "notSharedBasis"),
)

CATALOG_HEAD = (
    '{"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",'
    ' "@type": "dcat:Catalog",'
    ' "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",'
    ' "describedBy": "https://project-open-data.cio.gov/v1.1/schema/catalog.json",'
    ' "dataset": ['
)
CATALOG_TAIL = "]}\n"


def pod_entry(ds: Dataset) -> dict[str, Any]:
    department = ds.department
    entry: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "identifier": ds.identifier or ds.local_id,
        "title": ds.title,
        "description": ds.description or ds.title,
        "accessLevel": ACCESS_LEVELS[ds.open_type],
        "publisher": {"@type": "org:Organization", "name": department.name}
        if department
        else {"@type": "org:Organization", "name": ds.source_id},
        "contactPoint": _contact(ds),
    }
    if department is not None and department.code:
        entry["publisher"]["code"] = department.code
    if ds.keywords:
        entry["keyword"] = list(ds.keywords)
    if ds.modified is not None:
        entry["modified"] = ds.modified.isoformat()
    if ds.issued is not None:
        entry["issued"] = ds.issued.date().isoformat()
    if ds.update_frequency in PERIODICITY:
        entry["accrualPeriodicity"] = PERIODICITY[ds.update_frequency]
    if ds.themes:
        entry["theme"] = list(ds.themes)
    if ds.landing_page:
        entry["landingPage"] = ds.landing_page
    if ds.license and ds.license.startswith(("http://", "https://")):
        entry["license"] = ds.license
    elif ds.license:
        entry["licenseName"] = ds.license  # POD wants a URI; a name is an extension key
    if ds.spatial:
        entry["spatial"] = ds.spatial
    if ds.temporal is not None and ds.temporal.start and ds.temporal.end:
        entry["temporal"] = f"{ds.temporal.start.isoformat()}/{ds.temporal.end.isoformat()}"
    if ds.open_type is OpenType.CONDITIONAL and ds.open_condition:
        entry["rights"] = ds.open_condition[:255]
    for name, key in _EXTENSIONS:
        value = getattr(ds, name)
        if value is not None:
            entry[key] = value.value
    if ds.resource_code:
        entry["resourceCode"] = ds.resource_code
    for name, key in _DIRECTORY:
        value = getattr(ds, name)
        if value:
            entry[key] = value
    if ds.related_resources:
        entry["relatedResources"] = list(ds.related_resources)
    distributions = [_distribution(d) for d in ds.distributions]
    if any(distributions):
        entry["distribution"] = [d for d in distributions if d]
    return entry


def _contact(ds: Dataset) -> dict[str, Any]:
    contact = ds.contact_point
    name = (contact.name if contact else None) or (ds.department.name if ds.department else None)
    card: dict[str, Any] = {"@type": "vcard:Contact", "fn": name or ds.source_id}
    if contact is not None and contact.email:
        card["hasEmail"] = f"mailto:{contact.email}"
    if contact is not None and contact.phone:
        card["contactPhone"] = contact.phone
    return card


def _distribution(dist: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if dist.download_url and dist.media_type:  # POD: a downloadURL needs its mediaType
        out["downloadURL"] = dist.download_url
        out["mediaType"] = dist.media_type
    elif dist.download_url or dist.access_url:
        out["accessURL"] = dist.access_url or dist.download_url
    else:
        return {}
    out["@type"] = "dcat:Distribution"
    if dist.access_url and "accessURL" not in out and dist.access_url != dist.download_url:
        out["accessURL"] = dist.access_url
    if dist.title:
        out["title"] = dist.title
    if dist.format:
        out["format"] = dist.format
    if dist.byte_size is not None:
        out["byteSize"] = dist.byte_size
    return out
