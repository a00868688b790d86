from datetime import date

import pytest

from matching.encoders import BuiltinEncoder
from matching.geo import ProcurementTier
from matching.matcher import InMemoryLookup, Matcher, NeedSpec, OfferSpec, check_constraints, code_agreement
from matching.policy import ProcurementPolicy, strict_violations

search = pytest.importorskip("search")

TODAY = date(2026, 11, 1)
KHV = {"region": "27", "district": "FEFD", "lat": 48.48, "lon": 135.07}
VL = {"region": "25", "district": "FEFD", "lat": 43.12, "lon": 131.89}
NSK = {"region": "54", "district": "SFD", "lat": 55.03, "lon": 82.92}

OFFERS = [
    OfferSpec(id=1, title="Токарная обработка металлических деталей", description="Станки с ЧПУ, валы, втулки",
              okpd2=("25.62.10",), okved2=("25.62",), organization_id=11, capacity=500, unit="шт",
              lead_time_days=10, **NSK),
    OfferSpec(id=2, title="Токарные работы по металлу", description="Валы и втулки по чертежам",
              okved2=("25.62",), organization_id=12, capacity=200, unit="шт", lead_time_days=14, **VL),
    OfferSpec(id=3, title="Токарная обработка деталей из стали", description="Мелкие серии",
              okpd2=("25.62.10",), organization_id=13, capacity=100, unit="шт", lead_time_days=7, **KHV),
    OfferSpec(id=4, title="Выпечка хлеба", description="Хлеб пшеничный", okpd2=("10.71.11",),
              organization_id=14, **KHV),
    OfferSpec(id=5, title="Токарная обработка валов", okpd2=("25.62.10",), organization_id=15, capacity=10,
              unit="шт", **KHV),
    OfferSpec(id=6, title="Токарная обработка металла", okpd2=("25.62.10",), organization_id=16,
              country="KZ", capacity=1000, unit="шт"),
]
NEED = NeedSpec(id=100, title="Нужна токарная обработка валов из стали", description="Партия 50 шт",
                okpd2=("25.62.10",), quantity=50, unit="шт", deadline=date(2026, 12, 1), organization_id=99, **KHV)


def _doc(spec, encoder):
    return search.Document(id=spec.id, side=spec.side, kind=spec.kind, title=spec.title,
                           description=spec.description, okpd2=spec.okpd2, okved2=spec.okved2, region=spec.region,
                           district=spec.district, country=spec.country, organization_id=spec.organization_id,
                           quantity=spec.quantity, unit=spec.unit,
                           vector=encoder.encode_passages([spec.text])[0])


@pytest.fixture()
def matcher(tmp_path):
    corpus = [o.text for o in OFFERS] + [NEED.text, "Изделия металлические", "Продукты пищевые"]
    encoder = BuiltinEncoder(n_components=16).fit(corpus)
    backend = search.open_backend(str(tmp_path / "index"), dim=encoder.dim)
    backend.index([_doc(o, encoder) for o in OFFERS])
    yield Matcher(encoder, backend, ProcurementPolicy(threshold=0.2), InMemoryLookup([*OFFERS, NEED]), today=TODAY)
    backend.close()


def test_khabarovsk_sees_local_then_district_then_national(matcher):
    result = matcher.match_need(NEED)
    ids = [m.listing_id for m in result.matches]
    assert ids.index(3) < ids.index(2) < ids.index(1)
    assert strict_violations(result.matches) == 0
    assert result.active_tier is ProcurementTier.LOCAL and not result.chain_suggested
    assert 4 not in ids  # bread is not a match
    assert 5 not in ids  # capacity 10 < 50
    assert ids[-1] == 6  # Kazakhstan (EAEU) is acceptable but comes only after every Russian tier
    local = result.matches[ids.index(3)]
    assert local.tier is ProcurementTier.LOCAL and local.distance_km == 0.0
    assert {s.name for s in local.signals} == {"semantic", "codes", "distance"}
    assert all(c.held for c in local.constraints)
    assert local.explanation["tier"] == "local"


def test_chain_suggested_when_only_abroad(matcher):
    far_need = NeedSpec(id=101, title="Токарная обработка металла", okpd2=("25.62.10",), quantity=900, unit="шт",
                        **KHV)
    result = matcher.match_need(far_need)
    assert [m.listing_id for m in result.matches] == [6]
    assert result.chain_suggested and result.active_tier is ProcurementTier.EAEU


def test_code_agreement_links_okved_activity_to_okpd2_product():
    assert code_agreement(("25.62.10",), ("25.62.10",)) == 1.0
    assert code_agreement(("25.62.10",), ("25.62",)) == 0.7
    assert code_agreement(("25.62.10",), ("10.71.11",)) == 0.0


def test_constraints_explain_failures():
    late = OfferSpec(id=7, title="x", lead_time_days=60, certifications=frozenset({"ISO 9001"}))
    need = NeedSpec(id=8, title="y", deadline=date(2026, 11, 10), certifications=frozenset({"ISO 9001", "ГОСТ Р"}))
    checks = {c.name: c for c in check_constraints(need, late, today=TODAY)}
    assert checks["deadline"].held is False
    assert checks["certifications"].held is False and "гост р" in checks["certifications"].detail


@pytest.mark.parametrize(("need_codes", "offer_codes", "semantic", "discount", "relevant"), [
    ({"okved2": ("27.32",)}, {"okved2": ("27.32",)}, 0.2, 1.0, True),  # the same activity
    ({"okpd2": ("25.62.10",)}, {"okved2": ("25.62",)}, 0.2, 1.0, True),  # product ↔ activity, same subclass
    ({"okved2": ("27.32",)}, {"okved2": ("27.33",)}, 0.5, 1.0, False),  # cables vs wiring accessories
    ({"okved2": ("27.32",)}, {"okved2": ("27.33",)}, 0.7, 1.0, True),  # ... unless the texts are very close
    ({"okpd2": ("27.32.11",)}, {"okpd2": ("27.33.13",)}, 0.3, 0.8, True),  # codes read from a text: the class
    ({"okpd2": ("25.62.10",)}, {"okpd2": ("28.30.59",)}, 0.5, 0.8, False),  # another class altogether
])
def test_relevance_needs_chosen_codes_in_one_subclass(need_codes, offer_codes, semantic, discount, relevant):
    engine = Matcher(encoder=None, backend=None)
    need = NeedSpec(id=1, title="потребность", region="27", **need_codes)
    offer = OfferSpec(id=2, title="предложение", region="27", **offer_codes)
    match = engine.score_pair(need, offer, semantic=semantic, code_discount=discount)
    check = next(c for c in match.constraints if c.name == "relevance")
    assert check.held is relevant and match.constraints_hold is relevant
