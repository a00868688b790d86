"""English is complete: every message the code and the templates ask for (``pybabel extract -F babel.cfg -k _l``
over the repository) has an English translation in messages.po — in English, with the same placeholders — and the
compiled messages.mo says the same."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "marketplace" / "translations" / "en" / "LC_MESSAGES"
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|%d")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
                                "-o", str(out), "--no-location", str(ROOT)])  # babel.cfg names marketplace/… from the root
    with out.open("rb") as f:
        return read_po(f)


@pytest.fixture(scope="module")
def english():
    with (CATALOG / "messages.po").open("rb") as f:
        return read_po(f)


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (tuple, list)) else [message.string]


def _ids(message) -> list[str]:
    return list(message.id) if isinstance(message.id, (tuple, list)) else [message.id]


def test_extraction_finds_the_pages_messages(template):
    ids = {m.id for m in template if m.id}
    assert len(ids) > 500
    assert {"Подобранные поставщики", "опубликовано", "по расстоянию", "Тендеры"} <= ids  # _(), _l(), templates


def test_every_message_has_an_english_translation(template, english):
    untranslated, russian, placeholders = [], [], []
    for message in template:
        if not message.id:
            continue
        entry = english.get(message.id)
        strings = _strings(entry) if entry is not None else [""]
        if not all(strings):
            untranslated.append(message.id)
            continue
        if any(CYRILLIC.search(s) for s in strings):
            russian.append(message.id)
        if {p for i in _ids(message) for p in PLACEHOLDER.findall(i)} != \
                {p for s in strings for p in PLACEHOLDER.findall(s)}:
            placeholders.append(message.id)
    assert not untranslated, f"{len(untranslated)} without English, e.g. {untranslated[:10]}"
    assert not russian, f"Russian left in the English catalogue: {russian[:10]}"
    assert not placeholders, f"placeholders differ: {placeholders[:10]}"


def test_the_compiled_catalogue_is_the_po_file(english):
    with (CATALOG / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    stale = [m.id for m in english if m.id and m.string and not m.fuzzy
             and (compiled.get(m.id) is None or compiled.get(m.id).string != m.string)]
    assert not stale, f"messages.mo is older than messages.po (run pybabel compile): {stale[:5]}"
