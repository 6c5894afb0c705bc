"""``/reports``: the quality report as one zh-CN HTML page, charts drawn here as SVG.

No script, no font, no stylesheet from elsewhere: the page works air-gapped (a strict
Content-Security-Policy says so to the browser). Three charts: departments ranked by
average score, overdue and broken-link counts, and the trend of each department's
average score. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from gateway.quality.report import DepartmentFigures, HistoryPoint

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
_PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83")
_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;
color:#1f2328;background:#fff}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:right}th:first-child,td:first-child{text-align:left}.note{color:#59636e;font-size:13px}
svg text{font-size:12px;fill:#1f2328}
"""


def _name(item: DepartmentFigures) -> str:
    return item.name or item.department


def score_chart(items: Sequence[DepartmentFigures]) -> str:
    """Horizontal bars, best average score first."""
    ranked = sorted(items, key=lambda i: (-i.figures["average_score"], i.department))
    row, label, width = 26, 190, 420
    height = row * len(ranked) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-scores" data-chart="scores" '
        f'role="img" aria-label="各部门平均得分排名" width="{label + width + 60}" '
        f'height="{height}">'
    ]
    for n, item in enumerate(ranked):
        score = float(item.figures["average_score"])
        y = 5 + n * row
        bar = max(1.0, width * score / 100)
        parts.append(
            f'<text x="{label - 6}" y="{y + 16}" text-anchor="end">{escape(_name(item))}</text>'
            f'<rect class="bar" data-department="{escape(item.department)}" x="{label}" '
            f'y="{y + 3}" width="{bar:.1f}" height="{row - 8}" fill="#1f6feb"/>'
            f'<text x="{label + bar + 6:.1f}" y="{y + 16}">{score:.1f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def problem_chart(items: Sequence[DepartmentFigures]) -> str:
    """Two bars per department: overdue datasets, datasets with a broken link."""
    ordered = sorted(items, key=lambda i: i.department)
    top = max([1] + [max(i.figures["overdue"], i.figures["broken_links"]) for i in ordered])
    group, bar, height, base = 56, 20, 220, 190
    plot = 60 + group * len(ordered)
    width = plot + 170  # the legend sits right of the bars
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-problems" data-chart="problems" '
        f'role="img" aria-label="逾期与失效链接" width="{width}" height="{height + 40}">',
        f'<line x1="40" y1="{base}" x2="{plot}" y2="{base}" stroke="#59636e"/>',
    ]
    for n, item in enumerate(ordered):
        x = 50 + n * group
        for k, (key, colour) in enumerate((("overdue", "#9a6700"), ("broken_links", "#d1242f"))):
            value = int(item.figures[key])
            h = (base - 20) * value / top
            parts.append(
                f'<rect class="bar {key}" data-department="{escape(item.department)}" '
                f'x="{x + k * bar}" y="{base - h:.1f}" width="{bar - 2}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(_name(item))}: {value}</title></rect>'
            )
        parts.append(
            f'<text x="{x + bar}" y="{base + 14}" text-anchor="middle" '
            f'transform="rotate(30 {x + bar} {base + 14})">{escape(_name(item))}</text>'
        )
    parts.append(
        f'<rect x="{width - 150}" y="4" width="10" height="10" fill="#9a6700"/>'
        f'<text x="{width - 136}" y="13">逾期未更新</text>'
        f'<rect x="{width - 150}" y="20" width="10" height="10" fill="#d1242f"/>'
        f'<text x="{width - 136}" y="29">链接失效</text></svg>'
    )
    return "".join(parts)


