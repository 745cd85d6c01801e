"""The report's chart figures as plain plotly dicts ({"data": [...], "layout": {...}}).

The page passes each figure through Django's ``json_script`` and riskmodels/static/riskmodels/
charts.js draws it with plotly.js. Sums are exact Decimals; only the drawn coordinates become
floats, because a chart is a picture: the exact figures are in the tables beside it.

Every label is plain text: plotly renders a few HTML tags in labels (``<a href>`` among them), so
each name passes through :func:`plain` before it reaches a figure. Each counterparty group has
one colour, derived from its slug (:func:`counterparty_color`), the same in every compute.
"""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from portfolio.models import LocationKind
from riskmodels.engine import SELF_CUSTODY
from riskmodels.engine.rules import Rule

if TYPE_CHECKING:
    from riskmodels.documents import ExposureRow
    from riskmodels.selectors import HoldingLine

TOP_GROUPS = 4  # counterparties drawn over time
CUSTODY_GROUPS = 10  # groups named in the custody split; the rest are one "other groups" part
OTHER_GROUPS = "other groups"
COLORS = {"accent": "#0b5cad", "warn": "#b26a00", "breach": "#b3261e", "muted": "#5b6876"}
# Counterparty colours: distinct hues, none of them the warn orange or the breach red, so that a
# bar's colour never reads as a status.
PALETTE = (
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#e377c2",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#7b4173",
    "#3182bd",
    "#843c39",
)
SELF_CUSTODY_COLOR = "#7f8c8d"
OTHER_COLOR = "#c7ccd1"
FONT = {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12, "color": "#1d2733"}
BAR_HEIGHT_PX = 30  # per bar of a horizontal bar chart, so that labels never overlap
BAR_CHART_BASE_PX = 90  # axis and legend
ONE_DAY = timedelta(days=1)

# plotly.js adds two <style> elements when it loads, which style-src 'self' blocks: an empty one
# ("plotly.js-style-global") that it then fills through the CSSOM (insertRule, which CSP allows),
# and maplibre's map stylesheet. Allowing exactly these two contents by hash, on the chart pages
# only, keeps 'unsafe-inline' out; a nonce cannot work, plotly creates the elements itself.
# tests/riskmodels/test_report_views.py recomputes the second hash from the installed plotly.
PLOTLY_STYLE_HASHES = [
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # the empty <style>
    "'sha256-ji27qzEtxXZW+7dun6UwjHXJ18e6WAin1VvNtkzIE/o='",  # maplibre's CSS, plotly.js 4.1.1
]


def display(row: ExposureRow) -> str:
    """A group as people name it ("Kraken (Payward)"), its slug where no name was given."""
    return str(row.get("name") or row["group"])


def plain(text: str) -> str:
    """``text`` as plotly shows it literally: no tag (a link, a line break) ever comes alive."""
    return html.escape(text, quote=False)


