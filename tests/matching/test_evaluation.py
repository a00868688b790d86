import pytest

from matching.classify import CodeClassifier
from matching.evaluation import Example, evaluate_classifier, mrr_at_k, ndcg_at_k, recall_at_k
from tests.matching.test_classify import TOY

RANKED = [["a", "b", "c"], ["b", "c", "a"], ["c", "b", "x"]]
GOLD = ["a", "a", "a"]


def test_recall():
    assert recall_at_k(RANKED, GOLD, 1) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, GOLD, 3) == pytest.approx(2 / 3)


def test_mrr():
    assert mrr_at_k(RANKED, GOLD, 10) == pytest.approx((1 + 1 / 3 + 0) / 3)


def test_ndcg_single_relevant():
    import math

    assert ndcg_at_k(RANKED, GOLD, 10) == pytest.approx((1 + 1 / math.log2(4)) / 3)


def test_evaluate_classifier_reports_three_methods(capsys):
    clf = CodeClassifier().fit(TOY)
    reports = evaluate_classifier(clf, [Example("токарная обработка", "25.62.10"), Example("хлеб", "10.71.11")])
    assert [r.method for r in reports] == ["classifier", "lexical", "vector"]
    assert reports[0].recall_at_10 == 1.0
    assert reports[0].within_at_10 == 1.0
    assert "R@1=" in capsys.readouterr().out


def test_hierarchical_reading_counts_a_code_inside_the_labelled_one_only():
    from matching.evaluation import ancestry, report

    codes = ["25", "25.62", "25.62.1", "25.62.10", "25.62.10.110", "25.62.2", "25.62.20", "25.62.20.110"]
    parents = [-1, 0, 1, 2, 3, 1, 5, 6]
    ancestors = ancestry(codes, parents)
    assert ancestors("25.62.20.110") == {"25.62.20.110", "25.62.20", "25.62.2", "25.62", "25"}
    assert ancestors("99.99") == {"99.99"}
    ranked = [["25.62.20.110", "25"], ["25.62.10.110", "25.62.20"], ["25.62", "25.62.10"]]
    gold = ["25.62.20", "25.62.20", "25.62.10"]
    r = report("m", ranked, gold, ancestors)
    assert (r.recall_at_1, r.recall_at_10) == (0.0, pytest.approx(2 / 3))
    # the leaf inside the label counts; a sibling's leaf and a broader code do not
    assert (r.within_at_1, r.within_at_10) == (pytest.approx(1 / 3), 1.0)
    assert report("m", ranked, gold).within_at_1 is None
