from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.geo import ProcurementTier
from matching.policy import ProcurementPolicy, strict_violations


@dataclass(frozen=True)
class Cand:
    name: str
    score: float
    tier: ProcurementTier
    constraints_hold: bool = True


def test_strict_orders_by_tier_before_score():
    out = ProcurementPolicy().apply([Cand("nsk", 0.9, ProcurementTier.NATIONAL),
                                     Cand("vl", 0.8, ProcurementTier.DISTRICT),
                                     Cand("khv", 0.4, ProcurementTier.LOCAL)])
    assert [c.name for c in out.ranked] == ["khv", "vl", "nsk"]
    assert out.active_tier is ProcurementTier.LOCAL and not out.chain_suggested


def test_unacceptable_higher_tier_lets_lower_tier_lead():
    out = ProcurementPolicy(threshold=0.5).apply([Cand("khv-weak", 0.3, ProcurementTier.LOCAL),
                                                  Cand("khv-late", 0.9, ProcurementTier.LOCAL, False),
                                                  Cand("vl", 0.7, ProcurementTier.DISTRICT)])
    assert [c.name for c in out.ranked] == ["vl"]
    assert out.active_tier is ProcurementTier.DISTRICT


def test_only_active_tier_when_asked():
    out = ProcurementPolicy(show_lower_tiers=False).apply([Cand("a", 0.9, ProcurementTier.NATIONAL),
                                                           Cand("b", 0.4, ProcurementTier.DISTRICT)])
    assert [c.name for c in out.ranked] == ["b"]


def test_chain_suggested_before_leaving_russia():
    out = ProcurementPolicy().apply([Cand("kz", 0.9, ProcurementTier.EAEU)])
    assert out.chain_suggested and out.active_tier is ProcurementTier.EAEU
    assert ProcurementPolicy().apply([]).chain_suggested


def test_excluded_countries_only_when_allowed():
    cands = [Cand("x", 0.9, ProcurementTier.EXCLUDED)]
    assert ProcurementPolicy().apply(cands).ranked == ()
    assert len(ProcurementPolicy(allow_excluded=True).apply(cands).ranked) == 1


def test_weighted_mode_lowers_scores_by_tier():
    out = ProcurementPolicy(mode="weighted", tier_penalty=0.1, threshold=0.0).apply(
        [Cand("far", 0.75, ProcurementTier.NATIONAL), Cand("near", 0.6, ProcurementTier.LOCAL)])
    assert [c.name for c in out.ranked] == ["near", "far"]
    assert out.ranked[1].score == pytest.approx(0.55)


def test_bad_mode_is_rejected():
    with pytest.raises(ValueError):
        ProcurementPolicy(mode="loose")


candidates = st.lists(st.builds(Cand, st.text(max_size=3), st.floats(0, 1), st.sampled_from(list(ProcurementTier)),
                                st.booleans()), max_size=30)


@given(candidates, st.floats(0, 1), st.booleans())
def test_strict_never_shows_lower_tier_above_acceptable_higher(cands, threshold, allow_excluded):
    policy = ProcurementPolicy(threshold=threshold, allow_excluded=allow_excluded)
    out = policy.apply(cands)
    assert strict_violations(out.ranked) == 0
    assert all(policy.acceptable(c) for c in out.ranked)
    acceptable = [c for c in cands if policy.acceptable(c)]
    if acceptable:
        assert out.ranked[0].tier == min(c.tier for c in acceptable) == out.active_tier
    domestic = any(c.tier <= ProcurementTier.NATIONAL for c in acceptable)
    assert out.chain_suggested is (not domestic)