def trend_chart(points: Sequence[HistoryPoint], names: dict[str, str]) -> str:
    """One line per department: average score by day."""
    days = sorted({p.day for p in points})
    width, height, left, top, bottom = 640, 240, 40, 10, 200
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-trend" data-chart="trend" '
        f'role="img" aria-label="平均得分趋势" width="{width + 200}" height="{height}">',
        f'<line x1="{left}" y1="{bottom}" x2="{width}" y2="{bottom}" stroke="#59636e"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#59636e"/>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">100</text>',
        f'<text x="{left - 6}" y="{bottom}" text-anchor="end">0</text>',
    ]

    def x_of(day: date) -> float:
        if len(days) == 1:
            return (left + width) / 2
        return left + (width - left) * days.index(day) / (len(days) - 1)

    def y_of(score: float) -> float:
        return bottom - (bottom - top) * score / 100

    departments = sorted({p.department for p in points})
    for n, department in enumerate(departments):
        colour = _PALETTE[n % len(_PALETTE)]
        series = [p for p in points if p.department == department]
        coords = " ".join(
            f"{x_of(p.day):.1f},{y_of(float(p.figures['average_score'])):.1f}" for p in series
        )
        parts.append(
            f'<polyline class="trend" data-department="{escape(department)}" fill="none" '
            f'stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        for p in series:
            parts.append(
                f'<circle cx="{x_of(p.day):.1f}" '
                f'cy="{y_of(float(p.figures["average_score"])):.1f}" r="3" fill="{colour}"/>'
            )
        parts.append(
            f'<rect x="{width + 20}" y="{12 + n * 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{width + 34}" y="{21 + n * 18}">'
            f"{escape(names.get(department, department))}</text>"
        )
    for day in days:
        parts.append(
            f'<text x="{x_of(day):.1f}" y="{bottom + 16}" text-anchor="middle">'
            f"{day.month}/{day.day}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


PROBLEM_LABELS = {
    "MISSING_SHARE_CONDITION": "缺少共享条件",
    "MISSING_NOT_SHARED_BASIS": "缺少不予共享依据",
    "MISSING_CONTACT": "缺少联系方式",
    "MISSING_LICENSE": "开放数据缺少许可",
    "MISSING_UPDATE_FREQUENCY": "未声明更新频率",
    "MISSING_DESCRIPTION": "缺少摘要",
    "NO_MACHINE_READABLE_FORMAT": "无机器可读格式",
    "OVERDUE": "逾期未更新",
    "BROKEN_LINK": "链接失效",
    "UNKNOWN_CLASS_VALUE": "分类取值不规范",
}


def _top_problems(problems: dict[str, int]) -> str:
    top = list(problems.items())[:3]
    return "、".join(f"{PROBLEM_LABELS.get(code, code)} {n}" for code, n in top)


def _table(items: Sequence[DepartmentFigures]) -> str:
    rows = "".join(
        f"<tr><td>{escape(_name(i))}</td><td>{i.figures['datasets']}</td>"
        f"<td>{i.figures['average_score']:.1f}</td>"
        f"<td>{i.figures['machine_readable_share'] * 100:.0f}%</td>"
        f"<td>{i.figures['overdue']}</td><td>{i.figures['broken_links']}</td>"
        f"<td>{escape(_top_problems(i.figures['problems']))}"
        "</td></tr>"
        for i in sorted(items, key=lambda i: -i.figures["average_score"])
    )
    return (
        '<table id="departments"><tr><th>部门</th><th>数据集</th><th>平均得分</th>'
        "<th>机器可读</th><th>逾期</th><th>链接失效</th><th>主要问题</th></tr>"
        f"{rows}</table>"
    )


def report_page(
    items: Sequence[DepartmentFigures],
    history: Sequence[HistoryPoint],
    *,
    viewer: str,
    generated_at: datetime | None,
) -> str:
    names = {i.department: _name(i) for i in items}
    if not items:
        body = '<p class="note" id="empty">尚无质量报告：后台巡检完成后即可查看。</p>'
    else:
        body = (
            f"<h2>各部门平均得分排名</h2>{score_chart(items)}"
            f"<h2>逾期未更新与链接失效</h2>{problem_chart(items)}"
            f"<h2>平均得分趋势（近 30 天）</h2>{trend_chart(history, names)}"
            f"<h2>明细</h2>{_table(items)}"
        )
    stamp = generated_at.strftime("%Y-%m-%d %H:%M UTC") if generated_at else "—"
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>公共数据质量报告</title><style>{_STYLE}</style></head><body>"
        "<h1>公共数据质量报告</h1>"
        f'<p class="note">数据范围：{escape(viewer)}；生成时间：{stamp}。'
        "指标说明见 docs/quality.md。</p>"
        f"{body}</body></html>"
    )
