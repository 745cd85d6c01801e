"""The report's chart figures as plain plotly dicts ({"data": [...], "layout": {...}}).

The page passes each figure through Django's ``json_script`` and riskmodels/static/riskmodels/
charts.js draws it with plotly.js. Sums are exact Decimals; only the drawn coordinates become
floats, because a chart is a picture: the exact figures are in the tables beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from portfolio.models import LocationKind
from riskmodels.engine import SELF_CUSTODY
from riskmodels.engine.rules import Rule

if TYPE_CHECKING:
    from riskmodels.documents import ExposureRow
    from riskmodels.selectors import HoldingLine

TOP_GROUPS = 4  # counterparties drawn over time
ASSETS_PER_ENTITY = 12  # the rest of an entity's assets are one "other assets" slice
OTHER_ASSETS = "other assets"
COLORS = {"accent": "#0b5cad", "warn": "#b26a00", "breach": "#b3261e", "muted": "#5b6876"}
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12, "color": "#1d2733"}

Path = tuple[str, str, str, str]  # custody type, group, entity, asset


def _layout(**extra: object) -> dict:
    return {
        "font": FONT,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 40},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "showlegend": True,
        "legend": {"orientation": "h", "y": -0.18},
        **extra,
    }


def _chart(chart_id: str, title: str, figure: dict) -> dict:
    return {"id": chart_id, "title": title, "figure": figure}


def _paths(lines: Iterable[HoldingLine]) -> dict[Path, Decimal]:
    """Positive values by custody type → group → entity → asset.

    Unpriced holdings have no value and debts are negative: a sunburst draws neither, and the
    report lists both in their own sections.
    """
    kinds = dict(LocationKind.choices)
    values: dict[Path, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.value is None or line.value <= 0:
            continue
        group = line.group or SELF_CUSTODY
        entity = line.custodian or line.location  # a self-custody wallet is its own entity
        values[(kinds.get(line.kind, line.kind), group, entity, line.asset)] += line.value
    return values


def _cap_assets(values: dict[Path, Decimal]) -> dict[Path, Decimal]:
    """Keep each entity's largest assets, so that thousands of positions stay a readable chart."""
    by_entity: dict[tuple[str, str, str], list[tuple[Decimal, str]]] = defaultdict(list)
    for (kind, group, entity, asset), value in values.items():
        by_entity[(kind, group, entity)].append((value, asset))
    capped: dict[Path, Decimal] = {}
    for (kind, group, entity), items in by_entity.items():
        items.sort(key=lambda item: (-item[0], item[1]))
        for value, asset in items[:ASSETS_PER_ENTITY]:
            capped[(kind, group, entity, asset)] = value
        rest = sum((value for value, _ in items[ASSETS_PER_ENTITY:]), Decimal(0))
        if rest:
            capped[(kind, group, entity, OTHER_ASSETS)] = rest
    return capped


def allocation_figure(lines: Iterable[HoldingLine]) -> dict | None:
    """A sunburst of the current holdings; None when nothing has a positive value."""
    nodes: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for path, value in _cap_assets(_paths(lines)).items():
        for depth in range(1, len(path) + 1):
            nodes[path[:depth]] += value
    if not nodes:
        return None
    ordered = sorted(nodes)
    trace = {
        "type": "sunburst",
        "ids": ["/".join(node) for node in ordered],
        "labels": [node[-1] for node in ordered],
        "parents": ["/".join(node[:-1]) for node in ordered],
        "values": [float(nodes[node]) for node in ordered],
        "branchvalues": "total",
        "hovertemplate": "%{label}<br>%{value:,.0f} USD<br>%{percentRoot:.1%}<extra></extra>",
    }
    return {"data": [trace], "layout": _layout(margin={"l": 8, "r": 8, "t": 8, "b": 8})}


def _level_shapes(warn: str | None, breach: str | None, scale: int = 100) -> list[dict]:
    """Horizontal dashed lines across the plot at the warn and breach levels."""
    shapes = []
    for level, color in ((warn, COLORS["warn"]), (breach, COLORS["breach"])):
        if level is None:
            continue
        y = float(Decimal(level) * scale)
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": y,
                "y1": y,
                "line": {"color": color, "width": 1.5, "dash": "dash"},
            }
        )
    return shapes


