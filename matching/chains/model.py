"""Plain frozen dataclasses the chain builder takes and returns."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from matching.geo import Place, ProcurementTier

__all__ = [
    "Assignment",
    "Chain",
    "ChainBuildResult",
    "InfeasibleReason",
    "Leg",
    "StageCandidate",
    "StageDecision",
    "TransportModel",
]


@dataclass(frozen=True)
class TransportModel:
    """How a leg between two sites is priced and timed.

    A leg of ``km`` kilometres (great-circle distance × ``detour_factor``) carrying ``t`` tonnes costs
    ``t × km × cost_per_tonne_km`` and takes ``handling_days + km / km_per_day`` days; two stages at the same
    coordinates (one site doing consecutive operations) have no leg: 0 km, 0 days, 0 cost.
    """

    cost_per_tonne_km: float = 5.0  # ₽ per tonne-km, a full-truck road rate
    km_per_day: float = 500.0
    handling_days: float = 1.0
    detour_factor: float = 1.0

    def __post_init__(self) -> None:
        for name in ("cost_per_tonne_km", "handling_days"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"TransportModel.{name} must be a non-negative number, got {value!r}")
        for name in ("km_per_day", "detour_factor"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"TransportModel.{name} must be positive, got {value!r}")

    def leg_days(self, km: float) -> float:
        return 0.0 if km <= 0 else self.handling_days + km / self.km_per_day

    def leg_cost(self, km: float, tonnes: float) -> float:
        return tonnes * km * self.cost_per_tonne_km


@dataclass(frozen=True)
class StageCandidate:
    """A listing the matcher proposes for one stage; ``acceptable`` is the matcher's verdict."""

    listing_id: str
    organization_id: str
    organization: str
    place: Place
    price_per_unit: float
    lead_time_days: float
    capacity_per_month: float | None = None
    certifications: tuple[str, ...] = ()
    score: float = 0.0
    acceptable: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StageCandidate:
        place = data["place"]
        if isinstance(place, Mapping):
            place = Place(country=place.get("country") or "RU", region=place.get("region"),
                          district=place.get("district"), lat=place.get("lat"), lon=place.get("lon"))
        return cls(
            listing_id=str(data["listing_id"]),
            organization_id=str(data["organization_id"]),
            organization=str(data.get("organization") or data["organization_id"]),
            place=place,
            price_per_unit=float(data["price_per_unit"]),
            lead_time_days=float(data["lead_time_days"]),
            capacity_per_month=None if data.get("capacity_per_month") is None else float(data["capacity_per_month"]),
            certifications=tuple(data.get("certifications") or ()),
            score=float(data.get("score") or 0.0),
            acceptable=bool(data.get("acceptable", True)),
        )

    def to_dict(self) -> dict[str, Any]:
        p = self.place
        return {
            "listing_id": self.listing_id,
            "organization_id": self.organization_id,
            "organization": self.organization,
            "place": {"country": p.country, "region": p.region, "district": p.district, "lat": p.lat, "lon": p.lon},
            "price_per_unit": self.price_per_unit,
            "lead_time_days": self.lead_time_days,
            "capacity_per_month": self.capacity_per_month,
            "certifications": list(self.certifications),
            "score": self.score,
            "acceptable": self.acceptable,
        }


@dataclass(frozen=True)
class Assignment:
    """One stage given to one supplier, with its place in the schedule (days from the order)."""

    stage: str
    listing_id: str
    organization_id: str
    organization: str
    region: str | None
    tier: ProcurementTier
    price_per_unit: float
    production_cost: float
    lead_time_days: float
    start_day: float
    finish_day: float
    candidate: StageCandidate = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "listing_id": self.listing_id,
            "organization": self.organization,
            "organization_id": self.organization_id,
            "region": self.region,
            "tier": self.tier.label,
            "price_per_unit": self.price_per_unit,
            "production_cost": round(self.production_cost, 2),
            "lead_time_days": self.lead_time_days,
            "start_day": round(self.start_day, 2),
            "finish_day": round(self.finish_day, 2),
        }


