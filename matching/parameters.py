"""Engineering parameters of a capability or a job, and the materials list: validation and agreement.

An offer's parameters say what a shop can do (materials it works, the largest part, the best tolerance); a need's
say what the job is (the part's material, size, the tolerance required). :func:`compare_parameters` checks each
parameter both sides give, in words a buyer reads; :func:`validate_parameters` names the field of every bad value.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from matching.text import normalize, ru_number


@dataclass(frozen=True)
class Parameter:
    key: str
    title_ru: str
    kind: str  # "number" | "integer" | "materials"
    unit: str = ""
    minimum: float = 0.0
    maximum: float = 0.0
    exclusive_minimum: bool = True


PARAMETERS: dict[str, Parameter] = {p.key: p for p in (
    Parameter("materials", "материалы", "materials"),
    Parameter("max_length_mm", "наибольшая длина", "number", "мм", 0, 100_000),
    Parameter("max_width_mm", "наибольшая ширина", "number", "мм", 0, 100_000),
    Parameter("max_height_mm", "наибольшая высота", "number", "мм", 0, 100_000),
    Parameter("max_diameter_mm", "наибольший диаметр", "number", "мм", 0, 20_000),
    Parameter("max_mass_kg", "наибольшая масса", "number", "кг", 0, 1_000_000),
    Parameter("min_thickness_mm", "наименьшая толщина", "number", "мм", 0, 1000),
    Parameter("max_thickness_mm", "наибольшая толщина", "number", "мм", 0, 1000),
    Parameter("tolerance_it", "квалитет точности (IT)", "integer", "", 1, 18, exclusive_minimum=False),
    Parameter("roughness_ra_um", "шероховатость Ra", "number", "мкм", 0.01, 100, exclusive_minimum=False),
    Parameter("batch_min", "наименьшая партия", "integer", "шт", 1, 10**9, exclusive_minimum=False),
    Parameter("batch_max", "наибольшая партия", "integer", "шт", 1, 10**9, exclusive_minimum=False),
)}
SIZE_KEYS = ("max_length_mm", "max_width_mm", "max_height_mm", "max_diameter_mm", "max_mass_kg")


@dataclass(frozen=True)
class Material:
    id: str
    name: str
    parent_id: str | None = None
    synonyms: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()


@dataclass
class MaterialCatalogue:
    """Material groups and grades; a group covers its subgroups and their grades."""

    materials: dict[str, Material] = field(default_factory=dict)

    @classmethod
    def from_nodes(cls, nodes: Sequence[Mapping[str, Any]]) -> MaterialCatalogue:
        out: dict[str, Material] = {}

        def walk(node: Mapping[str, Any], parent: str | None) -> None:
            mat_id = str(node.get("id") or "").strip()
            if not mat_id or mat_id in out:
                raise ValueError(f"материал без id или повторяется: {mat_id!r}")
            out[mat_id] = Material(mat_id, str(node.get("name") or mat_id).strip(), parent,
                                   tuple(str(s).strip().lower() for s in node.get("synonyms") or ()),
                                   tuple(str(g).strip() for g in node.get("grades") or ()))
            for child in node.get("children") or ():
                walk(child, mat_id)

        for node in nodes:
            walk(node, None)
        return cls(out)

    def __contains__(self, mat_id: object) -> bool:
        return mat_id in self.materials

    def get(self, mat_id: str) -> Material | None:
        return self.materials.get(mat_id)

    def ancestors(self, mat_id: str) -> list[str]:
        out, m = [], self.materials.get(mat_id)
        while m is not None and m.parent_id:
            out.append(m.parent_id)
            m = self.materials.get(m.parent_id)
        return out

    @cached_property
    def _names(self) -> list[tuple[str, str]]:
        """(lower-case name or synonym or grade, material id), longest first."""
        pairs = []
        for m in self.materials.values():
            for text in (m.name.lower(), *m.synonyms, *(g.lower() for g in m.grades)):
                if text:
                    pairs.append((normalize(text), m.id))
        return sorted(set(pairs), key=lambda p: -len(p[0]))

    @cached_property
    def _by_name(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, mat_id in self._names:
            out.setdefault(name, mat_id)
        return out

    @cached_property
    def _by_lemmas(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, mat_id in self._names:
            if re.search(r"[а-я]{3}", name):  # words, not grades («АК12» stays as written)
                out.setdefault(_lemma_text(name), mat_id)
        return out

    @cached_property
    def _lemma_pattern(self) -> re.Pattern[str]:
        names = "|".join(re.escape(n) for n in sorted(self._by_lemmas, key=lambda n: -len(n)) if n)
        return re.compile(r"(?<![0-9a-zа-я])(" + (names or "(?!)") + r")(?![0-9a-zа-я])")

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        """All names in one alternation, longest first (compiled once: a catalogue has hundreds of grades)."""
        names = "|".join(re.escape(name) for name, _ in self._names)
        return re.compile(r"(?<![0-9a-zа-я])(" + names + r")(?![0-9a-zа-я])")

    def resolve(self, text: str) -> list[str]:
        """Material ids named in ``text`` (an id, a name, a synonym or a grade), most specific match per place."""
        if text in self.materials:
            return [text]
        source = " " + normalize(text).replace(",", " , ").replace(";", " ; ") + " "
        found: list[str] = []
        for match in self._pattern.finditer(source):  # one pass; at each place the longest name wins
            mat_id = self._by_name[match.group(1)]
            if mat_id not in found:
                found.append(mat_id)
        # and in any word form: «из алюминиевого сплава», «нержавеющими сталями» (lemmas on both sides)
        for match in self._lemma_pattern.finditer(" " + _lemma_text(source) + " "):
            mat_id = self._by_lemmas[match.group(1)]
            if mat_id not in found:
                found.append(mat_id)
        # «сталь 45», «сталь 12Х18Н10Т»: the group word is the grade's head noun, the grade says which
        return [m for m in found if not any(m in self.ancestors(other) for other in found)]

    def covers(self, offer: str, need: str) -> bool | None:
        """True when the offer's material is the need's or a group containing it; None when the need names only a
        broader group than the offer works (stainless only, the need says "steel": ask); False otherwise."""
        if offer == need or offer in self.ancestors(need):
            return True
        if need in self.ancestors(offer):
            return None
        return False

    def title(self, mat_id: str) -> str:
        m = self.materials.get(mat_id)
        return m.name if m else mat_id


def _lemma_text(text: str) -> str:
    """The words of a normalised text as lemmas, one space apart («алюминиевого сплава» → «алюминиевый сплав»)."""
    from matching.morphology import analyze

    return " ".join(analyze(t).lemma.replace("ё", "е") if re.fullmatch(r"[а-я]+", t) else t
                    for t in re.findall(r"[0-9a-zа-я][0-9a-zа-я.\-]*", text))


def validate_parameters(params: Mapping[str, Any], materials: MaterialCatalogue | None = None,
                        allowed: Iterable[str] | None = None) -> dict[str, str]:
    """Field → Russian message for every bad value; ``{}`` when all are valid. ``allowed`` limits the keys."""
    errors: dict[str, str] = {}
    allowed_set = set(allowed) if allowed is not None else set(PARAMETERS)
    for key, value in params.items():
        spec = PARAMETERS.get(key)
        if spec is None or key not in allowed_set:
            errors[key] = f"неизвестный параметр «{key}»"
            continue
        if value is None or value == "" or value == []:
            continue
        if spec.kind == "materials":
            values = value if isinstance(value, list | tuple) else [value]
            unknown = [str(v) for v in values if not isinstance(v, str) or (materials is not None and v not in materials)]
            if unknown:
                errors[key] = "нет в списке материалов: " + ", ".join(unknown)
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[key] = f"{spec.title_ru}: ожидается число"
            continue
        if spec.kind == "integer" and float(value) != int(value):
            errors[key] = f"{spec.title_ru}: ожидается целое число"
            continue
        low_ok = value > spec.minimum if spec.exclusive_minimum else value >= spec.minimum
        if not low_ok or value > spec.maximum:
            bound = "больше" if spec.exclusive_minimum else "не меньше"
            errors[key] = (f"{spec.title_ru}: должно быть {bound} {ru_number(spec.minimum)} и не больше {ru_number(spec.maximum)}"
                           f"{' ' + spec.unit if spec.unit else ''}")
    lo, hi = params.get("min_thickness_mm"), params.get("max_thickness_mm")
    if _num(lo) and _num(hi) and lo > hi and "min_thickness_mm" not in errors:
        errors["min_thickness_mm"] = "наименьшая толщина больше наибольшей"
    lo, hi = params.get("batch_min"), params.get("batch_max")
    if _num(lo) and _num(hi) and lo > hi and "batch_min" not in errors:
        errors["batch_min"] = "наименьшая партия больше наибольшей"
    return errors


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class ParamCheck:
    name: str
    held: bool | None
    detail: str


def compare_parameters(need: Mapping[str, Any], offer: Mapping[str, Any], materials: MaterialCatalogue | None = None,
                       quantity: float | None = None) -> list[ParamCheck]:
    """Check every parameter both sides give; the need's ``quantity`` against the offer's batch range."""
    checks: list[ParamCheck] = []
    mats = materials or MaterialCatalogue()
    need_mats, offer_mats = list(need.get("materials") or ()), list(offer.get("materials") or ())
    if need_mats and offer_mats:
        for m in need_mats:
            verdicts = [mats.covers(o, m) for o in offer_mats]
            title = mats.title(m)
            if any(v is True for v in verdicts):
                checks.append(ParamCheck("materials", True, f"материал {title} — в работе"))
            elif any(v is None for v in verdicts):
                checks.append(ParamCheck("materials", None, f"материал {title}: уточните марку"))
            else:
                offered = ", ".join(mats.title(o) for o in offer_mats)
                checks.append(ParamCheck("materials", False, f"материал {title} не обрабатывают (работают: {offered})"))
    for key in SIZE_KEYS:
        n, o = need.get(key), offer.get(key)
        if _num(n) and _num(o):
            spec = PARAMETERS[key]
            checks.append(ParamCheck(key, n <= o, f"{spec.title_ru} {ru_number(n)} {spec.unit} "
                                                   f"{'≤' if n <= o else '>'} {ru_number(o)} {spec.unit}"))
    t = need.get("max_thickness_mm")
    lo, hi = offer.get("min_thickness_mm"), offer.get("max_thickness_mm")
    if _num(t) and (_num(lo) or _num(hi)):
        ok = (not _num(lo) or lo <= t) and (not _num(hi) or t <= hi)
        rng = f"{ru_number(lo)}–{ru_number(hi)}" if _num(lo) and _num(hi) else (f"до {ru_number(hi)}" if _num(hi) else f"от {ru_number(lo)}")
        checks.append(ParamCheck("thickness", ok, f"толщина {ru_number(t)} мм {'в пределах' if ok else 'вне'} {rng} мм"))
    n, o = need.get("tolerance_it"), offer.get("tolerance_it")
    if _num(n) and _num(o):
        checks.append(ParamCheck("tolerance_it", o <= n, f"нужен IT{ru_number(n)}, держат IT{ru_number(o)}"))
    n, o = need.get("roughness_ra_um"), offer.get("roughness_ra_um")
    if _num(n) and _num(o):
        checks.append(ParamCheck("roughness_ra_um", o <= n, f"нужна Ra {ru_number(n)}, получают Ra {ru_number(o)}"))
    if quantity is not None:
        lo, hi = offer.get("batch_min"), offer.get("batch_max")
        if _num(lo) and quantity < lo:
            checks.append(ParamCheck("batch", False, f"партия {ru_number(quantity)} шт меньше наименьшей {ru_number(lo)}"))
        elif _num(hi) and quantity > hi:
            checks.append(ParamCheck("batch", False, f"партия {ru_number(quantity)} шт больше наибольшей {ru_number(hi)}"))
        elif _num(lo) or _num(hi):
            checks.append(ParamCheck("batch", True, f"партия {ru_number(quantity)} шт в пределах"))
    return checks


_NUM = r"(\d+(?:[.,]\d+)?)"
_DIMS_RE = re.compile(_NUM + r"\s*[×xх*]\s*" + _NUM + r"(?:\s*[×xх*]\s*" + _NUM + r")?\s*(мм|см|м)\b")
_UNIT_MM = {"мм": 1.0, "см": 10.0, "м": 1000.0}


def extract_parameters(text: str, materials: MaterialCatalogue | None = None) -> dict[str, Any]:
    """Parameters written in a text: «камера 6×2×2 м», «Ø 400 мм», «до 3 т», «толщина до 20 мм», «IT7», «Ra 0,8»,
    and material grades or groups from the list."""
    src = normalize(text)
    out: dict[str, Any] = {}

    def num(s: str) -> float:
        return float(s.replace(",", "."))

    m = _DIMS_RE.search(src)
    if m:
        scale = _UNIT_MM[m.group(4)]
        dims = [num(g) * scale for g in m.groups()[:3] if g]
        for key, value in zip(("max_length_mm", "max_width_mm", "max_height_mm"), dims, strict=False):
            out[key] = value
    m = re.search(r"(?:ø|⌀|диаметр(?:ом)?(?:\s+до)?|d\s*=?)\s*" + _NUM + r"\s*(мм|м)\b", src)
    if m:
        out["max_diameter_mm"] = num(m.group(1)) * _UNIT_MM[m.group(2)]
    m = re.search(r"(?:длин\w*|длиной)\s*(?:до\s*)?" + _NUM + r"\s*(мм|м)\b", src)
    if m and "max_length_mm" not in out:
        out["max_length_mm"] = num(m.group(1)) * _UNIT_MM[m.group(2)]
    m = re.search(r"(?:масс\w*|вес\w*)\s*(?:до\s*)?" + _NUM + r"\s*(кг|т)\b", src) or \
        re.search(r"до\s*" + _NUM + r"\s*(т|кг)\b", src)
    if m:
        out["max_mass_kg"] = num(m.group(1)) * (1000.0 if m.group(2) == "т" else 1.0)
    m = re.search(r"толщин\w*\s*(?:от\s*" + _NUM + r"\s*)?(?:до\s*)?" + _NUM + r"\s*мм", src)
    if m:
        if m.group(1):
            out["min_thickness_mm"] = num(m.group(1))
        out["max_thickness_mm"] = num(m.group(2))
    m = re.search(r"\bit\s*(\d{1,2})\b", src) or re.search(r"(\d{1,2})\s*(?:-?й\s*)?квалитет", src)
    if m and 1 <= int(m.group(1)) <= 18:
        out["tolerance_it"] = int(m.group(1))
    m = re.search(r"\bra\s*" + _NUM, src)
    if m:
        out["roughness_ra_um"] = num(m.group(1))
    if materials is not None:
        mats = materials.resolve(text)
        if mats:
            out["materials"] = mats
    return out