def _level_labels(warn: str | None, breach: str | None, unit: str, scale: int = 100) -> list:
    labels = []
    for name, level, color in (("warn", warn, "warn"), ("breach", breach, "breach")):
        if level is None:
            continue
        y = float(Decimal(level) * scale)
        text = f"{name} {Decimal(level) * scale:f}{unit}"
        labels.append(_label(y, text, COLORS[color]))
    return labels


def _label(y: float, text: str, color: str) -> dict:
    return {
        "xref": "paper",
        "x": 1,
        "y": y,
        "text": text,
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
        "font": {"color": color, "size": 11},
    }


def _share_series(history: list[dict], group: str) -> list[float]:
    """The group's look-through share (percent) in each snapshot; 0 where it had none."""
    series = []
    for point in history:
        share = next((e["share"] for e in point["exposures"] if e["group"] == group), None)
        series.append(float(Decimal(share or 0) * 100))
    return series


def share_figure(history: list[dict[str, Any]], row: ExposureRow) -> dict[str, Any]:
    """One counterparty group's share of NAV over time, with its warn and breach levels."""
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": f"{row['group']} share of NAV",
        "x": [point["computed_at"].isoformat() for point in history],
        "y": _share_series(history, row["group"]),
        "line": {"color": COLORS["accent"]},
        "hovertemplate": "%{x}<br>%{y:.2f}%<extra></extra>",
    }
    layout = _layout(
        yaxis={"ticksuffix": "%", "rangemode": "tozero", "title": {"text": "share of NAV"}},
        shapes=_level_shapes(row["warn"], row["breach"]),
        annotations=_level_labels(row["warn"], row["breach"], "%"),
    )
    return {"data": [trace], "layout": layout}


def hhi_figure(history: list[dict], findings: list[dict]) -> dict:
    """HHI with and without self-custody over time, with the third-party HHI levels."""
    x = [point["computed_at"].isoformat() for point in history]
    traces = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": [float(Decimal(point[key] or 0)) for point in history],
            "line": {"color": color},
        }
        for key, name, color in (
            ("hhi", "HHI with self-custody", COLORS["accent"]),
            ("hhi_third_party", "HHI of third parties", COLORS["muted"]),
        )
    ]
    level = next((f for f in findings if f["rule"] == Rule.HHI_THIRD_PARTY), None)
    warn, breach = (level["warn"], level["breach"]) if level else (None, None)
    layout = _layout(
        yaxis={"rangemode": "tozero", "title": {"text": "HHI points"}},
        shapes=_level_shapes(warn, breach, scale=1),
        annotations=_level_labels(warn, breach, "", scale=1),
    )
    return {"data": traces, "layout": layout}


def top_rows(exposures: Sequence[ExposureRow], count: int = TOP_GROUPS) -> list[ExposureRow]:
    """The largest look-through exposures by share (rows of the rendered report)."""
    rows = [(Decimal(row["share"]), row) for row in exposures if row["share"] is not None]
    rows.sort(key=lambda pair: (-pair[0], pair[1]["group"]))
    return [row for _, row in rows[:count]]


def report_figures(
    *,
    lines: list[HoldingLine],
    history: list[dict[str, Any]],
    exposures: Sequence[ExposureRow],
    findings: list[dict[str, Any]],
) -> dict[str, Any]:
    """Every chart of the report page: allocation, each top counterparty's share, and HHI."""
    allocation = allocation_figure(lines)
    return {
        "allocation": allocation and _chart("chart-allocation", "Allocation", allocation),
        "shares": [
            _chart(f"chart-share-{index}", row["group"], share_figure(history, row))
            for index, row in enumerate(top_rows(exposures))
        ],
        "hhi": _chart("chart-hhi", "HHI over time", hhi_figure(history, findings))
        if history
        else None,
    }
