"""A deterministic sample catalogue of a fictional city, Hexi (河西市).

``build_city_catalogue()`` generates about 2,200 dataset records of 15 departments spread
over eight platforms, each record a raw dict shaped exactly like CKAN 2.10 ``package_show``
output. The city open-data portal republishes ~150 open datasets of other departments under
the same ``identifier`` (sometimes as a stale copy), which exercises "one data, one source".

Three platforms are CKAN (``DEMO_PLATFORMS`` in ``simulators.platforms``); the five in
``EXTRA_PLATFORMS``, one department each, stand for platforms of other kinds, whose
simulators convert these CKAN-shaped records into their own formats. Each extra platform
draws from its own random stream (seeded from the seed and its id), generated after the
CKAN ones, so adding or editing one never shifts another platform's records.

Resource URLs are stored with the literal prefix ``{base}``; the simulated platform
substitutes its real base URL when serving. Everything derives from ``random.Random(seed)``
and ``REFERENCE_DATE``, so the same seed always yields the same catalogue. The result is
cached per seed and shared: treat the dicts as read-only.

    >>> city = build_city_catalogue()
    >>> list(city.platforms)[:3]
    ['transport-platform', 'livelihood-platform', 'city-open-portal']
    >>> EXTRA_PLATFORMS["water-ods"], len(city.platforms["water-ods"].packages)
    ('opendatasoft', 120)
"""

from __future__ import annotations

import functools
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from simulators import _extra_templates_resources, _extra_templates_services
from simulators._city_templates import (
    CYCLE_DAYS,
    CYCLE_EN,
    DEFAULT_OPEN_WEIGHTS,
    DISTRICTS,
    FORMATS,
    GROUPS,
    LICENSES,
    MAINTAINERS,
    OPEN_CONDITIONS,
    OPEN_WEIGHTS,
    SHARE_CONDITIONS,
    TEMPLATES,
    YEARS,
    Template,
)
from simulators._directory_extras import credit_code, directory_extras

__all__ = [
    "EXTRA_PLATFORMS",
    "REFERENCE_DATE",
    "CityCatalogue",
    "Department",
    "PlatformCatalogue",
    "build_city_catalogue",
    "credit_code",
]

REFERENCE_DATE = datetime(2026, 11, 1, tzinfo=UTC)
REGION_CODE = "330100"

Package = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Department:
    """A city department: ``id`` is the slug used as the CKAN organization name."""

    id: str
    name_zh: str
    name_en: str
    code: str


@dataclass(frozen=True, eq=False)
class PlatformCatalogue:
    """The records one simulated platform serves (raw CKAN dicts, read-only)."""

    id: str
    title: str
    title_en: str
    packages: list[Package]
    organizations: list[dict[str, Any]]
    groups: list[dict[str, Any]]


@dataclass(frozen=True, eq=False)
class CityCatalogue:
    """The whole city: its departments and the platforms that publish their data."""

    seed: int
    departments: list[Department]
    platforms: dict[str, PlatformCatalogue]

    def department(self, dept_id: str) -> Department:
        return next(d for d in self.departments if d.id == dept_id)


