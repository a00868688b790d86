"""The procurement policy as data: which tiers a buyer sees, in what order, and when to suggest a chain.

Strict mode (the charter): matches are ordered by tier first, so a supplier from a lower tier never appears above
an acceptable one from a higher tier; ``active_tier`` is the best tier that has an acceptable match, and with
``show_lower_tiers=False`` only that tier is shown. Weighted mode: each tier step lowers the score by
``tier_penalty`` and the list is ordered by the adjusted score. Either way, when no domestic (local, district,
national) match is acceptable, the result says a domestic cooperation chain should be tried before going abroad.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from matching.geo import ProcurementTier

MODES = ("strict", "weighted")


class Ranked(Protocol):
    """What the policy needs from a candidate."""

    @property
    def score(self) -> float: ...
    @property
    def tier(self) -> ProcurementTier: ...
    @property
    def constraints_hold(self) -> bool: ...


T = TypeVar("T", bound=Ranked)


@dataclass(frozen=True)
class PolicyOutcome:
    """Candidates in the order to show them, with the tier reached and whether to suggest a chain."""

    ranked: tuple  # tuple[T, ...] with their (possibly adjusted) scores
    active_tier: ProcurementTier | None
    chain_suggested: bool


@dataclass(frozen=True)
class ProcurementPolicy:
    """How tiers shape a result.

    Parameters
    ----------
    mode : "strict" or "weighted".
    allow_excluded : keep suppliers from countries on the 430-р list (tier EXCLUDED).
    threshold : the least score of an acceptable match (constraints must hold too).
    tier_penalty : in weighted mode, subtracted from the score per tier below LOCAL.
    show_lower_tiers : in strict mode, also list acceptable matches of tiers below the active one (after it).
    """

    mode: str = "strict"
    allow_excluded: bool = False
    threshold: float = 0.25
    tier_penalty: float = 0.05
    show_lower_tiers: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.threshold < 0 or self.tier_penalty < 0:
            raise ValueError("threshold and tier_penalty must not be negative")

    def adjusted_score(self, score: float, tier: ProcurementTier) -> float:
        """The score after the tier penalty (weighted mode) or unchanged (strict mode)."""
        if self.mode == "weighted":
            return score - self.tier_penalty * (int(tier) - 1)
        return score

    def acceptable(self, candidate: Ranked) -> bool:
        """Constraints hold, the tier is allowed and the (adjusted) score reaches the threshold."""
        if candidate.tier is ProcurementTier.EXCLUDED and not self.allow_excluded:
            return False
        return bool(candidate.constraints_hold) and \
            self.adjusted_score(candidate.score, candidate.tier) >= self.threshold

    def apply(self, candidates: Iterable[T]) -> PolicyOutcome:
        """Keep the acceptable candidates and order them by the policy.

        Candidates that are dataclasses with a ``score`` field get their adjusted score in weighted mode.
        """
        kept = [c for c in candidates if self.acceptable(c)]
        domestic = any(c.tier <= ProcurementTier.NATIONAL for c in kept)
        active = min((c.tier for c in kept), default=None)
        if self.mode == "strict":
            if not self.show_lower_tiers and active is not None:
                kept = [c for c in kept if c.tier == active]
            kept.sort(key=lambda c: (int(c.tier), -c.score))
        else:
            adjusted = []
            for c in kept:
                new = self.adjusted_score(c.score, c.tier)
                try:
                    adjusted.append(replace(c, score=new))  # type: ignore[type-var]
                except TypeError:
                    adjusted.append(c)
            kept = sorted(adjusted, key=lambda c: (-c.score, int(c.tier)))
        return PolicyOutcome(tuple(kept), active, not domestic)


def strict_violations(ranked: Iterable[Ranked]) -> int:
    """How many times a lower tier appears before a higher one: zero for any strict result."""
    violations, worst = 0, 0
    for c in ranked:
        if int(c.tier) < worst:
            violations += 1
        worst = max(worst, int(c.tier))
    return violations