def counterparty_color(slug: str) -> str:
    """The colour of a counterparty group: a hash of its slug into :data:`PALETTE`.

    The same slug has the same colour in every compute and on every page, whatever else the
    portfolio holds; self-custody has its own grey.
    """
    if slug == SELF_CUSTODY:
        return SELF_CUSTODY_COLOR
    digest = hashlib.sha256(slug.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


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


def _bars_height(count: int) -> int:
    return BAR_CHART_BASE_PX + BAR_HEIGHT_PX * max(count, 1)


def _pct(text: str | None) -> float | None:
    return None if text is None else float(Decimal(text) * 100)


def _level_markers(rows: Sequence[ExposureRow], key: str, labels: list[str]) -> dict:
    """Each group's warn or breach level as a tick across its bar."""
    points = [(_pct(row[key]), label) for row, label in zip(rows, labels, strict=True)]  # type: ignore[literal-required]
    points = [(x, label) for x, label in points if x is not None]
    return {
        "type": "scatter",
        "mode": "markers",
        "name": f"{key} level",
        "x": [x for x, _ in points],
        "y": [label for _, label in points],
        "marker": {
            "symbol": "line-ns-open",
            "size": 22,
            "line": {"width": 3, "color": COLORS[key]},
            "color": COLORS[key],
        },
        "hovertemplate": f"%{{y}}: {key} at %{{x:.2f}}%<extra></extra>",
    }


def exposure_figure(exposures: Sequence[ExposureRow]) -> dict | None:
    """Look-through exposure per group as a share of NAV, largest on top, with each group's warn
    and breach levels marked on its bar; None when no group has a share."""
    rows = sorted(
        (row for row in exposures if row["share"] is not None),
        key=lambda row: (-Decimal(row["share"] or 0), row["group"]),
    )
    if not rows:
        return None
    labels = [plain(display(row)) for row in rows]
    bars = {
        "type": "bar",
        "orientation": "h",
        "name": "share of NAV",
        "showlegend": False,
        "x": [_pct(row["share"]) for row in rows],
        "y": labels,
        "marker": {"color": [counterparty_color(row["group"]) for row in rows]},
        "text": [f"{Decimal(row['share'] or 0) * 100:.2f}%" for row in rows],
        "textposition": "outside",
        "cliponaxis": False,
        "hovertemplate": "%{y}<br>%{x:.2f}% of NAV<extra></extra>",
    }
    layout = _layout(
        height=_bars_height(len(rows)),
        margin={"l": 8, "r": 48, "t": 8, "b": 40},
        xaxis={"ticksuffix": "%", "rangemode": "tozero"},
        yaxis={"automargin": True, "autorange": "reversed", "type": "category"},
        legend={"orientation": "h", "y": -40 / _bars_height(len(rows)), "yanchor": "top"},
    )
    markers = [_level_markers(rows, key, labels) for key in ("warn", "breach")]
    return {"data": [bars, *markers], "layout": layout}


def _custody_values(lines: Iterable[HoldingLine]) -> dict[str, dict[str, Decimal]]:
    """Positive values by location kind, then by custody group (self-custody for wallets).

    Unpriced holdings have no value and debts are negative: a stacked bar draws neither, and
    the report lists both in their own sections.
    """
    values: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        if line.value is None or line.value <= 0:
            continue
        values[line.kind][line.group or SELF_CUSTODY] += line.value
    return values


def _named_groups(values: dict[str, dict[str, Decimal]]) -> list[str]:
    """The largest groups overall, drawn each in its colour; the rest are "other groups"."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for groups in values.values():
        for group, value in groups.items():
            totals[group] += value
    ordered = sorted(totals, key=lambda group: (-totals[group], group))
    return ordered[:CUSTODY_GROUPS]


def custody_figure(
    lines: Iterable[HoldingLine], group_names: Mapping[str, str] | None = None
) -> dict | None:
    """One bar per location kind (exchange, custodian, self-custody...), stacked by custody group
    in each group's colour, each by its display name; None when nothing has a positive value."""
    group_names = {SELF_CUSTODY: "Self-custody", **(group_names or {})}
    values = _custody_values(lines)
    if not values:
        return None
    names = dict(LocationKind.choices)
    kinds = sorted(values, key=lambda kind: (-sum(values[kind].values()), kind))
    labels = [plain(names.get(kind, kind)) for kind in kinds]
    named = _named_groups(values)
    traces = []
    for group in [*named, OTHER_GROUPS]:
        # None where the group has nothing of that kind: no segment at all.
        xs = [_group_value(values[kind], group, named) for kind in kinds]
        if all(x is None for x in xs):
            continue
        color = OTHER_COLOR if group == OTHER_GROUPS else counterparty_color(group)
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": plain(group_names.get(group, group)),
                "x": xs,
                "y": labels,
                "marker": {"color": color},
                "textposition": "none",  # no text inside a segment, however small
                "hovertemplate": "%{y}<br>%{fullData.name}: %{x:,.0f} USD<extra></extra>",
            }
        )
    # The legend stands at the right, one group a line: it never runs into the axis.
    layout = _layout(
        barmode="stack",
        height=max(_bars_height(len(kinds)), 24 * len(traces) + 40),
        margin={"l": 8, "r": 8, "t": 8, "b": 32},
        xaxis={"rangemode": "tozero", "tickformat": "~s"},  # 2M: short labels never collide
        yaxis={"automargin": True, "autorange": "reversed", "type": "category"},
        legend={
            "orientation": "v",
            "traceorder": "normal",  # the largest group first
            "x": 1.02,
            "xanchor": "left",
            "y": 1,
            "yanchor": "top",
        },
    )
    return {"data": traces, "layout": layout}


def _group_value(groups: dict[str, Decimal], group: str, named: list[str]) -> float | None:
    if group == OTHER_GROUPS:
        value = sum((v for g, v in groups.items() if g not in named), Decimal(0))
    else:
        value = groups.get(group, Decimal(0))
    return float(value) if value else None


@dataclass(frozen=True, slots=True)
class LimitPoint:
    """One stored report's value of a rule for a subject, and the levels it was held to then."""

    at: datetime
    value: Decimal | None
    warn: Decimal | None
    breach: Decimal | None


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def limits_in_force(history: list[dict[str, Any]], rule: str, subject: str) -> list[LimitPoint]:
    """For each point of ``history`` (oldest first), the subject's value and the warn and breach
    levels its report applied: the limits in force when it was computed, not today's.

    A report that evaluated no such finding (the subject absent, or a report stored before
    findings were kept) has no levels: None, drawn as a gap, never today's level.
    """
    points = []
    for point in history:
        finding = next(
            (
                f
                for f in point.get("findings") or []
                if f["rule"] == rule and f["subject"] == subject
            ),
            None,
        )
        points.append(
            LimitPoint(
                at=point["computed_at"],
                value=_decimal(finding["value"]) if finding else None,
                warn=_decimal(finding["warn"]) if finding else None,
                breach=_decimal(finding["breach"]) if finding else None,
            )
        )
    return points


