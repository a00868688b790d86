"""A believable demo marketplace: organizations across every federal district, densest in Хабаровский край and the
Far East, each a shop a real region has (machining, ship repair, metal structures, timber in the home region;
galvanizing, die casting, five-axis milling and electronics farther away), with capabilities from the operations
catalogue (its codes, real equipment and limits, materials by id), real product lines with their ОКПД2 codes, and
needs written as buyers write them: the part, its material and size, the quantity and the deadline.

The shops are in :mod:`marketplace.demo.shops`, the goods, jobs, buyers and tenders in :mod:`marketplace.demo.goods`.
The records go through the same bulk import as a user's file, so the demo exercises the real path.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from marketplace.classifiers.models import ClassifierCode
from marketplace.demo import goods, shops
from marketplace.demo.goods import ITEMS, JOBS, RENTS, TENDERS, Buyer, Item, Job
from marketplace.demo.shops import SHOPS, Cap, Shop
from marketplace.extensions import db
from marketplace.geo.models import Region, Town
from marketplace.importer.service import ImportReport, import_records
from marketplace.listings import fields as listing_fields
from marketplace.operations.catalogue import get_catalogue
from marketplace.organizations.validators import make_inn, make_ogrn
from matching.operations import OperationCatalogue

HOME_REGION = "27"  # Хабаровский край
HOME_DISTRICT = "FEFD"
STEMS = {
    "FEFD": ["Амур", "Даль", "Восток", "Тайга", "Хабар", "Приморье", "Сахалин", "Колыма", "Зея", "Бурея"],
    "SIBFD": ["Сибирь", "Енисей", "Ангара", "Обь", "Байкал", "Алтай"],
    "UFD": ["Урал", "Исеть", "Тобол", "Ямал"],
    "VFD": ["Волга", "Кама", "Вятка", "Жигули", "Сура"],
    "NWFD": ["Нева", "Ладога", "Балтика", "Онега", "Печора"],
    "CFD": ["Ока", "Москва", "Тверца", "Дон-Центр", "Угра"],
    "SFD": ["Кубань", "Дон", "Таврида", "Азов"],
    "NCFD": ["Терек", "Кавказ", "Эльбрус", "Машук"],
}
TAILS = ["", "", "-Сервис", " Завод", "-Пром", " Групп", "-Техно", "-М"]
LEGAL = ["ООО", "АО", "ООО", "ПАО", "ООО ПК", "ООО НПП", "ИП"]
PARAM_KEYS = ("max_length_mm", "max_width_mm", "max_height_mm", "max_diameter_mm", "max_mass_kg", "min_thickness_mm",
              "max_thickness_mm", "tolerance_it", "roughness_ra_um", "batch_min", "batch_max")
# The listing columns the catalogue adds (SPEC.md); passed on only once the importer knows them.
CATALOGUE_FIELDS = ("operations", "material_ids", *PARAM_KEYS)


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def describe(params: dict[str, Any], *, limits: bool) -> str:
    """The parameters in words: «Ø до 400 мм, длина до 1000 мм, IT7, Ra 1,6 мкм» (an offer's limits) or the job's."""
    upto = "до " if limits else ""
    parts = []
    names = {"max_diameter_mm": "Ø", "max_length_mm": "длина", "max_width_mm": "ширина", "max_height_mm": "высота"}
    for key, word in names.items():
        if key in params:
            parts.append(f"{word} {upto}{_num(params[key])} мм")
    if "max_mass_kg" in params:
        parts.append(f"масса {upto}{_num(params['max_mass_kg'])} кг")
    if "max_thickness_mm" in params:
        low = f"{_num(params['min_thickness_mm'])}–" if "min_thickness_mm" in params else upto
        parts.append(f"толщина {low}{_num(params['max_thickness_mm'])} мм")
    if "tolerance_it" in params:
        parts.append(f"квалитет IT{params['tolerance_it']}")
    if "roughness_ra_um" in params:
        parts.append(f"Ra {_num(params['roughness_ra_um'])} мкм")
    if "batch_max" in params:
        parts.append(f"партии от {params.get('batch_min', 1)} до {params['batch_max']} шт")
    elif "batch_min" in params:
        parts.append(f"партии от {params['batch_min']} шт")
    return ", ".join(parts)


class _Demo:
    """What the generator knows: the catalogue, the regions and towns, the codes the classifiers hold."""

    def __init__(self, rng: random.Random, today: date, catalogue: OperationCatalogue):
        self.rng, self.today, self.catalogue = rng, today, catalogue
        self.regions = list(db.session.scalars(select(Region).order_by(Region.code)))
        self.towns: dict[str, list[Town]] = {}
        for town in db.session.scalars(select(Town).order_by(Town.id)):
            self.towns.setdefault(town.region_code, []).append(town)
        self.codes = {(s, c) for s, c in db.session.execute(select(ClassifierCode.scheme, ClassifierCode.code))}
        self._ops: dict[tuple[str, ...], list[str]] = {}
        self.counter = 0
        self.used_inn: set[str] = set()

    # -- reference lookups ---------------------------------------------------------------------------------------
    def ops(self, refs: Sequence[str]) -> list[str]:
        """Catalogue ids for ``"id|phrase"`` references: the id, else what the phrase is recognised as."""
        key = tuple(refs)
        if key not in self._ops:
            out: list[str] = []
            for ref in refs:
                op_id, _, phrase = ref.partition("|")
                if op_id not in self.catalogue:
                    found = self.catalogue.recognize(phrase, top=1) if phrase else []
                    op_id = found[0].operation_id if found else ""
                if op_id and op_id not in out:
                    out.append(op_id)
            self._ops[key] = out
        return self._ops[key]

    def op_codes(self, op_ids: Sequence[str], scheme: str) -> list[str]:
        return [c for c in self.catalogue.codes(op_ids, scheme) if (scheme, c) in self.codes]

    def params(self, op_ids: Sequence[str], choices: dict[str, tuple[Any, ...]], materials: str,
               *, need: bool) -> dict[str, Any]:
        """One value of each parameter the operations take (a need gives no batch or least thickness), and the
        materials by id when the operations take materials."""
        allowed = {k for op in op_ids for k in self.catalogue.get(op).parameters}  # type: ignore[union-attr]
        if need:
            allowed -= {"min_thickness_mm", "batch_min", "batch_max"}
        out: dict[str, Any] = {k: self.rng.choice(v) for k, v in choices.items() if k in allowed}
        mats = self.material_ids(materials) if "materials" in allowed else []
        if mats:
            out["material_ids"] = ";".join(mats)
        return out

    def material_ids(self, text: str) -> list[str]:
        out: list[str] = []
        for part in text.split(","):
            for mat in self.catalogue.materials.resolve(part.strip()) if part.strip() else ():
                if mat not in out:
                    out.append(mat)
        return out

    def tier_regions(self, tier: int) -> list[Region]:
        if tier == 0:
            return [r for r in self.regions if r.code == HOME_REGION]
        if tier == 1:
            return [r for r in self.regions if r.district_code == HOME_DISTRICT and r.code != HOME_REGION]
        return [r for r in self.regions if r.district_code != HOME_DISTRICT]

    def tier_region(self, tier: int) -> Region:
        """A subject of the tier, the more populous (by its towns) the likelier: an only plant of its kind stands in
        Приморье or Якутия rather than on Чукотка."""
        regions = self.tier_regions(tier)
        weights = [sum(t.population or 0 for t in self.towns.get(r.code, ())) + 1 for r in regions]
        return self.rng.choices(regions, weights)[0]

    def region(self) -> Region:
        weights = [60.0 if r.code == HOME_REGION else 8.0 if r.district_code == HOME_DISTRICT else 1.6
                   for r in self.regions]
        return self.rng.choices(self.regions, weights)[0]

    def next_id(self) -> str:
        self.counter += 1
        return f"demo-{self.counter}"

    def ends(self, low: int, high: int) -> str:
        return (self.today + timedelta(days=self.rng.randint(low, high))).isoformat()

    # -- records -------------------------------------------------------------------------------------------------
    def organization(self, region: Region, words: Sequence[str], activity: str, kind: str) -> dict[str, Any]:
        rng = self.rng
        while True:
            inn = make_inn(f"{region.code}{rng.randint(1, 99):02d}{rng.randint(0, 99999):05d}")
            if inn not in self.used_inn:
                self.used_inn.add(inn)
                break
        towns = self.towns.get(region.code) or []
        town = max(towns, key=lambda t: t.population or 0) if towns and rng.random() < 0.6 else (
            rng.choice(towns) if towns else None)
        stem, word = rng.choice(STEMS.get(region.district_code, ["Рос"])), rng.choice(words)
        if " " in word or word.isupper():
            name = f"{rng.choice(LEGAL[:6])} «{word[0].upper()}{word[1:]} {stem}»"
        else:
            name = f"{rng.choice(LEGAL)} «{stem}{word}{rng.choice(TAILS)}»"
        place = town.name if town else region.centre
        return {"type": "organization", "country": "RU", "tax_id": inn, "name": name, "kind": kind,
                "region": region.code, "town": town.name if town else "",
                "ogrn": make_ogrn(f"1{rng.randint(2, 24):02d}{region.code}{rng.randint(0, 9999999):07d}"),
                "address": f"{place}, ул. {rng.choice(['Промышленная', 'Заводская', 'Складская', 'Портовая'])}, "
                           f"д. {rng.randint(1, 120)}",
                "description": f"{activity[0].upper()}{activity[1:]}, {place}, {region.name}.",
                **demo_contacts(inn, name)}

    def capability(self, tax_id: str, cap: Cap) -> dict[str, Any] | None:
        rng = self.rng
        op_ids = self.ops(cap.ops)
        okved2, okpd2 = self.op_codes(op_ids, "okved2"), self.op_codes(op_ids, "okpd2")
        if not op_ids or not (okved2 or okpd2):
            return None
        params = self.params(op_ids, cap.params, cap.materials, need=False)
        equipment = rng.sample(cap.equipment, k=min(len(cap.equipment), rng.randint(2, 3)))
        limits = describe(params, limits=True)
        record = {
            "type": "offer", "kind": "capability", "tax_id": tax_id, "external_id": self.next_id(),
            "title": cap.title, "okved2": "; ".join(okved2), "okpd2": "; ".join(okpd2),
            "description": f"{cap.text} Оборудование: {', '.join(equipment)}."
                           + (f" Возможности: {limits}." if limits else "") + f" Материалы: {cap.materials}.",
            "equipment": ", ".join(equipment), "materials": cap.materials,
            "capacity_per_month": rng.choice(cap.capacity[0]), "capacity_unit": cap.capacity[1],
            "lead_time_days": rng.choice(cap.lead), "price": rng.choice(cap.price[0]), "unit": cap.price[1],
            "certifications": "; ".join(cap.certs), "ends_on": self.ends(90, 365),
            "operations": ";".join(op_ids), **params,
        }
        return record

    def product(self, tax_id: str, item: Item, kind: str = "product") -> dict[str, Any]:
        rng = self.rng
        price = round(rng.uniform(*item.price), -1 if item.price[1] > 1000 else 0)
        record = {"type": "offer", "kind": kind, "tax_id": tax_id, "external_id": self.next_id(),
                  "title": item.title, "okpd2": item.okpd2, "description": item.text, "unit": item.unit,
                  "price": price, "ends_on": self.ends(60, 365)}
        if kind == "surplus":
            return {**record, "title": f"Неликвид: {item.title}", "price": round(price * 0.6),
                    "quantity": rng.choice(item.quantity), "condition": "new", "location": "склад предприятия"}
        return {**record, "min_lot": item.quantity[0] if item.unit in ("м", "шт") and item.quantity[0] >= 10 else 1,
                "stock": rng.choice([0, *item.quantity]) * 2, "lead_time_days": rng.choice([3, 7, 14, 30])}

    def rent(self, tax_id: str, key: str) -> dict[str, Any]:
        title, code, model, text = RENTS[key]
        period = self.rng.choice(["day", "month"])
        return {"type": "offer", "kind": "equipment_rent", "tax_id": tax_id, "external_id": self.next_id(),
                "title": title, "okpd2": code, "description": text, "equipment_model": model, "rate_period": period,
                "price": 18000 if period == "day" else 320000, "quantity": 1, "unit": "шт",
                "ends_on": self.ends(60, 240)}

    def job(self, tax_id: str, job: Job, kind: str = "missing_operation") -> dict[str, Any]:
        rng = self.rng
        op_ids = self.ops(job.ops)
        params = self.params(op_ids, job.params, job.materials, need=True)
        quantity = rng.choice(job.quantity)
        deadline = self.today + timedelta(days=rng.randint(25, 150))
        spec = describe(params, limits=False)
        record = {"type": "need", "kind": kind, "tax_id": tax_id, "external_id": self.next_id(),
                  "title": job.title, "okved2": "; ".join(self.op_codes(op_ids, "okved2")),
                  "okpd2": "; ".join(self.op_codes(op_ids, "okpd2")),
                  "description": f"{job.text} Материал: {job.materials}." + (f" Параметры: {spec}." if spec else "")
                                 + f" Объём: {quantity} {job.unit}. Срок выполнения — до {deadline:%d.%m.%Y}.",
                  "quantity": quantity, "unit": job.unit, "budget": round(quantity * rng.uniform(*job.price), -2),
                  "starts_on": self.today.isoformat(), "ends_on": deadline.isoformat(),
                  "operations": ";".join(op_ids), **params}
        if kind == "missing_operation":
            record["frequency"] = rng.choice(job.frequency)
        return record

    def purchase(self, tax_id: str, item: Item, kind: str = "purchase_request") -> dict[str, Any]:
        rng = self.rng
        quantity = rng.choice(item.quantity)
        deadline = self.today + timedelta(days=rng.randint(*item.days))
        terms = rng.choice(["оплата по факту поставки", "отсрочка платежа 30 дней", "предоплата 30 %"])
        record = {"type": "need", "kind": kind, "tax_id": tax_id, "external_id": self.next_id(),
                  "title": item.need, "okpd2": item.okpd2, "quantity": quantity, "unit": item.unit,
                  "description": f"Требуется: {item.need.lower()} — {quantity} {item.unit}. Поставка до "
                                 f"{deadline:%d.%m.%Y}, {terms}. Сертификаты и паспорта обязательны.",
                  "budget": round(quantity * rng.uniform(*item.price), -2),
                  "starts_on": self.today.isoformat(), "ends_on": deadline.isoformat()}
        if kind == "purchase_request":
            record["mode"] = "buy"
        return record

    def tender(self, tax_id: str, key: str) -> list[dict[str, Any]]:
        title, lots = TENDERS[key]
        tender_id = f"demo-tender-{self.counter + 1}"
        out = []
        for number, lot in enumerate(lots, start=1):
            record = (self.job(tax_id, JOBS[lot], "tender_lot") if lot in JOBS
                      else self.purchase(tax_id, ITEMS[lot], "tender_lot"))
            out.append({**record, "tender": tender_id, "tender_title": title, "lot_number": number})
        return out


_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                  ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                   "t", "u", "f", "kh", "ts", "ch", "sh", "sch", "", "y", "", "e", "yu", "ya"], strict=True))
_FIRST = ("Андрей", "Елена", "Сергей", "Ольга", "Дмитрий", "Наталья", "Алексей", "Ирина", "Павел", "Татьяна")
_LAST = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров")
_POSTS = ("начальник отдела продаж", "менеджер по работе с заказчиками", "главный инженер", "инженер-технолог",
          "коммерческий директор")


def demo_contacts(inn: str, name: str) -> dict[str, str]:
    """Believable contacts of a demo organization, drawn from its ИНН (the demo's own random stream is left as is):
    a phone, a website and an e-mail on a domain made from its name, one or two contact persons."""
    rng = random.Random(inn)
    word = name.split("«")[-1].rstrip("»").split()[0].lower() if "«" in name else name.lower()
    slug = "".join(_LATIN.get(ch, ch if ch.isascii() and ch.isalnum() else "") for ch in word)[:20] or f"org{inn[-4:]}"
    domain = f"{slug}{inn[-3:]}.ru"

    def phone() -> str:
        return f"+7 (9{rng.randint(0, 99):02d}) {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"

    persons = []
    for n in range(rng.choice((1, 1, 2))):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        last += "а" if first in ("Елена", "Ольга", "Наталья", "Ирина", "Татьяна") else ""
        login = "".join(_LATIN.get(ch, "") for ch in last.lower())
        persons.append(f"{last} {first}, {_POSTS[(n + rng.randint(0, 4)) % len(_POSTS)]}, {phone()}, {login}@{domain}")
    return {"phone": phone(), "email": f"sales@{domain}", "website": f"https://{domain}", "contacts": "; ".join(persons)}


def _family_shops(demo: _Demo) -> list[Shop]:
    """A shop for every catalogue family no profile covers, built from the family's own operations."""
    covered = {demo.catalogue.get(op).family for shop in SHOPS for cap in shop.caps for op in demo.ops(cap.ops)}
    out = []
    for root in demo.catalogue.roots():
        if root.id in covered:
            continue
        leaves = [demo.catalogue.get(i) for i in demo.catalogue.descendants(root.id)]
        leaves = sorted((op for op in leaves if op is not None), key=lambda op: op.position)[:3] or [root]
        equipment = tuple(dict.fromkeys(e for op in [root, *leaves] for e in op.equipment))[:4] or ("участок",)
        cap = Cap(root.name, tuple(op.id for op in leaves), "", {}, equipment,
                  "Выполняем: " + "; ".join(op.name.lower() for op in leaves) + ".", ((100, 300), "нормо-ч"),
                  (7, 14, 21), ((1800, 2500), "нормо-ч"))
        out.append(Shop(f"family:{root.id}", ("пром", "техно", "сервис"), root.name.lower(), (0, 0.3, 1), (cap,)))
    return out


def build_records(organizations: int = 600, seed: int = 27, today: date | None = None,
                  catalogue: OperationCatalogue | None = None) -> list[dict[str, Any]]:
    """Return import records (organization, offer, need) for a demo marketplace of ``organizations`` organizations."""
    rng = random.Random(seed)
    demo = _Demo(rng, today or date.today(), catalogue or get_catalogue())
    all_shops = [*SHOPS, *_family_shops(demo)]
    # Every shop once first, with all its capabilities, products and surplus and in the nearest tier that has such a shop, so a small demo
    # still has each trade and every stage of the route templates a supplier as near Хабаровск as the charter's tiers
    # allow (the region doing what it can); then by the weights.
    anchors = [(shop, next(t for t in range(3) if shop.tiers[t] > 0)) for shop in all_shops]
    records: list[dict[str, Any]] = []
    for i in range(organizations):
        if i < len(anchors):
            shop, tier = anchors[i]
            region = demo.tier_region(tier)
            kind = "manufacturer"
        else:
            region = demo.region()
            tier = 0 if region.code == HOME_REGION else 1 if region.district_code == HOME_DISTRICT else 2
            kind = rng.choices(["manufacturer", "buyer", "both"], [55, 20, 25])[0]
            shop = None
        if kind == "buyer":
            buyer = _pick(rng, goods.BUYERS, tier)
            records.append(org := demo.organization(region, buyer.words, buyer.activity, kind))
            records.extend(_needs(demo, org["tax_id"], buyer))
            continue
        anchor = shop is not None
        shop = shop or _pick(rng, all_shops, tier)
        records.append(org := demo.organization(region, shop.words, shop.activity, kind))
        records.extend(_offers(demo, org["tax_id"], shop, complete=anchor))
        if kind == "both":
            wants = shop.wants or tuple(rng.sample(sorted(JOBS), 2))
            records.extend(demo.job(org["tax_id"], JOBS[k]) for k in rng.sample(wants, k=min(len(wants), 2)))
    for iso2, name, key in shops.FOREIGN:
        tax_id = f"{iso2}{rng.randint(10**8, 10**9 - 1)}"
        records.append({"type": "organization", "country": iso2, "tax_id": tax_id, "name": name,
                        "kind": "manufacturer", "description": f"{shops.BY_KEY[key].activity[0].upper()}"
                                                               f"{shops.BY_KEY[key].activity[1:]}, экспорт в Россию."})
        records.extend({**offer, "country": iso2} for offer in _offers(demo, tax_id, shops.BY_KEY[key]))
    return records


def _pick(rng: random.Random, profiles: Sequence[Shop] | Sequence[Buyer], tier: int) -> Any:
    weights = [p.tiers[tier] for p in profiles]
    return rng.choices(list(profiles), weights)[0]


def _offers(demo: _Demo, tax_id: str, shop: Shop, *, complete: bool = False) -> list[dict[str, Any]]:
    """A shop's offers: some of its capabilities and products, or (``complete``) all of them and its surplus."""
    rng = demo.rng
    caps = shop.caps if complete else rng.sample(
        shop.caps, k=rng.randint(min(len(shop.caps), 1 if shop.products else 2), len(shop.caps)))
    out = [r for r in (demo.capability(tax_id, cap) for cap in caps) if r is not None]
    products = shop.products if complete else rng.sample(shop.products, k=min(len(shop.products), rng.randint(1, 3)))
    for key in products:
        out.append(demo.product(tax_id, ITEMS[key]))
    if shop.surplus and (complete or rng.random() < 0.3):
        out.append(demo.product(tax_id, ITEMS[rng.choice(shop.surplus)], "surplus"))
    if shop.rents and rng.random() < 0.25:
        out.append(demo.rent(tax_id, rng.choice(shop.rents)))
    return out


def _needs(demo: _Demo, tax_id: str, buyer: Buyer) -> list[dict[str, Any]]:
    rng = demo.rng
    out: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 3)):
        what = rng.choices(["tender", "purchase", "job"], [35, 35, 30])[0]
        if what == "tender":
            out.extend(demo.tender(tax_id, rng.choice(buyer.tenders)))
        elif what == "purchase":
            out.append(demo.purchase(tax_id, ITEMS[rng.choice(buyer.purchases)]))
        else:
            out.append(demo.job(tax_id, JOBS[rng.choice(buyer.jobs)]))
    if rng.random() < 0.1:
        title, code, model, _text = RENTS["crane"]
        out.append({"type": "need", "kind": "purchase_request", "tax_id": tax_id, "external_id": demo.next_id(),
                    "title": "Требуется в аренду автокран 25–32 т на два месяца", "okpd2": code, "mode": "rent",
                    "quantity": 1, "unit": "шт", "description": f"Монтаж металлоконструкций, {model} или аналог.",
                    "starts_on": demo.today.isoformat(), "ends_on": demo.ends(30, 90)})
    return out


def importable(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without the catalogue columns the importer does not know yet (SPEC.md adds them)."""
    known = listing_fields.ALL_LISTING_FIELDS
    drop = [f for f in CATALOGUE_FIELDS if f not in known]
    return [{k: v for k, v in r.items() if k not in drop} if r["type"] != "organization" else r for r in records]


def seed_demo(organizations: int = 600, seed: int = 27,
              progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None) -> ImportReport:
    records = importable(build_records(organizations, seed))
    return import_records(list(enumerate(records, start=1)), source="demo", skip_invalid=False, progress=progress)
