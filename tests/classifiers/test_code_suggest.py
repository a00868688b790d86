"""The code suggester on small classifiers and a small catalogue (plain matching code, no app)."""
import pytest

from matching.classify import CodeClassifier, CodeEntry
from matching.code_suggest import CodeSuggester, strip_frame, text_head
from matching.operations import OperationCatalogue

OKPD2 = [
    CodeEntry("C", "Продукция обрабатывающих производств"),
    CodeEntry("01", "Продукция и услуги сельского хозяйства", ""),
    CodeEntry("01.49", "Животные живые прочие", "01"),
    CodeEntry("01.49.22", "Звери пушные на фермах", "01.49"),
    CodeEntry("25", "Изделия металлические готовые", "C"),
    CodeEntry("25.11", "Конструкции металлические и их части", "25"),
    CodeEntry("25.11.23", "Конструкции и детали конструкций прочие из черных металлов", "25.11"),
    CodeEntry("25.62", "Услуги по обработке металлических изделий механической", "25"),
    CodeEntry("25.62.10", "Услуги по токарной обработке металлических деталей", "25.62"),
    CodeEntry("33", "Услуги по ремонту и монтажу машин и оборудования", "C"),
    CodeEntry("33.15", "Услуги по ремонту и техническому обслуживанию судов и лодок", "33"),
    CodeEntry("33.15.10", "Услуги по ремонту и техническому обслуживанию судов и лодок", "33.15"),
    CodeEntry("14", "Одежда", "C"),
    CodeEntry("14.12", "Спецодежда", "14"),
    CodeEntry("14.12.11", "Костюмы производственные", "14.12"),
]
OKVED2 = [
    CodeEntry("A", "Сельское хозяйство"),
    CodeEntry("01.49", "Разведение прочих животных", "A"),
    CodeEntry("01.49.22", "Разведение прочих пушных зверей на фермах", "01.49"),
    CodeEntry("C", "Обрабатывающие производства"),
    CodeEntry("25.11", "Производство строительных металлических конструкций", "C"),
    CodeEntry("25.62", "Обработка металлических изделий механическая", "C"),
    CodeEntry("33.15", "Ремонт и техническое обслуживание судов и лодок", "C"),
    CodeEntry("S", "Предоставление прочих видов услуг"),
    CodeEntry("95.29", "Ремонт прочих предметов личного потребления", "S"),
    CodeEntry("95.29.11", "Ремонт одежды", "95.29"),
]
NODES = [{"id": "welding", "name": "Сварка металлоконструкций", "synonyms": ["сварочные работы"],
          "okpd2": ["25.11.23"], "okved2": ["25.11"]}]


@pytest.fixture(scope="module")
def classifiers():
    return {"okpd2": CodeClassifier("okpd2").fit(OKPD2), "okved2": CodeClassifier("okved2").fit(OKVED2)}


def test_the_product_scheme_votes_for_the_activity_of_its_class(classifiers):
    # ОКВЭД2 has no word of «токарная»; ОКПД2 25.62.10 has, and its class is ОКВЭД2 25.62.
    alone = CodeSuggester(classifiers, cross_weight={"okpd2": 0.0, "okved2": 0.0})
    both = CodeSuggester(classifiers)
    text = "Токарные работы на станках"
    first, second = alone.predict(text, "okved2", top=2)
    assert first.score - second.score < 0.2  # a guess from character n-grams alone
    first, second = both.predict(text, "okved2", top=2)
    assert first.code == "25.62" and first.score - second.score > 0.5


def test_a_recognised_operation_outweighs_a_word_of_a_wrong_code(classifiers):
    catalogue = OperationCatalogue.from_nodes(NODES)
    text = "Сварочные работы, изготовление ферм"
    without = CodeSuggester(classifiers, cross_weight={"okpd2": 0.0, "okved2": 0.0})
    assert without.predict(text, "okved2", top=1)[0].code.startswith("01.49")  # the trap: «ферм»
    with_catalogue = CodeSuggester(classifiers, catalogue)
    assert with_catalogue.predict(text, "okved2", top=1)[0].code == "25.11"
    assert with_catalogue.predict(text, "okpd2", top=1)[0].code == "25.11.23"


def test_a_repair_text_is_read_as_a_service(classifiers):
    suggester = CodeSuggester(classifiers)
    assert suggester.predict("Ремонт двигателей судов", "okpd2", top=1)[0].code.startswith("33.15")
    assert suggester.predict("Ремонт двигателей судов", "okved2", top=1)[0].code == "33.15"


def test_heads_and_frames():
    assert text_head("Сварка металлоконструкций, изготовление ферм") == "Сварка металлоконструкций"
    assert text_head("Ремонт судов") == "Ремонт судов"
    assert strip_frame("Требуется: производство ворот") == "ворот"
    assert strip_frame("Ворота откатные") == "Ворота откатные"


def test_a_scheme_without_a_classifier_is_refused(classifiers):
    with pytest.raises(ValueError, match="okved2"):
        CodeSuggester({"okpd2": classifiers["okpd2"]}).predict("ворота", "okved2")
