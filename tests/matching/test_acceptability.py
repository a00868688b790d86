"""The acceptability rule on the near misses of the new-user review: what is asked and what is offered must agree."""
import pytest

from matching.acceptability import AcceptabilityRule
from matching.matcher import NeedSpec, OfferSpec
from matching.operations import OperationCatalogue
from matching.parameters import MaterialCatalogue

NODES = [
    {"id": "machining", "name": "Механическая обработка", "synonyms": ["мехобработка", "механообработка"],
     "okved2": ["25.62"], "okpd2": ["25.62"], "generic": True, "children": [
         {"id": "machining.turning", "name": "Токарная обработка",
          "synonyms": ["токарные работы", "токарка", "точение"], "parameters": ["materials", "max_diameter_mm"],
          "children": [{"id": "machining.turning.cnc", "name": "Токарная обработка на станках с ЧПУ"}]},
         {"id": "machining.milling", "name": "Фрезерная обработка", "synonyms": ["фрезеровка", "фрезерование"]}]},
    {"id": "coating", "name": "Нанесение покрытий", "okved2": ["25.61"], "children": [
        {"id": "coating.zinc.hot_dip", "name": "Горячее цинкование", "synonyms": ["горячее оцинкование"]},
        {"id": "coating.powder", "name": "Порошковая окраска",
         "synonyms": ["порошковая покраска", "полимерно-порошковая окраска"], "exclude": ["порошковая металлургия"]}]},
    {"id": "cutting.laser", "name": "Лазерная резка", "synonyms": ["лазерный раскрой"],
     "parameters": ["max_thickness_mm", "min_thickness_mm"]},
]
MATERIALS = MaterialCatalogue.from_nodes([
    {"id": "steel", "name": "Сталь", "synonyms": ["стали"], "children": [
        {"id": "steel.alloy", "name": "Сталь легированная", "grades": ["40Х", "09Г2С"]},
        {"id": "steel.stainless", "name": "Сталь нержавеющая", "synonyms": ["нержавейка"], "grades": ["12Х18Н10Т"]}]},
    {"id": "aluminium", "name": "Алюминий", "synonyms": ["алюминиевые сплавы"]},
])


@pytest.fixture(scope="module")
def rule():
    return AcceptabilityRule(OperationCatalogue.from_nodes(NODES, MATERIALS))


def need(title, **kw):
    return NeedSpec(id=1, title=title, **kw)


def offer(title, kind="capability", **kw):
    return OfferSpec(id=2, title=title, kind=kind, **kw)


def agreement(rule, n, o):
    checks = rule.checks(n, o)
    assert checks, "the rule said nothing"
    return checks[0].held, checks[0].detail, all(c.held is not False for c in checks)


@pytest.mark.parametrize("title,kind,okved2,expected", [
    ("Токарная обработка валов на станках с ЧПУ", "capability", ("25.62",), True),
    ("Обработка металлических изделий механическая", "capability", ("25.62",), True),  # generic machining
    ("Машины для уборки и первичной обработки конопли и кенафа", "product", ("28.30",), False),
    ("Производство пишущих машин", "capability", ("28.23",), False),
    ("Станки токарные", "product", ("28.41",), False),  # a lathe factory is not a turning service
    ("Фрезерные работы", "capability", ("25.62",), False),
])
def test_turning_need(rule, title, kind, okved2, expected):
    held, detail, _ = agreement(rule, need("Требуется: токарная обработка валов по чертежам",
                                           kind="missing_operation"), offer(title, kind=kind, okved2=okved2))
    assert held is expected, detail


def test_galvanizing_is_not_powder_coating_and_says_why(rule):
    held, detail, _ = agreement(rule, need("Горячее цинкование металлоконструкций", kind="missing_operation"),
                                offer("Порошковая покраска металлоконструкций", okved2=("25.61",)))
    assert held is False
    assert detail == "другая операция: порошковая окраска, а нужно горячее цинкование"


def test_powder_coating_is_not_powder_metallurgy(rule):
    held, _, _ = agreement(rule, need("Порошковая покраска ворот", kind="purchase_request"),
                           offer("Ковка, штамповка, прессование; порошковая металлургия", okved2=("25.50",)))
    assert held is False


@pytest.mark.parametrize("title,kind,expected", [
    ("Неликвид: Подшипники качения роликовые", "surplus", True),
    ("Производство шариковых и роликовых подшипников", "product", True),
    ("Редукторы и передачи зубчатые", "product", False),
    ("Подшипники шариковые радиальные", "product", False),  # another kind of bearing
])
def test_bearings(rule, title, kind, expected):
    held, detail, _ = agreement(rule, need("Подшипники роликовые для конвейера", quantity=200),
                                offer(title, kind=kind))
    assert held is expected, detail


@pytest.mark.parametrize("title,expected", [
    ("Производство силовых кабелей", True),
    ("Неликвид: Кабели зоновой связи", False),
    ("Кабель ВВГнг-LS 3х1,5 медный", True),
])
def test_power_cable(rule, title, expected):
    held, detail, _ = agreement(rule, need("Кабель силовой ВВГнг-LS 3х2,5"), offer(title, kind="product"))
    assert held is expected, detail


