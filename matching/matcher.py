"""Match needs to offers (and offers to needs): candidates from the search index, scored and explained.

Candidates come from a hybrid search (the listing's text and vector) and from code searches (the same ОКПД2
subclass, and ОКВЭД2 activities sharing the first levels with the ОКПД2 product: ОКВЭД2 25.62 ↔ ОКПД2 25.62).
Each is scored by semantic similarity, code agreement and distance, checked against the constraints (quantity vs
capacity or stock, deadline vs lead time, certifications), placed in a procurement tier and ordered by the
:class:`~matching.policy.ProcurementPolicy`. Every :class:`Match` carries its explanation.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from matching.geo import CountryLists, Place, ProcurementTier, distance_km, procurement_tier
from matching.policy import ProcurementPolicy
from matching.text import ru_number

if TYPE_CHECKING:  # pragma: no cover
    from matching.acceptability import AcceptabilityRule
    from matching.classify import CodeReading
    from matching.encoders import Encoder
    from search import SearchBackend

OFFER_KINDS = ("capability", "product", "surplus", "equipment_rent")
NEED_KINDS = ("tender_lot", "missing_operation", "purchase_request")


@dataclass(frozen=True)
class ListingSpec:
    """A listing as the engine sees it: plain data the marketplace fills from its database."""

    id: int
    side: str
    kind: str
    title: str
    description: str = ""
    external_id: str | None = None
    okpd2: tuple[str, ...] = ()
    okved2: tuple[str, ...] = ()
    region: str | None = None
    district: str | None = None
    country: str = "RU"
    lat: float | None = None
    lon: float | None = None
    organization_id: int = 0
    organization_name: str = ""
    quantity: float | None = None  # a need: how much is wanted; surplus/product: how much is in stock
    unit: str | None = None
    capacity: float | None = None  # an offer: how much it can make per order
    lead_time_days: int | None = None
    deadline: date | None = None
    certifications: frozenset[str] = frozenset()
    status: str = "active"
    operations: tuple[str, ...] = ()  # catalogue operation ids (matching.operations), the main one first
    parameters: Mapping[str, Any] = field(default_factory=dict)  # matching.parameters keys: what it can do / needs
    # The acceptability rule's reading of this listing as stored beside it (``AcceptabilityRule.stored``), used when
    # its key still matches the listing and the rule; None: read from the text.
    reading: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "okpd2", tuple(self.okpd2))
        object.__setattr__(self, "okved2", tuple(self.okved2))
        object.__setattr__(self, "operations", tuple(self.operations))
        object.__setattr__(self, "certifications", frozenset(c.strip().lower() for c in self.certifications))

    @property
    def text(self) -> str:
        return f"{self.title}. {self.description}".strip(". ")

    @property
    def place(self) -> Place:
        return Place(country=self.country or "RU", region=self.region, district=self.district, lat=self.lat,
                     lon=self.lon)


@dataclass(frozen=True)
class NeedSpec(ListingSpec):
    side: str = "need"
    kind: str = "purchase_request"
    title: str = ""


@dataclass(frozen=True)
class OfferSpec(ListingSpec):
    side: str = "offer"
    kind: str = "capability"
    title: str = ""


class CodeSuggester(Protocol):
    """What the matcher needs of a classifier (``matching.classify.CodeClassifier``): ranked codes for a text."""

    def predict(self, text: str, top: int = 10) -> Sequence[Any]: ...


@dataclass(frozen=True)
class _TopCodes:
    """The reading of a classifier that only ranks codes: its top codes, no likelihood of the others."""

    codes: tuple[str, ...]

    def likelihood(self, codes: Iterable[str]) -> float:
        return 0.0


class ListingLookup(Protocol):
    """Where the matcher reads candidate details (the marketplace implements it over the database)."""

    def get_many(self, ids: Iterable[int]) -> Mapping[int, ListingSpec]: ...


class InMemoryLookup:
    """A :class:`ListingLookup` over a dict, for tests and batch jobs."""

    def __init__(self, listings: Iterable[ListingSpec] = ()):
        self.listings = {item.id: item for item in listings}

    def add(self, listing: ListingSpec) -> None:
        self.listings[listing.id] = listing

    def get_many(self, ids: Iterable[int]) -> dict[int, ListingSpec]:
        return {i: self.listings[i] for i in ids if i in self.listings}


@dataclass(frozen=True)
class Signal:
    """One part of a score: its value in [0, 1] and its weight."""

    name: str
    value: float
    weight: float


@dataclass(frozen=True)
class ConstraintCheck:
    """A constraint and whether it held (None: not checkable, e.g. the amount is unknown)."""

    name: str
    held: bool | None
    detail: str = ""


@dataclass(frozen=True)
class Match:
    """One candidate for a listing, with why it is here."""

    listing_id: int
    score: float
    tier: ProcurementTier
    distance_km: float | None
    signals: tuple[Signal, ...]
    constraints: tuple[ConstraintCheck, ...]
    organization_id: int = 0

    @property
    def constraints_hold(self) -> bool:
        return all(c.held is not False for c in self.constraints)

    @property
    def reasons(self) -> list[str]:
        """Why it fits, then where it is, in words: «та же операция — токарная обработка; 271 км; …»."""
        out = [c.detail for c in self.constraints if c.held is True and c.detail]
        if self.distance_km is not None:
            out.append(f"{self.distance_km:,.0f} км".replace(",", "\u00a0"))
        return out

    @property
    def problems(self) -> list[str]:
        """Why it does not fit (the failed checks), in words."""
        return [c.detail or c.name for c in self.constraints if c.held is False]

    @property
    def explanation(self) -> dict:
        """JSON-able explanation for pages and the API."""
        return {
            "summary": "; ".join(self.problems or self.reasons), "reasons": self.reasons,
            "problems": self.problems,
            "tier": self.tier.label, "tier_title": self.tier.title_ru, "distance_km": self.distance_km,
            "score": round(self.score, 4),
            "signals": [{"name": s.name, "value": round(s.value, 4), "weight": s.weight} for s in self.signals],
            "constraints": [{"name": c.name, "held": c.held, "detail": c.detail} for c in self.constraints],
        }


@dataclass(frozen=True)
class MatchResult:
    """Ordered matches for one listing, the tier reached and whether to try a domestic cooperation chain."""

    listing_id: int
    matches: tuple[Match, ...]
    active_tier: ProcurementTier | None
    chain_suggested: bool
    candidates_considered: int = 0
    inferred_codes: tuple[str, ...] = ()  # ОКПД2 codes the classifier read from a listing that named none


@dataclass(frozen=True)
class ScoringWeights:
    """Weights of the score parts; they are normalised to sum to one."""

    semantic: float = 0.6
    codes: float = 0.3
    distance: float = 0.1
    distance_scale_km: float = 1000.0
    # When both sides carry codes, the pair is relevant only if the codes agree at least this much (0.7: the same
    # subclass, ``27.32``; codes the classifier read from a text need only share the class, 0.2) or the texts are
    # very close (for inferred codes the semantic signal with its lexical part): a hemp harvester next door is no answer to a need for turning, nor a maker of wiring accessories
    # (27.33) to a need for power cables (27.32).
    relevance_agreement: float = 0.7
    relevance_agreement_inferred: float = 0.2
    relevance_semantic: float = 0.65
    # Share of the semantic signal given to the lexical evidence: the candidate's BM25 score over the best BM25
    # score among the listing's candidates (words the two texts share, Russian stems), next to the cosine of the
    # vectors. The relevance test above stays on the cosine alone.
    lexical: float = 0.4
    # With inferred codes, the other side's own code counts as agreement when the text fits it at least this well
    # (:class:`~matching.classify.CodeReading`: 1 = as well as the best code, 0 = ``margin`` below it).
    relevance_likelihood: float = 0.5


def code_agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """How close two sets of codes are in the shared ОКПД2/ОКВЭД2 hierarchy, in [0, 1].

    Same code 1.0, same subcategory (8 characters) 0.9, same subclass (``25.62``) 0.7, class group (``25.6``) 0.4,
    class (``25``) 0.2, otherwise 0.
    """
    best = 0.0
    for x in a:
        for y in b:
            if x == y:
                return 1.0
            for length, value in ((8, 0.9), (5, 0.7), (4, 0.4), (2, 0.2)):
                if len(x) >= length and len(y) >= length and x[:length] == y[:length]:
                    best = max(best, value)
                    break
    return best


def check_constraints(need: ListingSpec, offer: ListingSpec, *, today: date | None = None) -> tuple[ConstraintCheck, ...]:
    """Quantity vs capacity or stock, deadline vs lead time, required certifications."""
    checks = []
    amount = offer.capacity if offer.capacity is not None else offer.quantity
    if need.quantity is not None and amount is not None:
        same_unit = not need.unit or not offer.unit or need.unit.strip().lower() == offer.unit.strip().lower()
        if same_unit:
            checks.append(ConstraintCheck("quantity", amount >= need.quantity,
                                          f"нужно {ru_number(need.quantity)}, доступно {ru_number(amount)} {offer.unit or ''}".strip()))
        else:
            checks.append(ConstraintCheck("quantity", None, f"единицы не совпадают: {need.unit} / {offer.unit}"))
    if need.deadline is not None and offer.lead_time_days is not None:
        ready = (today or date.today()) + timedelta(days=int(offer.lead_time_days))
        checks.append(ConstraintCheck("deadline", ready <= need.deadline,
                                      f"готово к {ready:%d.%m.%Y}, срок {need.deadline:%d.%m.%Y}"))
    if need.certifications:
        missing = sorted(need.certifications - offer.certifications)
        checks.append(ConstraintCheck("certifications", not missing,
                                      "нет: " + ", ".join(missing) if missing else "все есть"))
    return tuple(checks)


class Matcher:
    """Find, score, explain and order counterparts for a listing.

    ``encoder`` must be the one whose vectors the ``backend`` holds (same ``dim``).
    """

    def __init__(self, encoder: Encoder, backend: SearchBackend, policy: ProcurementPolicy | None = None,
                 lookup: ListingLookup | None = None, *, weights: ScoringWeights | None = None,
                 countries: CountryLists | None = None, candidates: int = 100, today: date | None = None,
                 classifier: CodeSuggester | None = None, infer_top: int = 3, inferred_discount: float = 0.8,
                 rule: AcceptabilityRule | None = None):
        self.rule = rule  # None: the codes-only relevance of before (kept to measure against)
        self.classifier = classifier
        self.infer_top = infer_top
        self.inferred_discount = inferred_discount
        self.encoder = encoder
        self.backend = backend
        self.policy = policy or ProcurementPolicy()
        self.lookup = lookup
        self.weights = weights or ScoringWeights()
        self.countries = countries or CountryLists()
        self.candidates = candidates
        self.today = today

    def match_need(self, need: ListingSpec, top: int = 10) -> MatchResult:
        """Offers for a need, ordered by the policy."""
        return self._match(need, "offer", top)

    def match_offer(self, offer: ListingSpec, top: int = 10) -> MatchResult:
        """Needs an offer could serve; the tier is the offer's place relative to each need's delivery place."""
        return self._match(offer, "need", top)

    # -- internals -----------------------------------------------------------------------------------------
    def _candidate_ids(self, listing: ListingSpec, side: str, vector: np.ndarray,
                       lexical: dict[int, float] | None = None) -> dict[int, float | None]:
        """Candidate ids with their cosine (None: not scored by vector); BM25 scores go to ``lexical``."""
        from search import Filters, Query

        exclude_orgs = (listing.organization_id,) if listing.organization_id else ()
        base = {"side": side, "statuses": ("active",), "exclude_ids": (listing.id,),
                "exclude_organization_ids": exclude_orgs}
        found: dict[int, float | None] = {}
        result = self.backend.search(Query(text=listing.text or None, vector=vector, filters=Filters(**base),
                                           k=self.candidates, count=False, fields=False))
        for hit in result.hits:
            found[hit.id] = hit.vector_score
            if lexical is not None and hit.text_score:
                lexical[hit.id] = float(hit.text_score)
        subclasses = tuple({c[:5] for c in (*listing.okpd2, *listing.okved2) if len(c) >= 5})
        if subclasses:
            for codes in ({"okpd2": subclasses}, {"okved2": subclasses}):
                result = self.backend.search(Query(vector=vector, filters=Filters(**base, **codes),
                                                   k=self.candidates // 2, count=False, fields=False))
                for hit in result.hits:
                    found.setdefault(hit.id, hit.vector_score)
        return found

    def infer_codes(self, listing: ListingSpec) -> tuple[str, ...]:
        """ОКПД2 codes for a listing that names no code, read from its text by the classifier (or none)."""
        reading = self.read_codes(listing)
        return () if reading is None else tuple(reading.codes)

    def read_codes(self, listing: ListingSpec) -> CodeReading | None:
        """The classifier's reading of a listing that names no code: its top codes and, where the classifier can
        tell (``read``), how likely each other code is for the text; ``None`` when nothing is inferred."""
        if self.classifier is None or listing.okpd2 or listing.okved2 or not listing.text.strip():
            return None
        read = getattr(self.classifier, "read", None)
        if read is not None:
            return read(listing.text, top=self.infer_top)
        return _TopCodes(tuple(s.code for s in self.classifier.predict(listing.text, top=self.infer_top)))

    def _match(self, listing: ListingSpec, side: str, top: int) -> MatchResult:
        reading = self.read_codes(listing)
        inferred = () if reading is None else tuple(reading.codes)
        if inferred:
            listing = replace(listing, okpd2=inferred)
        vector = self.encoder.encode_queries([listing.text])[0]
        bm25: dict[int, float] = {}
        found = self._candidate_ids(listing, side, vector, bm25)
        best = max(bm25.values(), default=0.0)
        details = self._details(found)
        missing = [i for i in details if found.get(i) is None]
        if missing:
            vectors = self.encoder.encode_passages([details[i].text for i in missing])
            for i, v in zip(missing, vectors, strict=True):
                found[i] = float(v @ vector)
        scored = [self.score_pair(listing, other, semantic=float(found[i] or 0.0),
                                  lexical=bm25.get(i, 0.0) / best if best > 0 else None,
                                  code_discount=self.inferred_discount if inferred else 1.0,
                                  likelihood=reading.likelihood if inferred else None)
                  for i, other in details.items()]
        outcome = self.policy.apply(scored)
        return MatchResult(listing.id, tuple(outcome.ranked[:top]), outcome.active_tier, outcome.chain_suggested,
                           len(scored), inferred)

    def _details(self, found: Mapping[int, float | None]) -> dict[int, ListingSpec]:
        if self.lookup is not None:
            return dict(self.lookup.get_many(found))
        out = {}
        for i in found:
            doc = self.backend.get(i)
            if doc is not None:
                out[i] = ListingSpec(id=doc.id, side=doc.side, kind=doc.kind, title=doc.title,
                                     description=doc.description, okpd2=doc.okpd2, okved2=doc.okved2,
                                     region=doc.region, district=doc.district, country=doc.country,
                                     organization_id=doc.organization_id, quantity=doc.quantity, unit=doc.unit,
                                     status=doc.status)
        return out

    def score_pair(self, listing: ListingSpec, other: ListingSpec, *, semantic: float,
                   code_discount: float = 1.0, lexical: float | None = None,
                   likelihood: Callable[[Sequence[str]], float] | None = None) -> Match:
        """Score ``other`` for ``listing`` (either side) and explain it; ``code_discount`` scales the code agreement
        when the listing's codes were inferred from its text rather than chosen by a person. ``semantic`` is the
        cosine of the vectors; ``lexical`` (in [0, 1], None: no lexical evidence) joins it in the semantic signal
        with the weight ``weights.lexical``. ``likelihood`` (with inferred codes: how well the listing's text fits
        a code, :class:`~matching.classify.CodeReading`) weighs ``other``'s own codes directly, so a code outside
        the classifier's top three still counts when the text fits it almost as well."""
        need, offer = (listing, other) if listing.side == "need" else (other, listing)
        w = self.weights
        total = w.semantic + w.codes + w.distance
        same_scheme = max(code_agreement(need.okpd2, offer.okpd2), code_agreement(need.okved2, offer.okved2))
        across = max(code_agreement(need.okpd2, offer.okved2), code_agreement(need.okved2, offer.okpd2))
        codes = code_discount * max(same_scheme, 0.9 * across)
        fits = likelihood(other.okpd2) if likelihood is not None and other.okpd2 else 0.0
        codes = max(codes, code_discount * fits)
        agreement = self.rule.checks(need, offer) if self.rule is not None else []
        if agreement and agreement[0].held is True:  # the same operation or product: finer than any shared code
            codes = 1.0
        km = distance_km(offer.place, need.place)
        near = 1.0 / (1.0 + km / w.distance_scale_km) if km is not None else 0.5
        semantic = max(0.0, min(1.0, semantic))
        fused = semantic if lexical is None else (1 - w.lexical) * semantic + w.lexical * max(0.0, min(1.0, lexical))
        signals = (Signal("semantic", fused, w.semantic / total), Signal("codes", codes, w.codes / total),
                   Signal("distance", near, w.distance / total))
        score = sum(s.value * s.weight for s in signals)
        tier = procurement_tier(offer.place, need.place, self.countries)
        checks = check_constraints(need, offer, today=self.today)
        if agreement:
            checks = (*agreement, *checks)
        elif (need.okpd2 or need.okved2) and (offer.okpd2 or offer.okved2):
            level = max(same_scheme, across)
            wanted = w.relevance_agreement if code_discount == 1.0 else w.relevance_agreement_inferred
            if level >= wanted:
                relevant, detail = True, "коды одного подкласса" if level >= 0.7 else "коды одного класса"
            elif fits >= w.relevance_likelihood:
                relevant, detail = True, "текст подходит к коду предложения"
            else:
                # Codes read from a text are a guess: there the words the texts share count as closeness too.
                close = semantic if code_discount == 1.0 else max(semantic, fused)
                relevant = close >= w.relevance_semantic
                detail = "коды расходятся, но тексты очень близки" if relevant else "коды расходятся"
            checks = (ConstraintCheck("relevance", relevant, detail), *checks)
        return Match(other.id, float(score), tier, None if km is None else round(km, 1), signals, checks,
                     other.organization_id)
