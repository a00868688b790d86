"""A realistic demo marketplace: organizations across every federal district, densest in Хабаровский край
and the Far East, with offers and needs written from real ОКПД2/ОКВЭД2 names.

The records go through the same bulk import as a user's file, so the demo exercises the real path.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from marketplace.classifiers.models import ClassifierCode
from marketplace.extensions import db
from marketplace.geo.models import Region, Town
from marketplace.importer.service import ImportReport, import_records
from marketplace.organizations.validators import make_inn, make_ogrn

HOME_REGION = "27"  # Хабаровский край
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
INDUSTRY = {"10": "продукт", "13": "текстиль", "16": "древ", "20": "хим", "22": "пласт", "23": "стройматериал",
            "24": "металл", "25": "мехобработка", "26": "электроника", "27": "электро", "28": "маш", "29": "авто",
            "30": "транс", "31": "мебель", "33": "ремонт"}
TAILS = ["", "-Сервис", " Завод", "-Пром", " Групп", "-Техно", " Мастер", "-Комплект"]
LEGAL = ["ООО", "АО", "ООО", "ПАО", "ООО ПК", "ООО НПП", "ИП"]
EQUIPMENT = {
    "24": "индукционные печи ИСТ-0,16, машины литья под давлением",
    "25": "токарные станки с ЧПУ 16А20Ф3, обрабатывающие центры DMU 50, фрезерные 6Р82, сварочные полуавтоматы",
    "28": "сборочный участок, испытательный стенд, кран-балка 5 т",
    "26": "линия поверхностного монтажа, паяльные печи оплавления, АОИ",
    "27": "намоточные станки, участок пропитки, испытательная станция",
    "22": "термопластавтоматы 250–800 т, экструдеры",
    "16": "лесопильная линия, четырёхсторонние станки, сушильные камеры",
    "23": "формовочная линия, автоклавы",
}
CERTS = ["ISO 9001", "ГОСТ Р ИСО 9001-2015", "ГОСТ РВ 0015-002-2020", "СТО Газпром 9001", "ISO 14001", "ТР ТС 010/2011"]
MATERIALS = ["сталь 40Х, 09Г2С, нержавеющая 12Х18Н10Т", "чугун СЧ20, ВЧ50", "бронза БрАЖ9-4, латунь ЛС59",
             "алюминиевые сплавы АК7, Д16Т", "полиамид, полипропилен", "сосна, лиственница, клеёный брус"]
UNITS = ["шт", "шт", "компл", "т", "кг", "м", "м2", "м3"]
FOREIGN = [("BY", "Беларусь", "ОАО «Минский механический завод»"), ("KZ", "Казахстан", "ТОО «Карагандалитмаш»"),
           ("CN", "Китай", "Harbin Heavy Machinery Co., Ltd."), ("TR", "Турция", "Anadolu Döküm A.Ş."),
           ("DE", "Германия", "Maschinenbau Nord GmbH")]


def _weighted_regions(rng: random.Random) -> Callable[[], Region]:
    regions = list(db.session.scalars(select(Region)))
    weights = []
    for r in regions:
        if r.code == HOME_REGION:
            weights.append(60.0)
        elif r.district_code == "FEFD":
            weights.append(8.0)
        else:
            weights.append(1.6)
    return lambda: rng.choices(regions, weights)[0]


def _codes(scheme: str, *, prefixes: Iterable[str], levels: Iterable[int]) -> list[ClassifierCode]:
    prefixes = tuple(prefixes)
    return [c for c in db.session.scalars(
        select(ClassifierCode).where(ClassifierCode.scheme == scheme, ClassifierCode.level.in_(list(levels))))
        if c.code.startswith(prefixes)]


def build_records(organizations: int = 600, seed: int = 27, today: date | None = None) -> list[dict[str, Any]]:
    """Return import records (organization, offer, need) for a demo marketplace of ``organizations`` organizations."""
    rng = random.Random(seed)
    today = today or date.today()
    pick_region = _weighted_regions(rng)
    towns_by_region: dict[str, list[Town]] = {}
    for town in db.session.scalars(select(Town)):
        towns_by_region.setdefault(town.region_code, []).append(town)
    industries = tuple(INDUSTRY)
    activities = _codes("okved2", prefixes=industries, levels=(3, 4))
    activity_by_industry: dict[str, list[ClassifierCode]] = {}
    for a in activities:
        activity_by_industry.setdefault(a.code[:2], []).append(a)
    products = _codes("okpd2", prefixes=industries, levels=(6,))
    okpd2_known = {c.code for c in _codes("okpd2", prefixes=industries, levels=(3, 4))}
    # A shared pool of popular items so that needs find offers and the engine has something to show.
    popular = rng.sample(products, k=min(400, len(products)))

    records: list[dict[str, Any]] = []
    used_inn: set[str] = set()
    counter = 0
    for _i in range(organizations):
        region = pick_region()
        district = region.district_code
        industry = rng.choice(industries)
        kind = rng.choices(["manufacturer", "buyer", "both"], [55, 20, 25])[0]
        while True:
            inn = make_inn(f"{region.code}{rng.randint(1, 99):02d}{rng.randint(0, 99999):05d}")
            if inn not in used_inn:
                used_inn.add(inn)
                break
        towns = towns_by_region.get(region.code) or []
        town = max(towns, key=lambda t: t.population or 0) if towns and rng.random() < 0.6 else (
            rng.choice(towns) if towns else None)
        name = (f"{rng.choice(LEGAL)} «{rng.choice(STEMS.get(district, ['Рос']))}"
                f"{INDUSTRY[industry]}{rng.choice(TAILS)}»")
        records.append({
            "type": "organization", "country": "RU", "tax_id": inn, "name": name, "kind": kind,
            "region": region.code, "town": town.name if town else "",
            "ogrn": make_ogrn(f"1{rng.randint(2, 24):02d}{region.code}{rng.randint(0, 9999999):07d}"),
            "address": f"{town.name if town else region.centre}, ул. Промышленная, д. {rng.randint(1, 120)}",
            "description": f"Предприятие отрасли «{INDUSTRY[industry]}», {region.name}.",
        })
        if kind in ("manufacturer", "both"):
            for _ in range(rng.randint(2, 5)):
                counter += 1
                records.append(_offer(rng, inn, counter, industry, activity_by_industry, popular, okpd2_known, today))
        if kind in ("buyer", "both"):
            for _ in range(rng.randint(1, 3)):
                counter += 1
                records.append(_need(rng, inn, counter, activities, popular, today))
    for iso2, _country, name in FOREIGN:
        tax_id = f"{iso2}{rng.randint(10**8, 10**9 - 1)}"
        records.append({"type": "organization", "country": iso2, "tax_id": tax_id, "name": name,
                        "kind": "manufacturer"})
        for _ in range(3):
            counter += 1
            offer = _offer(rng, tax_id, counter, rng.choice(["24", "25", "28"]), activity_by_industry, popular,
                           okpd2_known, today)
            offer["country"] = iso2
            records.append(offer)
    return records


def _offer(rng: random.Random, tax_id: str, n: int, industry: str, activities: dict[str, list[ClassifierCode]],
           popular: list[ClassifierCode], okpd2_known: set[str], today: date) -> dict[str, Any]:
    kind = rng.choices(["capability", "product", "surplus", "equipment_rent"], [45, 35, 12, 8])[0]
    base = {"type": "offer", "kind": kind, "tax_id": tax_id, "external_id": f"demo-{n}",
            "ends_on": (today + timedelta(days=rng.randint(60, 365))).isoformat()}
    if kind == "capability":
        activity = rng.choice(activities.get(industry) or activities["25"])
        okpd2_class = activity.code[:5]
        return {**base, "title": activity.name, "okved2": activity.code,
                "okpd2": okpd2_class if okpd2_class in okpd2_known else "",
                "description": f"Выполняем работы: {activity.name.lower()}. Работаем по чертежам заказчика, "
                               f"контроль ОТК. Материалы: {rng.choice(MATERIALS)}.",
                "equipment": EQUIPMENT.get(industry, "универсальное оборудование"),
                "materials": rng.choice(MATERIALS), "capacity_per_month": rng.choice([50, 200, 500, 1000, 5000]),
                "capacity_unit": rng.choice(["шт", "т", "нормо-ч"]), "lead_time_days": rng.choice([7, 14, 21, 30, 45]),
                "price": rng.choice([350, 1200, 4500, 15000]), "unit": "шт",
                "certifications": "; ".join(rng.sample(CERTS, k=rng.randint(0, 2)))}
    item = rng.choice(popular)
    unit = rng.choice(UNITS)
    common = {**base, "title": _short(item.name), "okpd2": item.code,
              "description": f"{item.name}. Код ОКПД2 {item.code}.", "unit": unit,
              "price": round(rng.uniform(100, 500000), 2)}
    if kind == "product":
        return {**common, "min_lot": rng.choice([1, 10, 100]), "stock": rng.randint(0, 5000),
                "quantity": rng.randint(10, 10000), "lead_time_days": rng.choice([3, 10, 20, 40])}
    if kind == "surplus":
        return {**common, "title": f"Неликвид: {_short(item.name)}", "quantity": rng.randint(1, 500),
                "condition": rng.choice(["new", "new", "used"]), "location": "склад предприятия",
                "price": round(rng.uniform(50, 100000), 2)}
    return {**common, "title": f"Аренда: {_short(item.name)}", "equipment_model": _short(item.name, 120),
            "rate_period": rng.choice(["day", "month"]), "quantity": 1, "unit": "шт"}


def _need(rng: random.Random, tax_id: str, n: int, activities: list[ClassifierCode],
          popular: list[ClassifierCode], today: date) -> dict[str, Any]:
    kind = rng.choices(["tender_lot", "missing_operation", "purchase_request"], [40, 30, 30])[0]
    deadline = today + timedelta(days=rng.randint(20, 200))
    base = {"type": "need", "kind": kind, "tax_id": tax_id, "external_id": f"demo-{n}",
            "starts_on": today.isoformat(), "ends_on": deadline.isoformat()}
    if kind == "missing_operation":
        activity = rng.choice(activities)
        return {**base, "title": f"Требуется: {activity.name.lower()}", "okved2": activity.code,
                "description": f"Ищем подрядчика: {activity.name.lower()}. Чертежи и ТЗ предоставим.",
                "quantity": rng.choice([20, 100, 500, 2000]), "unit": "шт",
                "frequency": rng.choice(["once", "monthly", "quarterly"])}
    item = rng.choice(popular)
    quantity = rng.choice([5, 20, 100, 500, 1000])
    common = {**base, "title": _short(item.name), "okpd2": item.code, "quantity": quantity,
              "unit": rng.choice(UNITS), "description": f"Закупка: {item.name}. Поставка до {deadline:%d.%m.%Y}.",
              "budget": round(quantity * rng.uniform(100, 50000), 2)}
    if kind == "tender_lot":
        return {**common, "tender": f"demo-tender-{n // 3}", "tender_title": f"Закупка продукции № {n // 3}",
                "lot_number": 1 + n % 3}
    return {**common, "mode": rng.choice(["buy", "buy", "rent"])}


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def seed_demo(organizations: int = 600, seed: int = 27,
              progress: Callable[[Iterable[Any], str, int], Iterable[Any]] | None = None) -> ImportReport:
    records = build_records(organizations, seed)
    return import_records(list(enumerate(records, start=1)), source="demo", skip_invalid=False, progress=progress)
