"""Every limit rule, named once: the engine's findings, the policy's keys and the database's
choices (``riskmodels.models``) are all built from :class:`Rule`."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Rule(StrEnum):
    """A rule's value is the name stored in limits, findings, alerts and the JSON report."""

    GROUP = "group"
    EXCHANGE_CUSTODY = "exchange_custody"
    EARN_PER_GROUP = "earn_per_group"
    HHI_THIRD_PARTY = "hhi_third_party"
    STABLECOIN_ISSUER = "stablecoin_issuer"
    ALGO_STABLECOINS = "algo_stablecoins"
    EXCHANGE_TOKEN = "exchange_token"  # noqa: S105 (a rule name, not a credential)
    WRONG_WAY = "wrong_way"
    DISTRESSED = "distressed_counterparty"
    STALE_DATA = "stale_data"
    UNPRICED = "unpriced_asset"
    UNCLASSIFIED = "unclassified_asset"


# What an admin reads beside each rule; a rule without a label fails at import.
RULE_LABELS: Mapping[Rule, str] = MappingProxyType(
    {
        Rule.GROUP: "One counterparty group (look-through)",
        Rule.EXCHANGE_CUSTODY: "All exchange custody together",
        Rule.EARN_PER_GROUP: "Earn / lending at one group",
        Rule.HHI_THIRD_PARTY: "Third-party HHI",
        Rule.STABLECOIN_ISSUER: "One stablecoin issuer",
        Rule.ALGO_STABLECOINS: "Algorithmic stablecoins together",
        Rule.EXCHANGE_TOKEN: "Any one exchange token",
        Rule.WRONG_WAY: "Own token held at its own exchange",
        Rule.DISTRESSED: "Counterparty halted or insolvent",
        Rule.STALE_DATA: "Holdings data older than (hours)",
        Rule.UNPRICED: "Unpriced asset",
        Rule.UNCLASSIFIED: "Unclassified asset",
    }
)
if set(RULE_LABELS) != set(Rule):
    raise RuntimeError(f"rules without a label: {sorted(set(Rule) - set(RULE_LABELS))}")

# Rules measured as shares of NAV (fractions 0..1); the others are HHI points, hours or counts.
SHARE_RULES: frozenset[Rule] = frozenset(
    {
        Rule.GROUP,
        Rule.EXCHANGE_CUSTODY,
        Rule.EARN_PER_GROUP,
        Rule.STABLECOIN_ISSUER,
        Rule.ALGO_STABLECOINS,
        Rule.EXCHANGE_TOKEN,
        Rule.WRONG_WAY,
        Rule.DISTRESSED,
    }
)
# Rules whose subjects are counterparties, so that a limit may be scoped to a tier or one of them.
SCOPED_RULES: frozenset[Rule] = frozenset(
    {Rule.GROUP, Rule.EARN_PER_GROUP, Rule.STABLECOIN_ISSUER, Rule.WRONG_WAY, Rule.DISTRESSED}
)
