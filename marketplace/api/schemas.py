"""Marshmallow schemas of ``/api/v1``: what the API returns and what it accepts.

Input schemas check JSON types and bounds only; the business rules (required fields of a kind, classifier codes,
places, dates in order) stay in the services, whose ``ValidationFailed`` comes back as a 422 with field errors.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_dump, validate

from marketplace.api.openapi import MAX_ID
from marketplace.listings.fields import CHOICES
from marketplace.listings.models import NEED_KINDS, OFFER_KINDS, ListingKind, ListingStatus, Side
from matching.parameters import PARAMETERS

# Output --------------------------------------------------------------------------------------------


def money(**kwargs: Any) -> fields.Decimal:
    """A decimal as a string ("1250.50"): no float rounding on the way to the client."""
    return fields.Decimal(as_string=True, allow_none=True,
                          metadata={"type": "string", "format": "decimal", "nullable": True, **kwargs})


class RegionSchema(Schema):
    code = fields.String(required=True, metadata={"example": "27"})
    name = fields.String(required=True, metadata={"example": "Хабаровский край"})
    iso = fields.String(allow_none=True)
    district_code = fields.String(required=True)
    centre = fields.String(required=True)
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)
    timezone = fields.String(allow_none=True)


class FederalDistrictSchema(Schema):
    code = fields.String(required=True, metadata={"example": "ДФО"})
    name = fields.String(required=True)
    centre = fields.String(required=True)


class CountrySchema(Schema):
    iso2 = fields.String(required=True)
    iso3 = fields.String(required=True)
    name = fields.String(required=True)
    eaeu = fields.Boolean(required=True)
    unfriendly = fields.Boolean(required=True, metadata={"description": "В перечне 430-р."})


class ClassifierCodeSchema(Schema):
    scheme = fields.String(required=True, metadata={"example": "okpd2"})
    code = fields.String(required=True, metadata={"example": "25.62"})
    name = fields.String(required=True)
    parent_code = fields.String(allow_none=True)
    section = fields.String(required=True)
    level = fields.Integer(required=True)


class OrganizationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    country_code = fields.String(required=True)
    tax_id = fields.String(required=True)
    ogrn = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True)
    town_id = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    description = fields.String(allow_none=True)
    website = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    verified = fields.Boolean(required=True)
    archived = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    @post_dump
    def _contacts_for_the_caller(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """Contacts as the pages show them: an anonymous caller gets what COSMOS_CONTACTS_PUBLIC allows."""
        from flask import g, has_request_context

        from marketplace.organizations.contacts import public_mode

        user = g.get("api_user") if has_request_context() else None
        if getattr(user, "is_authenticated", False):
            return data
        mode = public_mode()
        if mode != "all":
            data["phone"] = data["email"] = None
        if mode == "none":
            data["website"] = data["address"] = None
        return data


def _parameter_output(key: str) -> fields.Function:
    spec = PARAMETERS[key]
    return fields.Function(lambda listing: (listing.parameters or {}).get(key), metadata={
        "type": "integer" if spec.kind == "integer" else "number", "nullable": True,
        "description": f"{spec.title_ru}{', ' + spec.unit if spec.unit else ''}."})


class ListingSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    side = fields.String(required=True)
    status = fields.String(required=True)
    organization_id = fields.Integer(required=True)
    external_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    okpd2 = fields.List(fields.String(), attribute="okpd2_codes", required=True)
    okved2 = fields.List(fields.String(), attribute="okved2_codes", required=True)
    country_code = fields.String(required=True)
    region_code = fields.String(allow_none=True)
    town_id = fields.Integer(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    quantity = money()
    unit = fields.String(allow_none=True)
    price = money(description="Цена за единицу (предложения).")
    budget = money(description="Бюджет всего (потребности).")
    currency = fields.String(required=True)
    lead_time_days = fields.Integer(allow_none=True)
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    certifications = fields.List(fields.String(), required=True)
    # Kind-specific: present only for the kinds that have them.
    equipment = fields.String(allow_none=True)
    materials = fields.String(allow_none=True)
    capacity_per_month = money()
    capacity_unit = fields.String(allow_none=True)
    min_lot = money()
    stock = money()
    condition = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    equipment_model = fields.String(allow_none=True)
    rate_period = fields.String(allow_none=True)
    tender_id = fields.Integer(allow_none=True)
    lot_number = fields.Integer(allow_none=True)
    frequency = fields.String(allow_none=True)
    mode = fields.String(allow_none=True)
    # Catalogue operations and engineering parameters: the same flat fields as the input (docs/api.md).
    operations = fields.List(fields.String(), attribute="operation_ids", required=True,
                             metadata={"description": "Операции каталога (/api/v1/operations), первая — основная."})
    material_ids = fields.Function(lambda listing: list((listing.parameters or {}).get("materials") or []),
                                   metadata={"type": "array", "items": {"type": "string"},
                                             "description": "Материалы из справочника (id)."})
    max_length_mm = _parameter_output("max_length_mm")
    max_width_mm = _parameter_output("max_width_mm")
    max_height_mm = _parameter_output("max_height_mm")
    max_diameter_mm = _parameter_output("max_diameter_mm")
    max_mass_kg = _parameter_output("max_mass_kg")
    min_thickness_mm = _parameter_output("min_thickness_mm")
    max_thickness_mm = _parameter_output("max_thickness_mm")
    tolerance_it = _parameter_output("tolerance_it")
    roughness_ra_um = _parameter_output("roughness_ra_um")
    batch_min = _parameter_output("batch_min")
    batch_max = _parameter_output("batch_max")
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class LotSchema(ListingSchema):
    pass


class TenderSchema(Schema):
    id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    external_id = fields.String(allow_none=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    status = fields.String(required=True)
    visibility = fields.String(required=True)
    submission_deadline = fields.DateTime(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    awarded_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    community_id = fields.Integer(allow_none=True)
    lots = fields.List(fields.Nested(LotSchema), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class TenderResponseSchema(Schema):
    id = fields.Integer(required=True)
    lot_id = fields.Integer(required=True)
    tender_id = fields.Function(lambda r: r.lot.tender_id, metadata={"type": "integer"})
    organization_id = fields.Integer(required=True)
    price = money(description="Цена за единицу.")
    quantity = money()
    total = money()
    lead_time_days = fields.Integer(required=True)
    comment = fields.String(required=True)
    status = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class LotResponseCountSchema(Schema):
    lot_id = fields.Integer(required=True)
    lot_number = fields.Integer(allow_none=True)
    responses = fields.Integer(required=True)


class ResponseCountSchema(Schema):
    tender_id = fields.Integer(required=True)
    sealed = fields.Boolean(required=True, metadata={"description": "До срока подачи цены и поставщики скрыты."})
    opens_at = fields.DateTime(allow_none=True, metadata={"description": "Срок подачи: после него предложения "
                                                                         "вскрываются."})
    lots = fields.List(fields.Nested(LotResponseCountSchema), required=True)


class TenderQuestionSchema(Schema):
    id = fields.Integer(required=True)
    tender_id = fields.Integer(required=True)
    question = fields.String(required=True)
    answer = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    answered_at = fields.DateTime(allow_none=True)


class LotAwardSchema(Schema):
    lot_id = fields.Integer(required=True)
    tender_id = fields.Integer(required=True)
    awarded = fields.Boolean(required=True)
    response_id = fields.Integer(allow_none=True)
    supplier_organization_id = fields.Integer(allow_none=True)
    amount = money()
    reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(required=True)


class CommunitySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    access = fields.String(required=True)
    description = fields.String(required=True)
    region_code = fields.String(allow_none=True)
    owner_organization_id = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)


class CommunityMemberSchema(Schema):
    community_id = fields.Integer(required=True)
    organization_id = fields.Integer(required=True)
    status = fields.String(required=True)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "Начало токена, чтобы узнать его в списке."})
    created_at = fields.DateTime(required=True)
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "Сам токен: показывается один раз."})


class MeSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    region_codes = fields.Function(lambda u: sorted(u.region_codes), metadata={"type": "array",
                                                                            "items": {"type": "string"}})
    organization_ids = fields.Function(lambda u: sorted(m.organization_id for m in u.memberships),
                                       metadata={"type": "array", "items": {"type": "integer"}})


# Input ---------------------------------------------------------------------------------------------


# What the API refuses, said in the document too (schemathesis' positive_data_acceptance holds the server to it):
# no NUL anywhere (PostgreSQL cannot store it); a required text has a character that str.strip() keeps (the
# services strip); a date's year is 1900–2200.
NO_NUL = "^[^\\x00]*$"
_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"^[^\\x00]*[^\\x00{_SPACE}][^\\x00]*$"
YEAR_1900_2200 = "^(19[0-9][0-9]|2[01][0-9][0-9]|2200)-"


class Text(fields.String):
    """A string without NUL characters (PostgreSQL cannot store them) and with an upper bound on its length;
    ``blank=False`` (the default of a required one): not empty and not only whitespace (documented as a pattern)."""

    def __init__(self, *, max_length: int = 20000, blank: bool | None = None, **kwargs: Any):
        blank = not kwargs.get("required") if blank is None else blank  # a required text must say something
        metadata = {"pattern": NO_NUL if blank else NOT_BLANK, **kwargs.pop("metadata", {})}
        if not blank:
            metadata.setdefault("minLength", 1)
        super().__init__(validate=validate.Length(max=max_length), metadata=metadata, **kwargs)
        self.blank = blank

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError("недопустимый символ NUL")
        if not self.blank and not text.strip():
            raise ValidationError("пустой текст")
        return text


def RegionCode(**kwargs: Any) -> fields.String:  # noqa: N802
    """A subject of the Federation by its two-digit code («27»), one of the 89 of the reference data."""
    metadata = {"description": "Код субъекта РФ, «27».", **kwargs.pop("metadata", {})}
    return fields.String(validate=validate.OneOf(region_codes()), metadata=metadata, **kwargs)


def region_codes() -> list[str]:
    import csv
    from functools import cache
    from pathlib import Path

    @cache
    def load() -> tuple[str, ...]:
        path = Path(__file__).resolve().parents[1] / "refdata" / "data" / "regions.csv"
        with path.open(encoding="utf-8") as handle:
            return tuple(sorted(row["code"] for row in csv.DictReader(handle)))

    return list(load())


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802  (a field factory, named like the fields)
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Number(**kwargs: Any) -> fields.Decimal:  # noqa: N802
    return fields.Decimal(allow_nan=False, **kwargs)


def _sane_date(value: date | datetime) -> None:
    if not 1900 <= value.year <= 2200:
        raise ValidationError("год вне 1900–2200")


def Day(**kwargs: Any) -> fields.Date:  # noqa: N802
    metadata = {"pattern": YEAR_1900_2200, **kwargs.pop("metadata", {})}
    return fields.Date(validate=_sane_date, metadata=metadata, **kwargs)


def Moment(**kwargs: Any) -> fields.DateTime:  # noqa: N802
    metadata = {"pattern": YEAR_1900_2200, **kwargs.pop("metadata", {})}
    return fields.DateTime(validate=_sane_date, metadata=metadata, **kwargs)


CREATABLE_KINDS = sorted(k.value for k in (OFFER_KINDS | NEED_KINDS) - {ListingKind.TENDER_LOT})
EDITABLE_STATUSES = [ListingStatus.DRAFT.value, ListingStatus.ACTIVE.value]


def _parameter_input(key: str) -> fields.Raw:
    """A parameter as the services read it: a number (a text with one is accepted too, as in the import); the value
    is checked by the listing services, so the API, the forms and the import refuse it with one message."""
    spec = PARAMETERS[key]
    bounds = {"minimum": spec.minimum, "maximum": spec.maximum}
    if spec.exclusive_minimum:
        bounds["exclusiveMinimum"] = True
    return fields.Raw(allow_none=True, metadata={
        "type": "integer" if spec.kind == "integer" else "number", "nullable": True, **bounds,
        "description": f"{spec.title_ru}{', ' + spec.unit if spec.unit else ''}; только для параметров выбранных "
                       "операций."})


class ListingFieldsSchema(Schema):
    """The fields of an offer or a need, named as in the import format (docs/import-format.md)."""

    title = Text(max_length=500, blank=False)
    description = Text()
    external_id = Text(max_length=128, allow_none=True, metadata={"description": "Ваш идентификатор, уникальный в "
                                                                                "организации."})
    okpd2 = fields.List(Text(max_length=20), validate=validate.Length(max=50),
                        metadata={"description": "Коды ОКПД2, первый — основной."})
    okved2 = fields.List(Text(max_length=20), validate=validate.Length(max=50))
    quantity = Number(allow_none=True)
    unit = Text(max_length=32, allow_none=True)
    price = Number(allow_none=True)
    budget = Number(allow_none=True)
    currency = Text(max_length=3)
    region = RegionCode(allow_none=True)
    town = Text(max_length=200, allow_none=True)
    lead_time_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=3650))
    starts_on = Day(allow_none=True)
    ends_on = Day(allow_none=True)
    certifications = fields.List(Text(max_length=200), validate=validate.Length(max=50))
    status = fields.String(validate=validate.OneOf(EDITABLE_STATUSES))
    equipment = Text(allow_none=True)
    materials = Text(allow_none=True)
    capacity_per_month = Number(allow_none=True)
    capacity_unit = Text(max_length=32, allow_none=True)
    min_lot = Number(allow_none=True)
    stock = Number(allow_none=True)
    condition = fields.String(allow_none=True, validate=validate.OneOf(sorted(CHOICES["condition"])))
    location = Text(allow_none=True)
    equipment_model = Text(max_length=300, allow_none=True)
    rate_period = fields.String(allow_none=True, validate=validate.OneOf(sorted(CHOICES["rate_period"])))
    frequency = fields.String(allow_none=True, validate=validate.OneOf(sorted(CHOICES["frequency"])))
    mode = fields.String(allow_none=True, validate=validate.OneOf(sorted(CHOICES["mode"])))
    operations = fields.List(Text(max_length=80), allow_none=True, validate=validate.Length(max=50), metadata={
        "description": "Id операций каталога (GET /api/v1/operations?q=…), первая — основная. Если коды ОКПД2 и "
                       "ОКВЭД2 не указаны, берутся коды операций."})
    material_ids = fields.List(Text(max_length=200), allow_none=True, validate=validate.Length(max=100), metadata={
        "description": "Материалы: id, название или марка из справочника материалов (сталь, steel.carbon, 09Г2С)."})
    max_length_mm = _parameter_input("max_length_mm")
    max_width_mm = _parameter_input("max_width_mm")
    max_height_mm = _parameter_input("max_height_mm")
    max_diameter_mm = _parameter_input("max_diameter_mm")
    max_mass_kg = _parameter_input("max_mass_kg")
    min_thickness_mm = _parameter_input("min_thickness_mm")
    max_thickness_mm = _parameter_input("max_thickness_mm")
    tolerance_it = _parameter_input("tolerance_it")
    roughness_ra_um = _parameter_input("roughness_ra_um")
    batch_min = _parameter_input("batch_min")
    batch_max = _parameter_input("batch_max")


class ListingCreateSchema(ListingFieldsSchema):
    kind = fields.String(required=True, validate=validate.OneOf(CREATABLE_KINDS))
    organization_id = Id(metadata={"description": "Организация; по умолчанию — ваша (если она одна)."})
    title = Text(max_length=500, required=True)


class ListingUpdateSchema(ListingFieldsSchema):
    pass


class RenewSchema(Schema):
    ends_on = Day(required=True, metadata={"description": "Новая дата окончания (не дальше года)."})


class HideSchema(Schema):
    reason = Text(max_length=2000, required=True)


class VerifySchema(Schema):
    verified = fields.Boolean(load_default=True)


class OrganizationUpdateSchema(Schema):
    """Profile fields (the ИНН is the organization's identity and does not change)."""

    name = Text(max_length=300, blank=False)
    ogrn = Text(max_length=15, allow_none=True)
    description = Text(allow_none=True)
    address = Text(allow_none=True)
    website = Text(max_length=300, allow_none=True)
    email = Text(max_length=254, allow_none=True)
    phone = Text(max_length=40, allow_none=True)
    kind = fields.String(validate=validate.OneOf(["manufacturer", "buyer", "both"]))
    region = RegionCode(allow_none=True)
    town = Text(max_length=200, allow_none=True)


class TenderFieldsSchema(Schema):
    title = Text(max_length=500, blank=False)
    description = Text()
    visibility = fields.String(validate=validate.OneOf(["open", "closed"]))
    submission_deadline = Moment(allow_none=True, metadata={"description": "Без часового пояса — время региона "
                                                                           "заказчика."})
    invited_organization_ids = fields.List(Id(), validate=validate.Length(max=500))
    community_id = Id(allow_none=True)


class TenderCreateSchema(TenderFieldsSchema):
    organization_id = Id(metadata={"description": "Организация-заказчик; по умолчанию — ваша."})
    title = Text(max_length=500, required=True)


class TenderUpdateSchema(TenderFieldsSchema):
    pass


class LotInputSchema(Schema):
    title = Text(max_length=500, required=True)
    description = Text()
    okpd2 = fields.List(Text(max_length=20), required=True, validate=validate.Length(max=50))
    quantity = Number(required=True)
    unit = Text(max_length=32, required=True)
    region = RegionCode(required=True)
    town = Text(max_length=200, allow_none=True)
    delivery_deadline = Day(required=True)
    budget = Number(allow_none=True)


class CancelSchema(Schema):
    reason = Text(max_length=5000, required=True)


class ResponseInputSchema(Schema):
    price = Number(required=True, metadata={"description": "Цена за единицу в валюте лота."})
    quantity = Number(required=True)
    lead_time_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=3650))
    comment = Text(max_length=5000)


class ResponseCreateSchema(ResponseInputSchema):
    organization_id = Id(metadata={"description": "Организация-поставщик; по умолчанию — ваша."})


class AwardSchema(Schema):
    response_id = Id(required=True)


class CloseLotSchema(Schema):
    reason = Text(max_length=5000, required=True)


class JoinSchema(Schema):
    organization_id = Id(metadata={"description": "Вступающая организация; по умолчанию — ваша."})


class TokenCreateSchema(Schema):
    name = Text(max_length=100, required=True, metadata={"example": "1С:ERP"})


SIDES = [s.value for s in Side]
KINDS = [k.value for k in ListingKind]
STATUSES = [s.value for s in ListingStatus]


class QuestionInputSchema(Schema):
    question = Text(max_length=5000, required=True)


class AnswerInputSchema(Schema):
    answer = Text(max_length=10000, required=True)