def _share_series(history: list[dict], group: str) -> list[float]:
    """The group's look-through share (percent) in each snapshot; 0 where it had none."""
    series = []
    for point in history:
        share = next((e["share"] for e in point["exposures"] if e["group"] == group), None)
        series.append(float(Decimal(share or 0) * 100))
    return series


def _level_lines(x: list[str], points: list[LimitPoint], scale: int) -> list[dict]:
    """The warn and breach levels in force at each point, as steps (a change shows where it
    happened); a point without a level is a gap."""
    traces = []
    for key in ("warn", "breach"):
        ys = [getattr(p, key) for p in points]
        if all(y is None for y in ys):
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "marker": {"size": 5},
                "name": f"{key} level then",
                "x": x,
                "y": [None if y is None else float(y * scale) for y in ys],
                "line": {"color": COLORS[key], "width": 1.5, "dash": "dash", "shape": "hv"},
                "connectgaps": False,
                "hovertemplate": f"%{{x}}<br>{key} %{{y:.2f}}<extra></extra>",
            }
        )
    return traces


def _time_axis(history: list[dict[str, Any]]) -> dict[str, Any]:
    """A date axis; a lone report gets a day either side, not a microsecond-wide axis."""
    times = {point["computed_at"] for point in history}
    if len(times) != 1:
        return {"type": "date"}
    (at,) = times
    return {"type": "date", "range": [(at - ONE_DAY).isoformat(), (at + ONE_DAY).isoformat()]}


def share_figure(history: list[dict[str, Any]], row: ExposureRow) -> dict[str, Any]:
    """One counterparty group's share of NAV over time, with the warn and breach levels that
    were in force at each point."""
    x = [point["computed_at"].isoformat() for point in history]
    trace = {
        "type": "scatter",
        "mode": "lines+markers",
        "name": f"{plain(display(row))} share of NAV",
        "x": x,
        "y": _share_series(history, row["group"]),
        "line": {"color": counterparty_color(row["group"])},
        "hovertemplate": "%{x}<br>%{y:.2f}%<extra></extra>",
    }
    levels = _level_lines(x, limits_in_force(history, Rule.GROUP, row["group"]), 100)
    layout = _layout(
        xaxis=_time_axis(history),
        yaxis={"ticksuffix": "%", "rangemode": "tozero", "title": {"text": "share of NAV"}},
    )
    return {"data": [trace, *levels], "layout": layout}


def hhi_figure(history: list[dict], findings: list[dict] | None = None) -> dict:
    """HHI with and without self-custody over time, with the third-party HHI levels in force
    at each point. (``findings``, the latest report's, is no longer needed: each point carries
    its own.)"""
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
    levels = _level_lines(x, limits_in_force(history, Rule.HHI_THIRD_PARTY, "third_party"), 1)
    layout = _layout(
        xaxis=_time_axis(history), yaxis={"rangemode": "tozero", "title": {"text": "HHI points"}}
    )
    return {"data": [*traces, *levels], "layout": layout}


def top_rows(exposures: Sequence[ExposureRow], count: int = TOP_GROUPS) -> list[ExposureRow]:
    """The largest look-through exposures by share (rows of the rendered report)."""
    rows = [(Decimal(row["share"]), row) for row in exposures if row["share"] is not None]
    rows.sort(key=lambda pair: (-pair[0], pair[1]["group"]))
    return [row for _, row in rows[:count]]


def history_figures(
    history: list[dict[str, Any]], exposures: Sequence[ExposureRow]
) -> dict[str, Any]:
    """The over-time charts: each top counterparty's share, and HHI (None without history)."""
    return {
        "shares": [
            _chart(f"chart-share-{index}", display(row), share_figure(history, row))
            for index, row in enumerate(top_rows(exposures))
        ],
        "hhi": _chart("chart-hhi", "HHI over time", hhi_figure(history)) if history else None,
    }


def report_figures(
    *,
    lines: list[HoldingLine],
    history: list[dict[str, Any]],
    exposures: Sequence[ExposureRow],
    findings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every chart of the report page: exposure per group against its limits (the main
    picture), the custody split by location kind, and the over-time charts."""
    exposure = exposure_figure(exposures)
    custody = custody_figure(lines, {row["group"]: display(row) for row in exposures})
    return {
        "exposure": exposure
        and _chart("chart-exposure", "Exposure by counterparty group, share of NAV", exposure),
        "custody": custody and _chart("chart-custody", "Custody by location kind, USD", custody),
        **history_figures(history, exposures),
    }
