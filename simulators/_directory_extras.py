"""The national directory fields of the demo catalogue's records (issue 14).

Drawn from a random stream of each record's own (seeded by its id), so that adding them
shifted no other value of the catalogue.
"""

from __future__ import annotations

import random
import zlib
from typing import Protocol

REGION_CODE = "330100"  # = simulators.catalogue.REGION_CODE


class _Dept(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def code(self) -> str: ...


def credit_code(dept: _Dept) -> str:
    """A made-up (but well-formed: 18 characters) unified social credit code."""
    return f"11{REGION_CODE}MB{zlib.crc32(dept.id.encode()) % 10**7:07d}{dept.code[0]}"


_NOT_SHARED_BASES = (
    "《中华人民共和国个人信息保护法》第二十六条",
    "《中华人民共和国数据安全法》第二十一条",
    "《政务信息资源共享管理暂行办法》第九条",
)


def directory_extras(
    pkg_id: str,
    dept_code: str,
    seq: int,
    share_type: str,
    open_type: str,
    level: int,
    formats: list[str],
) -> list[tuple[str, str]]:
    """The national directory fields of one record, drawn from a stream of its own (seeded
    by the record's id) so that adding them shifted no other value of the catalogue."""
    rng = random.Random(pkg_id)
    out: list[tuple[str, str]] = []
    if rng.random() >= 0.04:
        # The directory's resource code is the catalogue identifier ("one data, one source").
        out.append(("resource_code", f"{REGION_CODE}/{dept_code}-{seq:05d}"))
    resource_class = rng.choices(
        ["部门信息资源", "基础信息资源", "主题信息资源", "业务资源"], (80, 8, 9, 3)
    )
    out.append(("resource_class", resource_class[0]))
    if "API" in formats:
        format_class = "接口"
    elif {"CSV", "XLSX", "XLS"} & set(formats):
        format_class = "电子表格"
    elif {"SHP", "GeoJSON"} & set(formats):
        format_class = "图形图像"
    elif "JSON" in formats:
        format_class = "自描述格式"
    else:
        format_class = "电子文件"
    out.append(("format_class", format_class))
    not_shared = share_type == "不予共享"
    if not not_shared:
        out.append(("share_method", "接口" if "API" in formats else "文件下载"))
    elif rng.random() < 0.8:
        out.append(("not_shared_basis", rng.choice(_NOT_SHARED_BASES)))
    if rng.random() < 0.2 and seq > 1:
        out.append(("related_resources", f"{REGION_CODE}/{dept_code}-{seq - 1:05d}"))
    # Core data only where nothing but the department sees it anyway; important data
    # only where it is not open. So the grades change no count of the demo.
    if not_shared and rng.random() < 0.3:
        out.append(("grade", rng.choice(["CORE", "核心数据"])))
    elif open_type == "不予开放" and level >= 3 and rng.random() < 0.4:
        out.append(("grade", rng.choice(["IMPORTANT", "重要数据"])))
    elif rng.random() < 0.5:
        out.append(("grade", rng.choice(["GENERAL", "一般数据"])))
    return out
