"""The suggester's use of the operations catalogue, on a two-code scheme and a stand-in catalogue (no app)."""
from matching.classify import CodeClassifier, CodeEntry
from matching.code_suggest import CodeSuggester

ENTRIES = [
    CodeEntry("F", "Строительство"),
    CodeEntry("43", "Работы строительные специализированные", "F"),
    CodeEntry("43.21", "Производство электромонтажных работ", "43"),
    CodeEntry("C", "Обрабатывающие производства"),
    CodeEntry("33", "Ремонт и монтаж машин и оборудования", "C"),
    CodeEntry("33.20", "Монтаж промышленных машин и оборудования", "33"),
]


class _Found:
    operation_id, confidence = "electrical.installation", 0.9


class _Op:
    okved2 = ("43.21", "33.20")  # its own activity first, a related one after


class _Catalogue:
    def recognize(self, text, top):
        return [_Found()]

    def get(self, operation_id):
        return _Op()


def _suggester(**kw):
    clf = CodeClassifier("okved2", char_ngrams=None, semantic_weight=0.0).fit(ENTRIES)
    return CodeSuggester({"okved2": clf}, _Catalogue(), head_word_weight=0.0, trade_penalty=0.0, **kw)


def _gap(suggester, text):
    scores = suggester.decision_function([text], "okved2")[0]
    codes = list(suggester.classifiers["okved2"].codes_)
    return float(scores[codes.index("43.21")] - scores[codes.index("33.20")])


def test_an_operations_first_code_gets_its_confidence_and_a_related_code_a_share_of_it():
    text = "монтаж оборудования"  # «монтаж» is in 33.20's name only
    alike, ranked = _suggester(secondary_share=1.0), _suggester(secondary_share=0.6)
    assert abs(_gap(ranked, text) - _gap(alike, text) - 0.9 * 0.4) < 1e-4
    assert abs(_gap(_suggester(secondary_share=0.0), text) - _gap(alike, text) - 0.9) < 1e-4


OKPD2 = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("25", "Изделия металлические готовые, кроме машин и оборудования", "C"),
    CodeEntry("25.12", "Двери и окна металлические", "25"),
    CodeEntry("25.12.10", "Двери, окна и их рамы и пороги для дверей из металлов", "25.12"),
    CodeEntry("25.12.99", "Услуги по производству дверей и окон из металлов отдельные, выполняемые субподрядчиком",
              "25.12"),
]


class _NoOperation:
    def recognize(self, text, top):
        return []

    def get(self, operation_id):
        return None


def _okpd2(**kw):
    clf = CodeClassifier("okpd2", char_ngrams=None, semantic_weight=0.0).fit(OKPD2)
    return CodeSuggester({"okpd2": clf}, _NoOperation(), head_word_weight=0.0, trade_penalty=0.0, **kw)


def _service_gap(suggester, text):
    scores = suggester.decision_function([text], "okpd2")[0]
    codes = list(suggester.classifiers["okpd2"].codes_)
    return float(scores[codes.index("25.12.99")] - scores[codes.index("25.12.10")])


def test_a_text_that_names_a_thing_is_a_product_not_a_subcontracting_service():
    on, off = _okpd2(product_penalty=0.2), _okpd2(product_penalty=0.0)
    text = "Двери металлические противопожарные"
    assert abs(_service_gap(off, text) - _service_gap(on, text) - 0.2) < 1e-4
    # Work asked for in words, or to a customer's order, is a service: no penalty.
    for service in ("Услуги по производству металлических дверей", "Двери металлические по чертежам заказчика"):
        assert abs(_service_gap(off, service) - _service_gap(on, service)) < 1e-6, service


PLATES = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("16", "Древесина и изделия из дерева и пробки", "C"),
    CodeEntry("16.21", "Листы для облицовки; фанера, плиты", "16"),
    CodeEntry("16.21.13", "Плиты древесно-стружечные и аналогичные плиты из древесины", "16.21"),
    CodeEntry("23", "Продукты минеральные неметаллические прочие", "C"),
    CodeEntry("23.31", "Плиты и плитки керамические", "23"),
    CodeEntry("23.31.10", "Плиты керамические ламинированные", "23.31"),
    CodeEntry("16.21.99", "Услуги по производству плит древесно-стружечных отдельные", "16.21"),
]


def _plates(goods_weight):
    from matching.goods import GoodsType, GoodsVocabulary

    goods = GoodsVocabulary([GoodsType("chipboard", "Плиты ДСП", ("16.21.13",), ("ДСП", "ЛДСП"))])
    clf = CodeClassifier("okpd2", char_ngrams=None, semantic_weight=0.0).fit(PLATES)
    return CodeSuggester({"okpd2": clf}, _NoOperation(), head_word_weight=0.0, trade_penalty=0.0,
                         product_penalty=0.0, goods=goods, goods_weight=goods_weight)


def test_a_product_type_the_goods_vocabulary_knows_adds_its_codes():
    text = "Плиты ДСП ламинированные"  # ОКПД2 says «древесно-стружечные», never «ДСП»
    assert _plates(0.0).predict(text, "okpd2", 1)[0].code == "23.31.10"  # ceramic plates share the only word
    with_goods = _plates(1.0)
    assert with_goods.predict(text, "okpd2", 1)[0].code == "16.21.13"
    # A text that asks for a service is not about the thing it names: the vocabulary stays out.
    service = "Услуги по раскрою ДСП"
    scores_on, scores_off = (s.decision_function([service], "okpd2")[0] for s in (with_goods, _plates(0.0)))
    assert (scores_on == scores_off).all()