@dataclass(frozen=True)
class Leg:
    """Transport of the lot from one stage to the next one, or to the buyer (``to_stage == "delivery"``)."""

    from_stage: str
    to_stage: str
    km: float
    days: float
    cost: float

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_stage, "to": self.to_stage, "km": round(self.km, 1), "days": round(self.days, 2),
                "cost": round(self.cost, 2)}


@dataclass(frozen=True)
class Chain:
    """A complete cooperation chain: who does each stage, the legs between them, what it costs and takes.

    ``localization`` is the share of production value by tier label, e.g. ``(("local", 0.6), ("district", 0.4))``;
    ``violations`` is empty for chains the builder returns and names the broken constraints
    (``"deadline"``, ``"capacity"``, …) for a chain a coordinator edited with :func:`recompute`.
    """

    total_cost: float
    production_cost: float
    transport_cost: float
    lead_time_days: float
    distance_km: float
    localization: tuple[tuple[str, float], ...]
    assignments: tuple[Assignment, ...]
    legs: tuple[Leg, ...]
    explanations: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    rank: int = 0

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def suppliers(self) -> tuple[str, ...]:
        """Organization ids in stage order: two chains are different alternatives when these differ."""
        return tuple(a.organization_id for a in self.assignments)

    def assignment(self, stage_id: str) -> Assignment:
        for a in self.assignments:
            if a.stage == stage_id:
                return a
        raise KeyError(stage_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "total_cost": round(self.total_cost, 2),
            "production_cost": round(self.production_cost, 2),
            "transport_cost": round(self.transport_cost, 2),
            "lead_time_days": round(self.lead_time_days, 2),
            "distance_km": round(self.distance_km, 1),
            "localization": {label: round(share, 4) for label, share in self.localization},
            "assignments": [a.to_dict() for a in self.assignments],
            "legs": [leg.to_dict() for leg in self.legs],
            "explanations": list(self.explanations),
            "violations": list(self.violations),
            "feasible": self.feasible,
        }


@dataclass(frozen=True)
class StageDecision:
    """Which tier a stage was allowed and why it left the region or the district.

    ``rejected`` counts candidates of nearer tiers by reason: ``(("local", "capacity", 2), ...)``.
    """

    stage: str
    allowed_tier: ProcurementTier | None
    considered: int
    kept: int
    rejected: tuple[tuple[str, str, int], ...] = ()
    explanation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "allowed_tier": self.allowed_tier.label if self.allowed_tier else None,
            "considered": self.considered,
            "kept": self.kept,
            "rejected": [{"tier": t, "reason": r, "count": n} for t, r, n in self.rejected],
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class InfeasibleReason:
    """Why no chain exists: ``constraint`` is ``candidates``, ``capacity``, ``deadline`` or ``search_limit``."""

    constraint: str
    message: str
    stage: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"constraint": self.constraint, "stage": self.stage, "message": self.message}


@dataclass(frozen=True)
class ChainBuildResult:
    """The best chain first, then the alternatives; empty ``chains`` come with ``infeasible_reasons``.

    ``exact`` is False only when the search stopped at ``max_expansions`` before proving the ranking.
    """

    chains: tuple[Chain, ...]
    infeasible_reasons: tuple[InfeasibleReason, ...] = ()
    decisions: tuple[StageDecision, ...] = ()
    exact: bool = True
    expansions: int = 0

    @property
    def best(self) -> Chain | None:
        return self.chains[0] if self.chains else None

    def __bool__(self) -> bool:
        return bool(self.chains)

    def to_dict(self) -> dict[str, Any]:
        return {
            "chains": [c.to_dict() for c in self.chains],
            "infeasible_reasons": [r.to_dict() for r in self.infeasible_reasons],
            "decisions": [d.to_dict() for d in self.decisions],
            "exact": self.exact,
        }
