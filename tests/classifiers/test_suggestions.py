"""Code suggestions and the code picker on the shipped ОКПД2/ОКВЭД2 and operations catalogue.

The classifiers are fitted once per run (``get_classifier`` keeps them in the session-wide ``app``)."""
from pathlib import Path

import pytest

from matching.evaluation import evaluate_codes, load_code_examples

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "codes" / "suggestions.jsonl"


@pytest.fixture
def suggest(app):
    from marketplace.classifiers.suggest import suggest_codes

    with app.app_context():
        yield lambda text, scheme, top=3: [s.code for s in suggest_codes(text, scheme, top=top)]


@pytest.mark.slow
def test_the_reviews_cases_get_the_activity_that_does_the_work(suggest):
    welding = suggest("Сварка металлоконструкций, изготовление ферм и колонн", "okved2")
    assert welding[0] == "25.11" and not any(c.startswith("01.") for c in welding)  # not «пушные звери на фермах»
    ships = suggest("Ремонт дизельных двигателей судов", "okved2")
    assert ships[0].startswith("33.1") and not any(c.startswith("95.") for c in ships)  # not «Ремонт одежды»
    turning = suggest("Токарная обработка валов по чертежам заказчика", "okved2")
    assert turning[0] == "25.62" and not any(c.startswith("38.") for c in turning)  # not «лом металлов»
    assert suggest("Токарная обработка валов по чертежам заказчика", "okpd2")[0].startswith("25.62.1")
    assert suggest("Ремонт дизельных двигателей судов", "okpd2")[0].startswith("33.1")


@pytest.mark.parametrize(("scheme", "query", "code"), [
    ("okpd2", "токарная", "25.62.10"),
    ("okpd2", "токарн", "25.62.10"),
    ("okpd2", "Фрезерные", "28.41.22"),   # «фрезерные» in a name that says «фрезерные»/«фрезерование» alike
    ("okved2", "токарная", "25.62"),      # no ОКВЭД2 name says it: the ОКПД2 class and the catalogue do
    ("okved2", "фрезер", "25.62"),
    ("okved2", "ремонт судов", "33.15"),  # the words in other forms than the name's
])
def test_the_picker_finds_words_in_any_form(client, scheme, query, code):
    found = [row["code"] for row in client.get(f"/classifiers/{scheme}/search", query_string={"q": query}).json]
    assert code in found, found


def test_the_picker_still_finds_codes_by_prefix_and_nothing_for_nonsense(client):
    assert client.get("/classifiers/okved2/search", query_string={"q": "25.6"}).json[0]["code"].startswith("25.6")
    assert client.get("/classifiers/okved2/search", query_string={"q": "zzqqxx"}).json == []


@pytest.mark.slow
def test_acceptance_the_right_class_comes_first_on_the_labelled_texts(app):
    from marketplace.classifiers.suggest import get_classifier, get_suggester

    examples = load_code_examples(FIXTURE)
    assert len(examples) >= 300
    with app.app_context():
        suggester = get_suggester()
        for scheme in ("okpd2", "okved2"):
            clf = get_classifier(scheme)
            before = evaluate_codes("classifier", scheme, examples,
                                    lambda texts, c=clf: [[s.code for s in p] for p in c.predict_many(texts, 10)])
            after = evaluate_codes("suggestions", scheme, examples,
                                   lambda texts, s=scheme: [[x.code for x in p]
                                                            for p in suggester.predict_many(texts, s, 10)])
            # Measured 0.914 (ОКПД2) and 0.926 (ОКВЭД2) against 0.63 and 0.29 for the classifier alone (0.850 and
            # 0.906 without the goods vocabulary); the target is 0.90 for both.
            assert suggester.goods is not None and len(suggester.goods) >= 400
            assert after.class_at_1 >= 0.90, after
            assert after.class_at_1 >= before.class_at_1 + 0.15, (before, after)
