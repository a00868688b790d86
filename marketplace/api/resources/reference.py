"""Reference data: federal districts, regions, countries, ОКПД2/ОКВЭД2 codes (public, read-only)."""
from __future__ import annotations

from typing import Any

from marshmallow import fields, validate
from sqlalchemy import Select, or_, select

from marketplace.api.blueprint import bp
from marketplace.api.openapi import PageQuery, operation, text_contains
from marketplace.api.problems import Problem
from marketplace.api.schemas import (
    ClassifierCodeSchema,
    CountrySchema,
    FederalDistrictSchema,
    RegionSchema,
    Text,
)
from marketplace.classifiers.models import ClassifierCode, Scheme
from marketplace.extensions import db
from marketplace.geo.models import Country, FederalDistrict, Region

TAG = "Справочники"


@bp.get("/federal-districts")
@operation("Федеральные округа", TAG, query=PageQuery, response=FederalDistrictSchema, paginated=True)
def federal_districts(query: dict[str, Any]) -> Select[Any]:
    return select(FederalDistrict).order_by(FederalDistrict.code)


class RegionQuery(PageQuery):
    district = Text(max_length=8, metadata={"description": "Код федерального округа (ДФО, ЦФО…)."})
    q = Text(max_length=200, metadata={"description": "Часть названия."})


@bp.get("/regions")
@operation("Субъекты РФ", TAG, query=RegionQuery, response=RegionSchema, paginated=True)
def regions(query: dict[str, Any]) -> Select[Any]:
    stmt = select(Region).order_by(Region.code)
    if query.get("district"):
        stmt = stmt.where(Region.district_code == query["district"])
    if query.get("q"):
        stmt = stmt.where(text_contains(Region.name, query["q"]))
    return stmt


@bp.get("/regions/<code>")
@operation("Субъект РФ по коду", TAG, response=RegionSchema)
def region(code: str) -> Region:
    found = db.session.get(Region, code[:2]) if len(code) <= 2 else None
    if found is None:
        raise Problem(404)
    return found


class CountryQuery(PageQuery):
    eaeu = fields.Boolean(metadata={"description": "Только страны ЕАЭС (true) или только не ЕАЭС (false)."})
    unfriendly = fields.Boolean(metadata={"description": "Только страны из перечня 430-р (true) или только не из "
                                                         "него (false)."})


@bp.get("/countries")
@operation("Страны", TAG, query=CountryQuery, response=CountrySchema, paginated=True)
def countries(query: dict[str, Any]) -> Select[Any]:
    stmt = select(Country).order_by(Country.iso2)
    if "eaeu" in query:
        stmt = stmt.where(Country.eaeu.is_(query["eaeu"]))
    if "unfriendly" in query:
        stmt = stmt.where(Country.unfriendly.is_(query["unfriendly"]))
    return stmt


class ClassifierQuery(PageQuery):
    scheme = fields.String(validate=validate.OneOf([s.value for s in Scheme]),
                           metadata={"description": "okpd2 или okved2 (по умолчанию обе)."})
    q = Text(max_length=200, metadata={"description": "Начало кода (25.62) или слово из названия."})
    parent = Text(max_length=20, metadata={"description": "Только прямые потомки кода."})


@bp.get("/classifier-codes")
@operation("Коды ОКПД2 и ОКВЭД2, с поиском", TAG, query=ClassifierQuery, response=ClassifierCodeSchema,
           paginated=True)
def classifier_codes(query: dict[str, Any]) -> Select[Any]:
    stmt = select(ClassifierCode).order_by(ClassifierCode.scheme, ClassifierCode.code)
    if query.get("scheme"):
        stmt = stmt.where(ClassifierCode.scheme == query["scheme"])
    if query.get("parent"):
        stmt = stmt.where(ClassifierCode.parent_code == query["parent"])
    text = (query.get("q") or "").strip()
    if text:
        stmt = stmt.where(or_(ClassifierCode.code.startswith(text, autoescape=True),
                              text_contains(ClassifierCode.name, text)))
    return stmt


@bp.get("/classifier-codes/<scheme>/<code>")
@operation("Код классификатора", TAG, response=ClassifierCodeSchema)
def classifier_code(scheme: str, code: str) -> ClassifierCode:
    found = db.session.get(ClassifierCode, (scheme, code)) if len(scheme) <= 8 and len(code) <= 20 else None
    if found is None:
        raise Problem(404)
    return found