DEPARTMENTS = [
    Department("transport", "交通运输局", "Transport Bureau", "JTJ"),
    Department("housing", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau", "ZJJ"),
    Department("planning", "自然资源和规划局", "Natural Resources and Planning Bureau", "GHJ"),
    Department("health", "卫生健康委员会", "Health Commission", "WJW"),
    Department("education", "教育局", "Education Bureau", "JYJ"),
    Department("civil-affairs", "民政局", "Civil Affairs Bureau", "MZJ"),
    Department("public-security", "公安局", "Public Security Bureau", "GAJ"),
    Department("environment", "生态环境局", "Ecology and Environment Bureau", "HBJ"),
    Department("market", "市场监督管理局", "Market Supervision Administration", "SJJ"),
    Department("statistics", "统计局", "Statistics Bureau", "TJJ"),
    Department("culture", "文化和旅游局", "Culture and Tourism Bureau", "WLJ"),
    Department("water", "水务局", "Water Affairs Bureau", "SWJ"),
    Department("agriculture", "农业农村局", "Agriculture and Rural Affairs Bureau", "NYJ"),
    Department("finance", "财政局", "Finance Bureau", "CZJ"),
    Department(
        "human-resources",
        "人力资源和社会保障局",
        "Human Resources and Social Security Bureau",
        "RSJ",
    ),
]
_TEMPLATES: dict[str, list[Template]] = {
    **TEMPLATES,
    **_extra_templates_resources.TEMPLATES,
    **_extra_templates_services.TEMPLATES,
}
_OPEN_WEIGHTS = {
    **OPEN_WEIGHTS,
    **_extra_templates_resources.OPEN_WEIGHTS,
    **_extra_templates_services.OPEN_WEIGHTS,
}

# (platform id, Chinese title, English title, {department: number of own datasets})
PLATFORMS: list[tuple[str, str, str, dict[str, int]]] = [
    (
        "transport-platform",
        "城市交通与建设数据平台",
        "Urban Transport and Construction Data Platform",
        {"transport": 200, "housing": 180, "planning": 170},
    ),
    (
        "livelihood-platform",
        "民生服务数据共享平台",
        "Livelihood Services Data Sharing Platform",
        {"health": 150, "education": 140, "civil-affairs": 130, "public-security": 130},
    ),
    (
        "city-open-portal",
        "河西市公共数据开放平台",
        "Hexi Public Data Open Portal",
        {"environment": 130, "market": 120, "statistics": 100},
    ),
]
CITY_PORTAL = "city-open-portal"
COPIES_ON_CITY_PORTAL = 150

# Platforms of other kinds (platform id -> simulator kind), one department each.
EXTRA_PLATFORMS = {
    "culture-socrata": "socrata",
    "water-ods": "opendatasoft",
    "agriculture-dcat": "dcat",
    "finance-datajson": "datajson",
    "hr-rest": "rest",
}
_EXTRA_PLATFORM_DATA: list[tuple[str, str, str, dict[str, int]]] = [
    (
        "culture-socrata",
        "文化旅游开放数据 (Socrata)",
        "Culture and Tourism Open Data (Socrata)",
        {"culture": 120},
    ),
    (
        "water-ods",
        "河西水务开放数据 (OpenDataSoft)",
        "Hexi Water Open Data (OpenDataSoft)",
        {"water": 120},
    ),
    (
        "agriculture-dcat",
        "农业农村数据目录 (DCAT-AP)",
        "Agriculture and Rural Affairs Data Catalogue (DCAT-AP)",
        {"agriculture": 120},
    ),
    (
        "finance-datajson",
        "财政数据清单 (data.json)",
        "Public Finance Data Inventory (data.json)",
        {"finance": 100},
    ),
    (
        "hr-rest",
        "人社数据服务接口 (REST API)",
        "Human Resources and Social Security Data API (REST)",
        {"human-resources": 120},
    ),
]


def _ts(value: datetime) -> str:
    """CKAN's timestamp format: naive UTC with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class _Generator:
    def __init__(self, seed: int | str) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moment(self, start: datetime, end: datetime) -> datetime:
        span = max((end - start).total_seconds(), 1.0)
        return start + timedelta(seconds=self.rng.uniform(0, span))

    def org_dict(self, dept: Department) -> dict[str, Any]:
        return {
            "id": self.uuid(),
            "name": dept.id,
            "title": dept.name_zh,
            "code": credit_code(dept),  # a ckanext-scheming organization field
            "type": "organization",
            "description": f"河西市{dept.name_zh}（Hexi {dept.name_en}）",
            "image_url": "",
            "created": _ts(
                self.moment(datetime(2019, 1, 2, tzinfo=UTC), datetime(2019, 3, 1, tzinfo=UTC))
            ),
            "is_organization": True,
            "approval_status": "approved",
            "state": "active",
        }

    def group_dicts(self) -> list[dict[str, Any]]:
        return [
            {
                "description": f"{zh}（{en}）",
                "display_name": zh,
                "id": self.uuid(),
                "image_display_url": "",
                "name": name,
                "title": zh,
            }
            for name, zh, en in GROUPS
        ]

    def package(
        self,
        dept: Department,
        template: Template,
        district: tuple[str, str, str],
        year: int | None,
        seq: int,
        org: dict[str, Any],
        groups: dict[str, dict[str, Any]],
    ) -> Package:
        rng = self.rng
        slug, subject_zh, subject_en, tags, group_names, cycle, formats, fields = template
        d_zh, d_en, d_slug = district
        place_zh = d_zh or "河西市"
        if year is None:
            title = f"{place_zh}{subject_zh}"
            title_en = f"{subject_en} - {d_en}"
            name = f"{slug}-{d_slug}"
        else:
            title = (
                f"{place_zh}{subject_zh}（{year}年）"
                if rng.random() < 0.6
                else f"{year}年{place_zh}{subject_zh}"
            )
            title_en = f"{subject_en} - {d_en}, {year}"
            name = f"{slug}-{d_slug}-{year}"
        field_items = [
            dict(zip(("name", "type", "description"), f.split(":"), strict=True))
            for f in fields.split(";")
        ]
        pkg_id = self.uuid()

        # Data of year Y is published during Y or early Y+1; undated data any time.
        earliest = datetime(year if year else 2019, 1, 1, tzinfo=UTC)
        latest = min(
            datetime((year or 2026) + 1, 3, 1, tzinfo=UTC), REFERENCE_DATE - timedelta(days=3)
        )
        created = self.moment(earliest, latest)
        period = timedelta(days=CYCLE_DAYS[cycle])
        if year is not None and year < 2026 and rng.random() < 0.7:
            modified = self.moment(created, min(created + timedelta(days=120), latest))
        elif rng.random() < 0.7:  # kept up to date
            modified = self.moment(max(created, REFERENCE_DATE - period * 0.9), REFERENCE_DATE)
        else:  # overdue relative to its update cycle
            modified = self.moment(created, max(created, REFERENCE_DATE - period * 1.5))
        if modified > REFERENCE_DATE:
            modified = REFERENCE_DATE - timedelta(minutes=5)

        open_type = rng.choices(
            ["无条件开放", "有条件开放", "不予开放"],
            _OPEN_WEIGHTS.get(dept.id, DEFAULT_OPEN_WEIGHTS),
        )[0]
        if open_type == "无条件开放":
            share_type = rng.choices(["无条件共享", "unconditional", "有条件共享"], (80, 8, 12))[0]
            level = rng.choices([1, 2], (85, 15))[0]
        else:
            share_type = rng.choices(
                ["无条件共享", "有条件共享", "不予共享", "conditional"], (30, 50, 14, 6)
            )[0]
            level = rng.choices([1, 2, 3, 4], (10, 40, 35, 15))[0]
        if share_type == "不予共享":
            open_type = "不予开放"
            level = max(level, 3)
        sensitivity = (
            f"L{level}" if rng.random() < 0.9 else ("一级", "二级", "三级", "四级")[level - 1]
        )

        maintainer, pinyin = rng.choice(MAINTAINERS)
        extras: list[tuple[str, str]] = [("identifier", f"{REGION_CODE}/{dept.code}-{seq:05d}")]
        if rng.random() >= 0.05:
            extras += [
                ("share_type", share_type),
                ("open_type", open_type),
                ("sensitivity", sensitivity),
            ]
        if share_type in ("有条件共享", "conditional"):
            extras.append(("share_condition", rng.choice(SHARE_CONDITIONS)))
        if open_type == "有条件开放":
            extras.append(("open_condition", OPEN_CONDITIONS))
        extras += [
            ("update_cycle", cycle),
            ("contact_phone", f"0000-{rng.randrange(8000_0000, 8999_9999)}"),
            ("fields", json.dumps(field_items, ensure_ascii=False)),
            ("title_en", title_en),
            ("spatial", f"河西市{d_zh}" if d_zh else "河西市"),
        ]
        if year is not None:
            extras.append(("temporal", f"{year}-01-01/{year}-12-31"))

        field_zh = "、".join(f["description"] for f in field_items)
        field_en = ", ".join(f["name"] for f in field_items)
        notes_zh = (
            f"{place_zh}{f'{year}年' if year else ''}{subject_zh}数据，由河西市"
            f"{dept.name_zh}{'实时' if cycle == '实时' else '按' + cycle[1:]}更新，"
            f"包含{field_zh}等数据项。"
        )
        notes_en = (
            f"{subject_en} for {d_en}{f' in {year}' if year else ''}, published by the "
            f"{dept.name_en} and updated {CYCLE_EN[cycle]}. Data items: {field_en}."
        )
        roll = rng.random()
        notes: str | None
        if roll < 0.02:
            notes = None
        elif roll < 0.06:
            notes = f"<p>{notes_zh}</p><p>English: {notes_en}<br>数据来源：{dept.name_zh}</p>"
        else:
            notes = f"{notes_zh}\n\nEnglish: {notes_en}"

        # English tags appear on some records only, as real catalogues are inconsistent.
        tag_names = [t for t in tags.split(",") if not t.isascii() or rng.random() < 0.7]
        if d_zh and rng.random() < 0.5:
            tag_names.append(d_zh)
        if open_type == "不予开放":
            license_id = rng.choices(["other-closed", "notspecified"], (70, 30))[0]
        else:
            license_id = rng.choices(
                ["cc-by", "cc-by-sa", "odc-by", "notspecified"], (60, 15, 10, 15)
            )[0]
        license_title, license_url, is_open = LICENSES[license_id]

        fmt_choices = formats.split()
        n_res = min(len(fmt_choices), rng.choices([1, 2, 3], (45, 40, 15))[0])
        res_formats = rng.sample(fmt_choices, n_res)
        if rng.random() < 0.04:
            res_formats[-1] = ""
        elif rng.random() < 0.03:
            res_formats[-1] = "XLS"
        resources = [
            self.resource(pkg_id, i, fmt, subject_zh, created, modified)
            for i, fmt in enumerate(res_formats)
        ]

        extras += directory_extras(
            pkg_id, dept.code, seq, share_type, open_type, level, res_formats
        )
        with_maintainer = rng.random() >= 0.05
        package: Package = {
            "author": None,
            "author_email": None,
            "creator_user_id": self.uuid(),
            "id": pkg_id,
            "isopen": is_open,
            "license_id": license_id,
            "license_title": license_title,
            "maintainer": maintainer if with_maintainer else None,
            "maintainer_email": (
                f"{pinyin}@{dept.id}.hexi.gov.example" if with_maintainer else None
            ),
            "metadata_created": _ts(created),
            "metadata_modified": _ts(modified),
            "name": name,
            "notes": notes,
            "num_resources": len(resources),
            "num_tags": len(tag_names),
            "organization": org,
            "owner_org": org["id"],
            "private": False,
            "state": "active",
            "title": title,
            "type": "dataset",
            "url": "",
            "version": None,
            "extras": [{"key": k, "value": v} for k, v in extras],
            "groups": [groups[g] for g in group_names.split()],
            "resources": resources,
            "tags": [
                {
                    "display_name": t,
                    "id": self.uuid(),
                    "name": t,
                    "state": "active",
                    "vocabulary_id": None,
                }
                for t in tag_names
            ],
            "relationships_as_object": [],
            "relationships_as_subject": [],
        }
        if license_url is not None:  # real CKAN omits the key for licenses without a URL
            package["license_url"] = license_url
        return package

    def resource(
        self,
        pkg_id: str,
        position: int,
        fmt: str,
        subject_zh: str,
        created: datetime,
        modified: datetime,
    ) -> dict[str, Any]:
        rng = self.rng
        rid = self.uuid()
        mimetype, ext = FORMATS[fmt]
        if fmt == "API":
            url = f"{{base}}/api/data/{rid[:8]}/query"
            name, size, url_type = f"{subject_zh}查询接口", None, None
        else:
            file_name = f"data-{position + 1}.{ext}"
            url = f"{{base}}/dataset/{pkg_id}/resource/{rid}/download/{file_name}"
            name = f"{subject_zh}数据（{fmt or '文件'}）"
            size = int(rng.lognormvariate(11, 1.6)) + 512
            url_type = "upload"
        return {
            "cache_last_updated": None,
            "cache_url": None,
            "created": _ts(created),
            "datastore_active": False,
            "description": "" if rng.random() < 0.7 else f"{name}，按数据目录规范发布。",
            "format": fmt,
            "hash": "",
            "id": rid,
            "last_modified": _ts(modified) if url_type == "upload" else None,
            "metadata_modified": _ts(modified),
            "mimetype": mimetype,
            "mimetype_inner": None,
            "name": name,
            "package_id": pkg_id,
            "position": position,
            "resource_type": "api" if fmt == "API" else None,
            "size": size,
            "state": "active",
            "url": url,
            "url_type": url_type,
        }

    def department_packages(
        self, dept: Department, count: int, org: dict[str, Any], groups: dict[str, dict[str, Any]]
    ) -> list[Package]:
        # Each template yields datasets per (district, year); real-time feeds are not
        # split by year, so they run out first and the other templates fill in.
        pools = []
        for template in _TEMPLATES[dept.id]:
            years = [None] if template[5] == "实时" else YEARS
            combos = [(d, y) for d in DISTRICTS for y in years]
            self.rng.shuffle(combos)
            pools.append((template, combos))
        packages: list[Package] = []
        while len(packages) < count:
            for template, combos in pools:
                if combos and len(packages) < count:
                    district, year = combos.pop()
                    packages.append(
                        self.package(dept, template, district, year, len(packages) + 1, org, groups)
                    )
        return packages

    def platform(
        self,
        platform_id: str,
        title: str,
        title_en: str,
        counts: dict[str, int],
        depts: dict[str, Department],
    ) -> PlatformCatalogue:
        orgs = [self.org_dict(depts[dept_id]) for dept_id in counts]
        group_list = self.group_dicts()
        groups = {g["name"]: g for g in group_list}
        packages: list[Package] = []
        for org, (dept_id, count) in zip(orgs, counts.items(), strict=True):
            packages += self.department_packages(depts[dept_id], count, org, groups)
        return PlatformCatalogue(
            id=platform_id,
            title=title,
            title_en=title_en,
            packages=packages,
            organizations=orgs,
            groups=group_list,
        )

    def republish(
        self,
        original: Package,
        org: dict[str, Any] | None,
        groups: dict[str, dict[str, Any]],
        source_title: str,
    ) -> Package:
        """A copy of another platform's open dataset, as the city portal harvests it."""
        rng = self.rng
        copy = dict(original)
        pkg_id = self.uuid()
        copy["id"] = pkg_id
        copy["creator_user_id"] = self.uuid()
        copy["organization"] = org
        copy["owner_org"] = org["id"] if org else None
        if rng.random() < 0.15:
            copy["title"] = original["title"].replace("（", "数据（", 1)
        if rng.random() < 0.4:  # stale: the portal has not re-harvested the latest edit
            modified = datetime.fromisoformat(original["metadata_modified"]).replace(tzinfo=UTC)
            created = datetime.fromisoformat(original["metadata_created"]).replace(tzinfo=UTC)
            older = modified - timedelta(days=rng.uniform(20, 400))
            copy["metadata_modified"] = _ts(max(older, created + timedelta(hours=1)))
        dept_name = original["organization"]["title"]
        copy["extras"] = [
            *original["extras"],
            {"key": "data_source", "value": f"{dept_name}（{source_title}）"},
        ]
        copy["groups"] = [groups[g["name"]] for g in original["groups"]]
        copy["tags"] = [{**t, "id": self.uuid()} for t in original["tags"]]
        resources = []
        for res in original["resources"]:
            rid = self.uuid()
            url = res["url"].replace(original["id"], pkg_id).replace(res["id"], rid)
            resources.append(
                {
                    **res,
                    "id": rid,
                    "package_id": pkg_id,
                    "url": url,
                    "metadata_modified": copy["metadata_modified"],
                }
            )
        copy["resources"] = resources
        return copy


def _is_bus(package: Package) -> bool:
    return "公交" in package["title"]


@functools.lru_cache(maxsize=8)
def build_city_catalogue(seed: int = 2026) -> CityCatalogue:
    """Generate the Hexi city catalogue; the same seed always gives the same records."""
    gen = _Generator(seed)
    depts = {d.id: d for d in DEPARTMENTS}
    platforms = {
        platform_id: gen.platform(platform_id, title, title_en, counts, depts)
        for platform_id, title, title_en, counts in PLATFORMS
    }

    portal = platforms[CITY_PORTAL]
    candidates = [
        (p, pkg)
        for p in platforms.values()
        if p.id != CITY_PORTAL
        for pkg in p.packages
        if ("open_type", "无条件开放") in ((e["key"], e["value"]) for e in pkg["extras"])
    ]
    bus = [c for c in candidates if _is_bus(c[1])]
    chosen = gen.rng.sample(bus, min(30, len(bus)))
    rest = [c for c in candidates if not _is_bus(c[1])]
    chosen += gen.rng.sample(rest, COPIES_ON_CITY_PORTAL - len(chosen))
    portal_groups = {g["name"]: g for g in portal.groups}
    portal_orgs: dict[str, dict[str, Any]] = {o["name"]: o for o in portal.organizations}
    for source, original in chosen:
        dept_id = original["organization"]["name"]
        if dept_id not in portal_orgs:
            portal_orgs[dept_id] = gen.org_dict(depts[dept_id])
            portal.organizations.append(portal_orgs[dept_id])
        # A few harvested records lose their publisher on the portal.
        publisher = None if gen.rng.random() < 0.03 else portal_orgs[dept_id]
        portal.packages.append(gen.republish(original, publisher, portal_groups, source.title))

    # Own streams (a str seed is hashed with SHA-512, independent of PYTHONHASHSEED).
    for platform_id, title, title_en, counts in _EXTRA_PLATFORM_DATA:
        own = _Generator(f"{seed}/{platform_id}")
        platforms[platform_id] = own.platform(platform_id, title, title_en, counts, depts)
    return CityCatalogue(seed=seed, departments=list(DEPARTMENTS), platforms=platforms)
