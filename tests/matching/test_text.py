from matching.text import normalize, stem_text, stems, tokenize


def test_normalize_folds_yo_and_case():
    assert normalize("  Ёмкости   СТАЛЬНЫЕ ") == "емкости стальные"


def test_inflections_share_a_stem():
    assert stems("металлических изделий") == stems("металлическое изделие")


def test_stop_words_and_classifier_filler_are_dropped():
    assert stems("Изделия прочие, не включенные в другие группировки") == ["издел"]


def test_tokens_keep_codes_and_latin():
    assert "25.62" in tokenize("ОКВЭД 25.62, ЧПУ CNC")
    assert "cnc" in stem_text("станок CNC")
