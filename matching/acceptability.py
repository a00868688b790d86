"""Whether an offer is acceptable for a need: what is asked and what is offered must agree, in words a buyer reads.

The charter's strict mode shows the nearest tier that has an *acceptable* supplier and hides the rest, so a wrong
"acceptable" next door hides the right supplier farther away. A shared ОКВЭД2 class or shared words («обработка»,
«порошковая») are not agreement. The rule, for a need and an offer (either side may be the listing matched):

* **a service** (a missing operation, a need that names catalogue operations, or a text whose head is an operation:
  «Токарная обработка валов», «Горячее цинкование металлоконструкций»): the offer must be a capability whose
  operation is the one asked or covers it (:meth:`OperationCatalogue.covers`): «другая операция: порошковая окраска,
  а нужно горячее цинкование». A product or a rental is no answer to an operation;
* **goods** («Подшипники роликовые», «Кабель силовой ВВГнг»): the offer must name the same thing: the need's head
  noun among the offer's words («редукторы» are not «подшипники»), no conflicting qualifier («кабели зоновой связи»
  for «кабель силовой») and, when both sides chose ОКПД2 codes of 8 characters or more, the same subcategory;
* **parameters**, when both sides give them (in fields or in the text): material, sizes, mass, thickness,
  tolerance, roughness, batch (:func:`matching.parameters.compare_parameters`).

Each part is a :class:`~matching.matcher.ConstraintCheck` with its detail in Russian; a False one makes the pair
unacceptable. The same rule serves matching both ways, the chain builder's stages and (through the stored matches)
the gap and localization analytics.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matching.morphology import Head, head, lemmas, mark_families
from matching.parameters import compare_parameters, extract_parameters
from matching.text import stem

if TYPE_CHECKING:  # pragma: no cover
    from matching.matcher import ListingSpec
    from matching.operations import OperationCatalogue

SERVICE_NEED_KINDS = ("missing_operation",)
# Qualifiers that do not tell two kinds of a thing apart.
_NEUTRAL = """
новый б/у бывший использованный годный качественный различный разный стандартный любой российский отечественный
импортный промышленный серийный типовой основной необходимый нужный указанный следующий
"""
NEUTRAL_MODIFIERS = frozenset(_NEUTRAL.split())
# Heads of texts that ask for work rather than a thing («Изготовление деталей по чертежам»).
# Nouns of work: a text whose head is one of these asks for an operation, even one the catalogue does not name.
_WORK_NOUNS = """
обработка покраска окраска резка раскрой сварка сборка ремонт монтаж ковка штамповка гибка вальцовка наплавка пайка
закалка доставка перевозка упаковка наладка заточка шлифовка полировка фрезеровка расточка сверловка услуга работа
нанесение изготовление производство литье литьё испытание контроль обслуживание модернизация намотка перемотка
пошив очистка мойка уборка
"""
WORK_NOUNS = frozenset(_WORK_NOUNS.split())
# Work nouns too broad to tell one work from another («обработка» of what?): they never conflict by themselves.
BROAD_WORK = frozenset({"обработка", "услуга", "работа", "изготовление", "производство", "нанесение"})
WORK_FRAMES = frozenset(stem(w) for w in ("изготовление", "услуга", "услуги", "работа", "работы", "выполнение"))


@dataclass(frozen=True)
class Reading:
    """What a listing is about, as the rule reads it."""

    operations: tuple[str, ...]
    chosen: bool  # the operations were picked by a person (not read from the text)
    service: bool  # asks for / offers work (an operation), not goods
    head: Head | None
    words: frozenset[str]  # lemmas of the title
    parameters: Mapping[str, Any]
    materials_from_text: bool = False  # the materials were read from the words, not chosen in the form
    goods: frozenset[str] = frozenset()  # product types the goods vocabulary reads in the title

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (sorted lists for sets), read back by :meth:`from_json` into an equal reading."""
        h = self.head
        return {"operations": list(self.operations), "chosen": self.chosen, "service": self.service,
                "head": None if h is None else {"lemma": h.lemma, "text": h.text, "modifiers": sorted(h.modifiers),
                                                "marks": sorted(h.marks)},
                "words": sorted(self.words), "parameters": dict(self.parameters),
                "materials_from_text": self.materials_from_text, "goods": sorted(self.goods)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reading:
        h = data["head"]
        return cls(tuple(data["operations"]), bool(data["chosen"]), bool(data["service"]),
                   None if h is None else Head(h["lemma"], h["text"], frozenset(h["modifiers"]), frozenset(h["marks"])),
                   frozenset(data["words"]), dict(data["parameters"]), bool(data["materials_from_text"]),
                   frozenset(data["goods"]))


# The code a reading depends on: a stored reading made by other code (or other reference data, see
# ``AcceptabilityRule(fingerprint=...)``) is never trusted, it is read again.
_READING_CODE = ("acceptability.py", "morphology.py", "parameters.py", "goods.py", "operations.py",
                 "operation_recognition.py", "operation_words.py", "text.py")


@lru_cache(maxsize=1)
def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _READING_CODE:
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    for package in ("pymorphy3", "pymorphy3-dicts-ru"):  # the words' lemmas come from its dictionary
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:  # pragma: no cover - both come with the project
            pass
    return digest.hexdigest()[:16]


class AcceptabilityRule:
    """The agreement part of acceptability; the matcher adds quantity, deadline and certifications."""

    def __init__(self, catalogue: OperationCatalogue | None = None, *, need_confidence: float = 0.7,
                 offer_confidence: float = 0.6, goods: Any = None, fingerprint: str | None = None):
        self.catalogue = catalogue
        self.goods = goods  # a matching.goods.GoodsVocabulary: its product types are synonyms of one thing
        self.need_confidence = need_confidence
        self.offer_confidence = offer_confidence
        # What the catalogue and the vocabulary are (their files' digest, from the caller): with one, readings
        # can be stored beside the listings (:meth:`stored`) and trusted back (``ListingSpec.reading``); without,
        # every listing is read from its text.
        self.fingerprint = (None if fingerprint is None else
                            f"{_code_fingerprint()}:{fingerprint}:{need_confidence}:{offer_confidence}")
        self._read = lru_cache(maxsize=50_000)(self._read_uncached)

    # -- reading -------------------------------------------------------------------------------------------
    def read(self, listing: ListingSpec) -> Reading:
        stored = listing.reading
        if stored is not None and self.fingerprint is not None and stored.get("key") == self.reading_key(listing):
            return Reading.from_json(stored["reading"])
        return self._read(listing.side, listing.kind, listing.title, listing.description, listing.operations,
                          _params_key(listing), _FrozenParams(listing.parameters or {}))

    def reading_key(self, listing: ListingSpec) -> str:
        """What a stored reading of ``listing`` was made from: the rule's fingerprint and the listing's words,
        operations and parameters (a listing edited since, or a rule changed since, has another key)."""
        content = json.dumps([self.fingerprint, listing.side, listing.kind, listing.title, listing.description,
                              list(listing.operations), _params_key(listing)], ensure_ascii=False)
        return hashlib.sha256(content.encode()).hexdigest()[:32]

    def stored(self, listing: ListingSpec) -> dict[str, Any] | None:
        """The reading of ``listing`` to store beside it (``None`` when this rule has no fingerprint)."""
        if self.fingerprint is None:
            return None
        return {"key": self.reading_key(listing), "reading": self.read(listing).to_json()}

    def _read_uncached(self, side: str, kind: str, title: str, description: str, chosen_ops: tuple[str, ...],
                       _key: tuple, params: _FrozenParams) -> Reading:
        cat = self.catalogue
        title_head = head(title) if title else None
        ops: tuple[str, ...] = tuple(o for o in chosen_ops if cat is None or o in cat)
        chosen = bool(ops)
        if chosen and cat is not None and title:
            ops = _refine(ops, cat, title)
        head_is_work = False
        if not ops and cat is not None and kind not in ("product", "surplus", "equipment_rent"):
            floor = self.need_confidence if side == "need" else self.offer_confidence
            found = [r for r in cat.recognize(title, top=3) if r.confidence >= floor]
            if found:
                matched = {stem(w) for r in found for w in r.matched.lower().split()}
                head_is_work = (title_head is None or stem(title_head.text.lower()) in matched
                                or bool(WORK_FRAMES & {stem(w) for w in title.lower().split()[:2]}))
            if description and (side == "offer" or not found):
                # an offer's description lists what the shop does («Термическая обработка металлов: закалка ТВЧ,
                # цементация, отжиг»); a need's is read only when its title names no operation
                more = [r for r in cat.recognize(f"{title}. {description}", top=5) if r.confidence >= floor]
                head_is_work = head_is_work or bool(more) and side == "offer"
                have = {f.operation_id for f in found}
                found += [r for r in more if r.operation_id not in have]
            ops = tuple(r.operation_id for r in found)
        work_head = title_head is not None and (title_head.lemma in WORK_NOUNS or title_head.lemma.endswith("ние"))
        service = (kind == "capability" and bool(ops)) or kind in SERVICE_NEED_KINDS or chosen or (
            bool(ops) and head_is_work) or (side == "need" and work_head)
        merged: dict[str, Any] = extract_parameters(f"{title}. {description}", cat.materials if cat else None)
        fields = {k: v for k, v in params.items() if v not in (None, "", [])}
        merged.update(fields)
        goods = frozenset(t.id for t, _ in self.goods.recognize(title, top=3)) if self.goods and title else frozenset()
        return Reading(ops if service else (), chosen, service, title_head, frozenset(lemmas(title)), merged,
                       materials_from_text=bool(merged.get("materials")) and "materials" not in fields, goods=goods)

    # -- agreement -----------------------------------------------------------------------------------------
    def checks(self, need: ListingSpec, offer: ListingSpec) -> list[Any]:
        """The agreement checks of an offer for a need (ConstraintCheck values, first the kind of thing)."""
        from matching.matcher import ConstraintCheck

        n, o = self.read(need), self.read(offer)
        out = []
        if n.service and not n.operations:
            # Work the catalogue does not name: the codes and the text decide, as before — unless both texts name
            # their work and it differs («Пошив спецодежды» for «Ремонт форменной одежды»).
            if not o.operations and _work(n.head) and _work(o.head) and n.head.lemma != o.head.lemma:
                return [ConstraintCheck("operation", False, f"другая работа: {o.head.text.lower()}, а нужно "
                                                            f"{n.head.text.lower()}")]
            return []
        if n.service:
            out.append(ConstraintCheck("operation", *self._operation(n, o, offer)))
        elif n.head is not None:
            out.append(ConstraintCheck("product", *self._product(need, offer, n, o)))
        else:
            return []
        if n.service or n.chosen or offer.parameters or need.parameters:
            mats = self.catalogue.materials if self.catalogue else None
            need_params, offer_params = _materials_read_loosely(n, o, mats)
            params = compare_parameters(need_params, offer_params, mats, quantity=need.quantity)
            if n.materials_from_text and any(c.name == "materials" and c.held for c in params):
                # a text names materials in passing («анодирование в серебро»): one that agrees is enough
                params = [c for c in params if c.name != "materials" or c.held]
            for c in params:
                out.append(ConstraintCheck(c.name, c.held, c.detail))
        return out

    def _name(self, op_id: str) -> str:
        op = self.catalogue.get(op_id) if self.catalogue else None
        return op.name.lower() if op else op_id

    def _operation(self, n: Reading, o: Reading, offer: ListingSpec) -> tuple[bool | None, str]:
        wanted = n.operations
        if not wanted:  # a missing operation the catalogue does not name: the codes and the text decide
            return None, "операция не распознана"
        asked = self._name(wanted[0])
        if offer.kind != "capability":
            what = "оборудование в аренду" if offer.kind == "equipment_rent" else "товар"
            thing = f" ({o.head.text.lower()})" if o.head else ""
            return False, f"предлагают {what}{thing}, а нужна операция: {asked}"
        if not o.operations:
            return False, f"в предложении не названа операция «{asked}»"
        cat = self.catalogue
        for need_op in wanted:
            for offer_op in o.operations:
                if cat is not None and cat.covers(offer_op, need_op):
                    if offer_op == need_op:
                        return True, f"та же операция — {self._name(need_op)}"
                    return True, f"{self._name(offer_op)} — это {self._name(need_op)}"
        return False, f"другая операция: {self._name(o.operations[0])}, а нужно {asked}"

    def _product(self, need: ListingSpec, offer: ListingSpec, n: Reading, o: Reading) -> tuple[bool | None, str]:
        h = n.head
        assert h is not None
        if offer.kind == "capability" and o.service and h.lemma not in o.words:
            ops = ", ".join(self._name(x) for x in o.operations[:2])
            return False, f"предлагают услугу ({ops}), а нужен товар: {h.text.lower()}"
        offer_words = o.words | (lemmas(offer.description.split(".")[0]) if not o.words else frozenset())
        if h.lemma not in offer_words:
            # Another word for the same product type («Листы ГКЛ» for «Гипсокартон», «ЛДСП» for «плиты ДСП»).
            same = sorted(n.goods & o.goods)
            marks = _shared_marks(n.head, o.head)
            if same and (marks is None or marks):
                return True, f"тот же товар — {self.goods.get(same[0]).name.lower()}"
            other = o.head.text.lower() if o.head else offer.title.lower()[:60]
            return False, f"другой товар: {other}, а нужно {h.text.lower()}"
        # Type marks on both sides decide it: «ЗКП» is not «МКПАБ» (both communication cables, one subcategory),
        # and «ВВГнг(А)-LS» is «ВВГнг-LS» whatever subcategory the buyer picked.
        marks = _shared_marks(h, o.head) if o.head is not None and o.head.lemma == h.lemma else None
        if marks:
            return True, f"тот же товар — {h.text.lower()} {', '.join(marks)}"
        if marks is not None:
            return False, (f"другая марка: {', '.join(sorted(mark_families(o.head.marks)))}, а нужна "
                           f"{', '.join(sorted(mark_families(h.marks)))}")
        need_mods = {m for m in h.modifiers if m not in NEUTRAL_MODIFIERS}
        offer_mods = set(o.head.modifiers) if o.head is not None and o.head.lemma == h.lemma else set(o.words)
        offer_mods = {m for m in offer_mods if m not in NEUTRAL_MODIFIERS and m != h.lemma}
        conflict = need_mods and offer_mods and not any(_alike(a, b) for a in need_mods for b in offer_mods)
        if conflict and not _same_subcategory(need.okpd2, offer.okpd2, exact=True):
            return False, (f"другой вид: {offer.title.lower()[:80]}, а нужно "
                           f"{h.text.lower()} {' '.join(sorted(need_mods))}")
        if len(need.okpd2[:1][0] if need.okpd2 else "") >= 8 and offer.okpd2 and not _same_subcategory(
                need.okpd2, offer.okpd2):
            return False, f"другая подкатегория ОКПД2: {offer.okpd2[0]}, а нужна {need.okpd2[0][:8]}"
        return True, f"тот же товар — {h.text.lower()}"


def _refine(ops: tuple[str, ...], cat: Any, title: str) -> tuple[str, ...]:
    """A broad operation picked in the form, made specific by the title's words: «Лазерная резка» picked for
    «Лазерная резка стального листа» asks for sheet cutting (a tube laser is no answer)."""
    named = [r.operation_id for r in cat.recognize(title, top=5)]
    out: list[str] = []
    for op in ops:
        narrower = [n for n in named if n != op and op in cat.ancestors(n)]
        for n in narrower or [op]:
            if n not in out:
                out.append(n)
    return tuple(out)


def _materials_read_loosely(n: Reading, o: Reading, mats: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """Materials an offer chose in the form are limits; materials its text names are examples («литьё чугуна
    ВЧ50» pours grey iron too): when the offer's come from words, both sides are compared by family (steel, cast
    iron, aluminium…), not by grade. A need's grade is what is asked, in words or in fields."""
    need_m, offer_m = n.parameters.get("materials"), o.parameters.get("materials")
    if not (need_m and offer_m and mats is not None) or not o.materials_from_text:
        return n.parameters, o.parameters

    def family(ids: Any) -> list[str]:
        out: list[str] = []
        for m in ids:
            line = [m, *mats.ancestors(m)]
            if line[-1] not in out:
                out.append(line[-1])
        return out

    return {**n.parameters, "materials": family(need_m)}, {**o.parameters, "materials": family(offer_m)}


def _shared_marks(a: Head | None, b: Head | None) -> list[str] | None:
    """The need's type-mark families the offer shares («ВВГ» for «ВВГнг-LS» and «ВВГнг(А)-LS»), ``[]`` when both
    name marks and none agree, ``None`` when a side names none (then the marks decide nothing)."""
    need = mark_families(a.marks) if a is not None else frozenset()
    offer = mark_families(b.marks) if b is not None else frozenset()
    if not (need and offer):
        return None
    return sorted(x for x in need if any(x.startswith(y) or y.startswith(x) for y in offer))


def _work(h: Head | None) -> bool:
    """The head names a definite kind of work («ремонт», «пошив», «окраска»), not a broad one («обработка»)."""
    return h is not None and h.lemma not in BROAD_WORK and (h.lemma in WORK_NOUNS or h.lemma.endswith("ние"))


def _alike(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 3 and long_.startswith(short)


def _same_subcategory(a: tuple[str, ...], b: tuple[str, ...], *, exact: bool = False) -> bool:
    length = 12 if exact else 8
    return any(len(x) >= 8 and len(y) >= 8 and x[:length] == y[:length] for x in a for y in b)


def _params_key(listing: ListingSpec) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in (listing.parameters or {}).items()))


class _FrozenParams(dict):
    """A dict that hashes by identity of content, so readings can be memoised."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((k, str(v)) for k, v in self.items())))