@pytest.mark.parametrize("need_title,need_codes,offer_title,offer_codes,expected,says", [
    # two communication cables of one subcategory, but another mark
    ("Кабель связи зоновый ЗКП", (), "Кабель связи МКПАБ 7х4", ("27.32.13",), False, "другая марка: МКПАБ"),
    ("Кабель связи зоновый ЗКП", (), "Кабели связи ЗКП, МКП", ("27.32.13",), True, "ЗКП"),
    # the same mark family, though the buyer picked another subcategory than the maker
    ("Кабель ВВГнг-LS 3х2,5 для электромонтажа", ("27.32.13.130",), "Кабель ВВГнг(А)-LS 3х2,5 со склада",
     ("27.32.14.110",), True, "ВВГ"),
    ("Кабель ВВГнг-LS 3х2,5", (), "Кабель КГ гибкий", ("27.32.14.110",), False, "другая марка: КГ"),
    # a Latin brand or option, or a standard, says nothing against a mark: the other checks decide
    ("Подшипники шариковые 6205-2RS", (), "Подшипники шариковые SKF", (), True, "тот же товар"),
    ("Кабель ВВГнг по ГОСТ 31996", (), "Кабель ВВГнг ГОСТ 31996", (), True, "ВВГ"),
])
def test_type_marks_decide_between_goods_of_one_kind(rule, need_title, need_codes, offer_title, offer_codes,
                                                      expected, says):
    held, detail, _ = agreement(rule, need(need_title, okpd2=need_codes),
                                offer(offer_title, kind="product", okpd2=offer_codes))
    assert held is expected and says in detail, detail


def test_mark_families():
    from matching.morphology import mark_families

    assert mark_families({"ВВГнг(А)-LS", "ЗКП", "МКПАБ"}) == {"ВВГ", "ЗКП", "МКПАБ"}
    assert mark_families({"ГОСТ", "ЧПУ", "SKF", "2RS", "А"}) == frozenset()


def test_goods_need_is_not_served_by_a_service(rule):
    held, detail, _ = agreement(rule, need("Подшипники роликовые"), offer("Токарная обработка деталей"))
    assert held is False and "услугу" in detail


def test_parameters_break_acceptability(rule):
    n = need("Токарная обработка валов Ø600 мм, сталь 40Х", kind="missing_operation")
    small = offer("Токарная обработка", parameters={"max_diameter_mm": 400, "materials": ["steel"]})
    big = offer("Токарная обработка", parameters={"max_diameter_mm": 800, "materials": ["steel"]})
    stainless_only = offer("Токарная обработка", parameters={"max_diameter_mm": 800, "materials": ["steel.stainless"]})
    assert agreement(rule, n, small)[2] is False
    assert agreement(rule, n, big)[2] is True
    assert agreement(rule, n, stainless_only)[2] is False


def test_thickness_from_text_against_laser_limits(rule):
    n = need("Лазерная резка листа толщина 30 мм", kind="missing_operation")
    assert agreement(rule, n, offer("Лазерный раскрой металла", parameters={"max_thickness_mm": 20}))[2] is False
    assert agreement(rule, n, offer("Лазерный раскрой металла", parameters={"max_thickness_mm": 40}))[2] is True


def test_chosen_operations_win_over_text(rule):
    n = need("Нужен подрядчик", kind="missing_operation", operations=("coating.zinc.hot_dip",))
    assert agreement(rule, n, offer("Цех покрытий", operations=("coating.zinc.hot_dip",)))[0] is True
    assert agreement(rule, n, offer("Цех покрытий", operations=("coating.powder",)))[0] is False


def test_work_the_catalogue_does_not_name_still_differs_by_its_noun(rule):
    wanted = need("Ремонт форменной одежды экипажа", kind="purchase_request")
    held, detail, _ = agreement(rule, wanted, offer("Пошив спецодежды"))
    assert held is False and detail == "другая работа: пошив, а нужно ремонт"
    assert rule.checks(wanted, offer("Ремонт одежды и текстиля")) == []  # the same work: the codes decide
    assert rule.checks(wanted, offer("Обработка тканей")) == []  # «обработка» is too broad to conflict


def test_another_word_for_the_same_product_type_is_the_same_thing():
    from matching.goods import GoodsType, GoodsVocabulary

    goods = GoodsVocabulary([
        GoodsType("plasterboard", "Гипсокартон", ("23.62.10",), ("гипсокартон", "ГКЛ", "гипсокартонный лист")),
        GoodsType("glass_sheet", "Стекло листовое", ("23.11.11",), ("листовое стекло",)),
    ])
    wanted, sheets = need("Гипсокартон влагостойкий"), offer("Листы ГКЛ 12,5 мм", kind="product")
    held, detail, _ = agreement(AcceptabilityRule(OperationCatalogue.from_nodes(NODES, MATERIALS), goods=goods),
                                wanted, sheets)
    assert held is True and detail == "тот же товар — гипсокартон"
    held, _, _ = agreement(AcceptabilityRule(OperationCatalogue.from_nodes(NODES, MATERIALS)), wanted, sheets)
    assert held is False  # without the vocabulary the words share nothing
    glass = offer("Стекло листовое 4 мм", kind="product")
    held, _, _ = agreement(AcceptabilityRule(OperationCatalogue.from_nodes(NODES, MATERIALS), goods=goods),
                           wanted, glass)
    assert held is False
