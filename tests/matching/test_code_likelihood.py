"""A need that names no code: the classifier's reading weighs the offer's own code, not only its top three."""
import numpy as np
import pytest

from matching.classify import CodeClassifier, CodeEntry, CodeReading
from matching.encoders import BuiltinEncoder
from matching.matcher import InMemoryLookup, Matcher, NeedSpec, OfferSpec
from matching.policy import ProcurementPolicy

search = pytest.importorskip("search")

ENTRIES = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("10", "Продукты пищевые", "C"),
    CodeEntry("10.71", "Хлеб и хлебобулочные изделия", "10"),
    CodeEntry("10.71.11", "Хлеб и хлебобулочные изделия недлительного хранения", "10.71"),
    CodeEntry("30", "Средства транспортные и оборудование, прочие", "C"),
    CodeEntry("30.11", "Корабли, суда и плавучие конструкции", "30"),
    CodeEntry("30.11.10", "Постройка судов и плавучих конструкций", "30.11"),
    CodeEntry("33", "Услуги по ремонту и монтажу машин и оборудования", "C"),
    CodeEntry("33.15", "Услуги по ремонту и техническому обслуживанию судов и лодок", "33"),
    CodeEntry("33.15.10", "Услуги по ремонту судов и лодок", "33.15"),
]
KHV = {"region": "27", "district": "FEFD", "lat": 48.48, "lon": 135.07}


def test_likelihood_is_one_at_the_best_code_and_falls_to_zero_at_the_margin():
    reading = CodeReading(("a",), np.array([1.0, 0.8, 0.5], dtype=np.float32), {"a": 0, "b": 1, "c": 2}, 0.4)
    assert reading.likelihood(["a"]) == 1.0
    assert reading.likelihood(["b"]) == pytest.approx(0.5)
    assert reading.likelihood(["c"]) == 0.0  # 0.5 below the best: past the margin
    assert reading.likelihood(["c", "b"]) == pytest.approx(0.5)  # the best of the codes given
    assert reading.likelihood(["zz"]) == 0.0 and reading.likelihood([]) == 0.0


def test_read_gives_the_top_codes_of_predict_in_one_pass():
    clf = CodeClassifier().fit(ENTRIES)
    text = "ремонт судов"
    reading = clf.read(text, top=3)
    assert reading.codes == tuple(s.code for s in clf.predict(text, top=3))
    assert reading.likelihood([reading.codes[0]]) == 1.0
    assert reading.likelihood(["10.71.11"]) == 0.0  # bread is nowhere near a ship repair


@pytest.fixture()
def shipyard(tmp_path):
    # The offers' words share nothing with the need's: only their codes can tell which one builds ships.
    offers = [OfferSpec(id=1, title="Верфь «Амур»", okpd2=("30.11.10",), organization_id=11, **KHV),
              OfferSpec(id=2, title="Пекарня «Каравай»", okpd2=("10.71.11",), organization_id=12, **KHV)]
    need = NeedSpec(id=100, title="Ремонт судов и лодок, постройка судов", organization_id=99, **KHV)
    encoder = BuiltinEncoder(n_components=4).fit([o.text for o in offers] + [need.text, "Хлеб", "Суда"])
    backend = search.open_backend(str(tmp_path / "index"), dim=encoder.dim)
    backend.index([search.Document(id=o.id, side="offer", kind="capability", title=o.title, okpd2=o.okpd2,
                                   region=o.region, district=o.district, organization_id=o.organization_id,
                                   vector=encoder.encode_passages([o.text])[0]) for o in offers])
    yield need, encoder, backend, offers
    backend.close()


def test_an_offer_whose_code_fits_the_text_is_relevant_even_outside_the_top_codes(shipyard):
    need, encoder, backend, offers = shipyard
    clf = CodeClassifier().fit(ENTRIES)
    reading = clf.read(need.text, top=1)
    assert reading.codes and not reading.codes[0].startswith("30")  # ship repair (class 33) reads first
    assert reading.likelihood(["30.11.10"]) >= 0.5  # but shipbuilding fits the text almost as well
    matcher = Matcher(encoder, backend, ProcurementPolicy(mode="weighted", threshold=0.0, tier_penalty=0.0),
                      InMemoryLookup(offers), classifier=clf, infer_top=1)
    result = matcher.match_need(need)
    assert [m.listing_id for m in result.matches] == [1]  # the shipyard; the bakery stays out
    (shipyard_match,) = result.matches
    assert "текст подходит к коду предложения" in shipyard_match.reasons
    codes = {s.name: s.value for s in shipyard_match.signals}["codes"]
    assert codes == pytest.approx(matcher.inferred_discount * reading.likelihood(["30.11.10"]), abs=1e-6)


def test_without_a_reading_only_the_top_codes_count(shipyard):
    need, encoder, backend, offers = shipyard

    class TopOnly:  # a classifier that only ranks (no ``read``): the matcher falls back to its top codes
        def __init__(self, clf):
            self.clf = clf

        def predict(self, text, top=10):
            return self.clf.predict(text, top)

    matcher = Matcher(encoder, backend, ProcurementPolicy(mode="weighted", threshold=0.0, tier_penalty=0.0),
                      InMemoryLookup(offers), classifier=TopOnly(CodeClassifier().fit(ENTRIES)), infer_top=1)
    result = matcher.match_need(need)
    assert result.inferred_codes and 1 not in [m.listing_id for m in result.matches]
