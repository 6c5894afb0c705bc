"""``/catalog.csv``: one row per dataset, UTF-8 with a byte-order mark (Excel reads it)."""

from __future__ import annotations

import csv
import io

from schema.ids import encode_id
from schema.model import Dataset

HEADER = (
    "id",
    "identifier",
    "title",
    "department",
    "source",
    "modified",
    "update_frequency",
    "share_type",
    "open_type",
    "formats",
    "landing_page",
)
BOM = "\ufeff"


def csv_rows(datasets: list[Dataset], *, header: bool = False) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(HEADER)
    for ds in datasets:
        writer.writerow(
            (
                encode_id("Dataset", ds.source_id, ds.local_id),
                ds.identifier or "",
                _cell(ds.title),
                _cell(ds.department.name) if ds.department else "",
                ds.source_id,
                ds.modified.isoformat() if ds.modified else "",
                ds.update_frequency.value,
                ds.share_type.value,
                ds.open_type.value,
                ";".join(ds.formats),
                ds.landing_page or "",
            )
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell starting with = + - @ is a formula to Excel: a quote keeps it text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
