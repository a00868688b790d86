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
