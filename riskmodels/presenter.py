"""What pages, the PDF, the CSV and the JSON show, from the engine's typed (investor-scaled) Report.

The engine decides levels and amounts; this module only words and orders them: display names in
place of slugs, a finding's status as the worst over every rule, the action list worst first with
its move / convert / blocked split, the accounting from gross assets to NAV, percentages and
headroom. It reads nothing: the names it needs come in as a :class:`Labels`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, overload

from riskmodels.engine import RULE_LABELS, CureAction, Finding, Report
from riskmodels.engine.arith import HOURS_QUANTUM, exact
from riskmodels.engine.exposure import NO_ISSUER
from riskmodels.engine.inputs import SELF_CUSTODY
from riskmodels.engine.rules import SHARE_RULES, Rule

if TYPE_CHECKING:
    from riskmodels.documents import (
        Accounting,
        ActionRow,
        AlertRow,
        ExposureReport,
        ExposureRow,
        LiabilityRow,
        LimitRow,
        Metrics,
        Sections,
        UnpricedRow,
    )
    from riskmodels.models import Alert

LEVEL_RANK = {"ok": 0, "warn": 1, "breach": 2}
SECONDS_PER_HOUR = Decimal(3600)
OK = "ok"


@dataclass(frozen=True, slots=True)
class Labels:
    """Names to show: counterparties by slug, locations by id (as the engine's subject text),
    and why each unpriced asset has no price. ``investor``: an investor sees custodians, never
    the fund's own location names."""

    counterparties: Mapping[str, str] = field(default_factory=dict)
    locations: Mapping[str, str] = field(default_factory=dict)
    location_custodians: Mapping[str, str | None] = field(default_factory=dict)
    unpriced_reasons: Mapping[str, str] = field(default_factory=dict)
    investor: bool = False

    def counterparty(self, slug: str | None) -> str:
        if slug is None or slug == SELF_CUSTODY:
            return "Self-custody"
        return self.counterparties.get(slug, slug)

    def location(self, location_id: object) -> str:
        key = str(location_id)
        if self.investor or key not in self.locations:
            return self.counterparty(self.location_custodians.get(key))
        return self.locations[key]


def _letters(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def display_name(slug: str, name: str, legal_name: str) -> str:
    """A counterparty as a person names it: "Kraken (Payward)" for the group whose slug is
    ``payward``; just the name when the slug already says it (``binance-group``: "Binance")."""
    if "(" in name or not legal_name:
        return name
    short, key = _letters(name), _letters(slug)
    if key.startswith(short) or short.startswith(key):
        return name
    owner = re.split(r"[\s,]", legal_name.strip(), maxsplit=1)[0]
    return name if _letters(owner) == short else f"{name} ({owner})"


def worst(levels: Iterable[str]) -> str:
    """The worst of some levels ("ok" for none)."""
    return max(levels, key=lambda level: LEVEL_RANK.get(level, 0), default=OK)


def group_status(group: str, entities: Iterable[str], findings: Iterable[tuple[str, str]]) -> str:
    """A group's status: the worst finding, over every rule, whose subject is the group or one
    of its entities (an insolvent entity's tiny exposure is a breach of the group's row)."""
    subjects = {group, *entities}
    return worst(level for subject, level in findings if subject in subjects)


def percent(text: str | Decimal | None) -> Decimal | None:
    """A share of NAV ("0.3") as a percentage (30), exactly; None stays None."""
    return None if text is None else Decimal(text) * 100


def subject_name(rule: str, subject: str, labels: Labels) -> str:
    """What a finding is about, in words."""
    if rule == Rule.HHI_THIRD_PARTY:
        return "Third parties together"
    if rule == Rule.EXCHANGE_CUSTODY:
        return "All exchanges together"
    if rule == Rule.ALGO_STABLECOINS:
        return "All algorithmic stablecoins"
    if rule == Rule.STALE_DATA:
        return labels.location(subject)
    if rule in (Rule.EXCHANGE_TOKEN, Rule.UNPRICED, Rule.UNCLASSIFIED):
        return subject
    if subject == NO_ISSUER:
        return "Stablecoins without a known issuer"
    return labels.counterparty(subject)


def _usd(amount: Decimal) -> str:
    return f"{amount:,.0f} USD"


def action_words(finding: Finding, cure: CureAction | None, name: str) -> str:
    """The action that would cure a finding, in words, with the split when there is one."""
    rule = finding.rule
    if cure is not None:
        return _split_words(cure, name)
    if rule == Rule.HHI_THIRD_PARTY:
        return "Spread third-party holdings over more counterparties, or move some to self-custody."
    if rule == Rule.STALE_DATA:
        return f"Sync {name} again, or enter its holdings by hand."
    if rule == Rule.UNPRICED:
        return f"Add a price for {name}: until then it counts as zero."
    if rule == Rule.UNCLASSIFIED:
        return f"Classify {name} (kind and issuer) in the asset registry."
    return f"Bring {name} back under its limit (recompute the report for the amounts)."


def _split_words(cure: CureAction, name: str) -> str:
    parts = []
    source = "off exchanges" if cure.rule == Rule.EXCHANGE_CUSTODY else f"from {name}"
    if cure.move:
        parts.append(f"Move {_usd(cure.move)} {source} to self-custody or another custodian")
    if cure.convert:
        parts.append(f"convert {_usd(cure.convert)} (sell or swap what {name} issued)")
    if cure.blocked:
        parts.append(f"{_usd(cure.blocked)} is blocked (withdrawals halted or insolvent): a claim")
    if not parts:
        return "Nothing to move: the value is at the limit."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


@overload
def decimal_text(value: Decimal) -> str: ...
@overload
def decimal_text(value: None) -> None: ...
@overload
def decimal_text(value: Decimal | None) -> str | None: ...
def decimal_text(value: Decimal | None) -> str | None:
    """Fixed-point text without trailing zeros, exactly the value (no rounding, no exponent)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_text = decimal_text


def action_rows(
    report: Report, labels: Labels, since: Mapping[tuple[str, str], datetime]
) -> list[ActionRow]:
    """Every finding at warn or breach, worst first: breaches, then the largest amount to cure.

    ``since``: when each (rule, subject)'s alert was opened, when one is known.
    """
    cures = {(a.rule, a.subject): a for a in report.actions}
    rows = []
    for f in report.findings:
        if f.level == OK:
            continue
        cure = cures.get((f.rule, f.subject))
        name = subject_name(f.rule, f.subject, labels)
        opened = since.get((f.rule, f.subject))
        rows.append((f, cure, name, opened))
    rows.sort(key=lambda r: (-LEVEL_RANK[r[0].level], -(r[1].amount if r[1] else 0), r[0].rule))
    return [_action_row(f, cure, name, opened) for f, cure, name, opened in rows]


def _action_row(
    f: Finding, cure: CureAction | None, name: str, opened: datetime | None
) -> ActionRow:
    return {
        "rule": f.rule,
        "rule_label": RULE_LABELS[Rule(f.rule)],
        "subject": f.subject,
        "name": name,
        "level": f.level,
        "unit": "share" if f.rule in SHARE_RULES else _unit(f.rule),
        "value": _text(f.value),
        "warn": _text(f.warn),
        "breach": _text(f.breach),
        "since": None if opened is None else opened.isoformat(),
        "amount": _text(cure.amount) if cure else None,
        "move": _text(cure.move) if cure else None,
        "convert": _text(cure.convert) if cure else None,
        "blocked": _text(cure.blocked) if cure else None,
        "action": action_words(f, cure, name),
    }


def _unit(rule: str) -> str:
    if rule == Rule.HHI_THIRD_PARTY:
        return "points"
    if rule == Rule.STALE_DATA:
        return "hours"
    return "holdings"


@exact
def accounting(report: Report, labels: Labels) -> Accounting:
    """Gross assets - liabilities (per bucket, as positive amounts) = NAV, exactly."""
    liabilities: list[LiabilityRow] = [
        {"bucket": b.bucket, "name": labels.counterparty(b.bucket), "value": _text(-b.debts)}
        for b in report.allocation
        if b.debts < 0
    ]
    return {
        "gross_assets": _text(report.gross_assets),
        "liabilities": liabilities,
        "liabilities_total": _text(-report.debts),
        "nav": _text(report.nav),
    }


def unpriced_rows(report: Report, labels: Labels) -> list[UnpricedRow]:
    """Every unpriced holding: amount, where, and why it has no price."""
    return [
        {
            "asset": h.asset,
            "amount": _text(h.amount),
            "product": h.product,
            "location": labels.location(h.location_id),
            "custodian": None if h.custodian is None else labels.counterparty(h.custodian),
            "reason": labels.unpriced_reasons.get(h.asset, "no price has been fetched"),
        }
        for h in report.unpriced
    ]


def exposure_rows(report: Report, labels: Labels) -> list[ExposureRow]:
    """One row per group: its limit, its status over every rule, and the split of its cure."""
    limits = {f.subject: f for f in report.findings_for(Rule.GROUP)}
    cures = {a.subject: a for a in report.actions if a.rule == Rule.GROUP}
    levels = [(f.subject, f.level) for f in report.findings]
    rows: list[ExposureRow] = []
    for e in report.exposures:
        finding, cure = limits.get(e.group), cures.get(e.group)
        rows.append(
            {
                "group": e.group,
                "name": labels.counterparty(e.group),
                "entities": list(e.entities),
                "tier": e.tier,
                "custody": _text(e.custody),
                "issuer": _text(e.issuer),
                "overlap": _text(e.overlap),
                "total": _text(e.total),
                "share": _text(e.share),
                "warn": _text(finding.warn) if finding else None,
                "breach": _text(finding.breach) if finding else None,
                "status": group_status(e.group, e.entities, levels),
                "move_to_comply": _text(cure.move) if cure and cure.move else None,
                "convert_to_comply": _text(cure.convert) if cure and cure.convert else None,
                "blocked": _text(cure.blocked) if cure and cure.blocked else None,
            }
        )
    return rows


@exact
def headroom(row: Mapping[str, Any], nav: Decimal) -> Decimal | None:
    """What may still be added before the breach level: breach × NAV − exposure (negative: over)."""
    if row["breach"] is None or row["total"] is None:
        return None
    return Decimal(row["breach"]) * nav - Decimal(row["total"])


def limit_rows(exposures: Sequence[ExposureRow], nav: Decimal) -> list[LimitRow]:
    """Exposure rows with their figures as percentages and their headroom, for the page."""
    return [
        {
            **row,
            "share_pct": percent(row["share"]),
            "warn_pct": percent(row["warn"]),
            "breach_pct": percent(row["breach"]),
            "headroom": headroom(row, nav),
        }
        for row in exposures
    ]


def with_percent(rows: Sequence[Mapping[str, Any]], key: str = "share") -> list[dict[str, Any]]:
    """Rows with ``<key>_pct``: their share of NAV as a percentage."""
    return [{**row, f"{key}_pct": percent(row[key])} for row in rows]


SUFFIXES = {"share": "%", "points": ""}


def _shown(text: str | None, unit: str) -> Decimal | None:
    if text is None:
        return None
    return percent(text) if unit == "share" else Decimal(text)


def action_view(rows: Sequence[ActionRow]) -> list[dict[str, Any]]:
    """Action rows for the page: value and the limit crossed in the rule's unit (shares as
    percentages, counts whole), and the time the alert was opened."""
    return [
        {
            **row,
            "value_shown": _shown(row["value"], row["unit"]),
            "limit_shown": _shown(
                row["breach"] if row["level"] == "breach" else row["warn"], row["unit"]
            ),
            "suffix": SUFFIXES.get(row["unit"], f" {row['unit']}"),
            "format": "0g" if row["unit"] == "holdings" else "2g",
            "since_at": None if row["since"] is None else datetime.fromisoformat(row["since"]),
        }
        for row in rows
    ]


def metrics(report: Report, labels: Labels) -> Metrics:
    """Concentration figures, the exchange custody share, and the largest exposure by name."""
    c = report.concentration
    largest = report.exposures[0] if report.exposures else None
    return {
        "hhi": decimal_text(c.hhi),
        "hhi_third_party": decimal_text(c.hhi_third_party),
        "effective_n": decimal_text(c.effective_n),
        "top1": decimal_text(c.top1_share),
        "top3": decimal_text(c.top3_share),
        "large_sum": decimal_text(c.large_exposure_total),
        "exchange_custody": decimal_text(report.exchange_custody.value),
        "exchange_custody_share": decimal_text(report.exchange_custody.share),
        "largest_group": None if largest is None else largest.group,
        "largest_name": None if largest is None else labels.counterparty(largest.group),
        "largest_share": None if largest is None else decimal_text(largest.share),
    }


def _hours(seconds: float) -> str | None:
    return decimal_text((Decimal(seconds) / SECONDS_PER_HOUR).quantize(HOURS_QUANTUM))


def alert_rows(
    report: Report, alerts: Mapping[tuple[str, str], Alert], labels: Labels
) -> list[AlertRow]:
    """Every finding at warn or breach, with its alert's state, age and cause when known."""
    rows: list[AlertRow] = []
    for finding in report.findings:
        if finding.level == OK:
            continue
        alert = alerts.get((finding.rule, finding.subject))
        over_for = None if alert is None else (report.as_of - alert.first_seen).total_seconds()
        rows.append(
            {
                "rule": finding.rule,
                "subject": finding.subject,
                "value": decimal_text(finding.value),
                "warn": decimal_text(finding.warn),
                "breach": decimal_text(finding.breach),
                "name": subject_name(finding.rule, finding.subject, labels),
                "level": finding.level,
                "amount": decimal_text(finding.amount),
                "state": None if alert is None else alert.state,
                "first_seen": None if alert is None else alert.first_seen.isoformat(),
                "over_limit_hours": None if over_for is None else _hours(max(over_for, 0)),
                "cause": None if alert is None else (alert.cause or None),
            }
        )
    return rows


def allocation_view(rows: Sequence[Mapping[str, Any]], labels: Labels) -> list[dict[str, Any]]:
    """Allocation buckets with their display names and shares as percentages."""
    return with_percent([{**row, "name": labels.counterparty(row["bucket"])} for row in rows])


def with_names(
    rows: Sequence[Mapping[str, Any]], labels: Labels, rule: str, key: str = "subject"
) -> list[dict[str, Any]]:
    """Rows whose ``key`` names a subject of ``rule``, with ``<key>_name``: it in words."""
    return [{**row, f"{key}_name": subject_name(rule, row[key], labels)} for row in rows]


def page_metrics(report: Report, document: ExposureReport) -> dict[str, object]:
    """The report's headline figures, with their percentages."""
    c = report.concentration
    return {
        **document["metrics"],
        "effective_n_third_party": c.effective_n_third_party,
        "top1_pct": percent(document["metrics"]["top1"]),
        "top3_pct": percent(document["metrics"]["top3"]),
        "large_pct": percent(decimal_text(c.large_exposure_share)),
        "large_groups": c.large_groups,
        "exchange_custody_pct": percent(document["metrics"]["exchange_custody_share"]),
        "largest_pct": percent(document["metrics"]["largest_share"]),
    }


def sections(parts: dict[str, Any], labels: Labels) -> Sections:
    """The report's lists (stress, wrong-way, stablecoins, earn, warnings) with percentages and
    the names of the counterparties they are about."""
    wrong_way = [
        {
            **h,
            "issuer_name": labels.counterparty(h["issuer"]),
            "custodian_name": labels.counterparty(h["custodian"]),
        }
        for h in parts["wrong_way"]
    ]
    return {
        "stress": with_percent(parts["scenarios"], "loss_share"),
        "wrong_way": wrong_way,
        "stablecoins": with_percent(
            with_names(parts["stablecoin_issuers"], labels, Rule.STABLECOIN_ISSUER)
        ),
        "algo_stablecoins": {**parts["algo_stablecoins"]},
        "algo_pct": percent(parts["algo_stablecoins"]["share"]),
        "exchange_tokens": with_percent(parts["exchange_tokens"]),
        "earn": with_percent(with_names(parts["earn"], labels, Rule.EARN_PER_GROUP)),
        "locked": with_names(parts.get("locked", []), labels, Rule.GROUP, key="group"),
        "stale": parts["stale"],
        "unpriced": parts["unpriced"],
        "unclassified": parts["unclassified"],
    }


def largest_exposure(summary: dict, names: Mapping[str, str]) -> dict | None:
    """The group with the largest look-through share, its group limit's levels, and its status
    over every rule."""
    rows = [e for e in summary["exposures"] if e.get("share") is not None]
    if not rows:
        return None
    top = max(rows, key=lambda e: Decimal(e["share"]))
    finding = next(
        (
            f
            for f in summary["findings"]
            if f["rule"] == Rule.GROUP and f["subject"] == top["group"]
        ),
        None,
    )
    warn, breach = (finding["warn"], finding["breach"]) if finding else (None, None)
    levels = [(f["subject"], f["level"]) for f in summary["findings"]]
    return {
        "group": top["group"],
        "name": names.get(top["group"], top["group"]),
        "share_pct": percent(top["share"]),
        "warn_pct": percent(warn),
        "breach_pct": percent(breach),
        "status": group_status(top["group"], top.get("entities", ()), levels),
    }
