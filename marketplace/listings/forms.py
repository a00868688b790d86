"""What the listing forms show, per kind. Validation is not here: the services validate (``listings.fields``), the
form only lays the fields out, keeps the input and puts each error next to its field."""
from __future__ import annotations

from dataclasses import dataclass

from marketplace.listings.fields import CHOICE_TITLES_RU
from marketplace.listings.models import KIND_TITLES_RU, OFFER_KINDS, ListingKind


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str = "text"  # text | textarea | number | date | select | codes
    help: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    scheme: str | None = None  # for type "codes": okpd2 | okved2


def _choices(name: str) -> tuple[tuple[str, str], ...]:
    return tuple(CHOICE_TITLES_RU[name].items())


TITLE = FormField("title", "Название", required=True)
DESCRIPTION = FormField("description", "Описание", "textarea", "Что именно, из чего, с какой точностью, в каком объёме.")
OKVED2 = FormField("okved2", "Коды ОКВЭД2", "codes", "Начните вводить код или слова — выберите из списка; несколько "
                   "кодов через «;», первый — основной.", scheme="okved2")
OKPD2 = FormField("okpd2", "Коды ОКПД2", "codes", "Продукция или услуга по ОКПД2; несколько кодов через «;».",
                  scheme="okpd2")
QUANTITY = FormField("quantity", "Количество", "number")
UNIT = FormField("unit", "Единица измерения", help="шт, т, м², ч …")
PRICE = FormField("price", "Цена за единицу, ₽", "number")
BUDGET = FormField("budget", "Бюджет, ₽", "number")
LEAD_TIME = FormField("lead_time_days", "Срок выполнения, дней", "number")
STARTS_ON = FormField("starts_on", "Доступно с", "date")
ENDS_ON = FormField("ends_on", "Действует до", "date")
REGION = FormField("region", "Субъект РФ", "select", "Если не указан — по адресу организации.")
TOWN = FormField("town", "Город")
CERTIFICATIONS = FormField("certifications", "Сертификаты", help="Через «;»: ISO 9001; ГОСТ Р …")

KIND_FORM_FIELDS: dict[ListingKind, tuple[FormField, ...]] = {
    ListingKind.CAPABILITY: (
        TITLE, DESCRIPTION, OKVED2, OKPD2,
        FormField("equipment", "Оборудование", "textarea", "Станки и линии: модель, количество, рабочая зона."),
        FormField("materials", "Материалы", "textarea"),
        FormField("capacity_per_month", "Мощность в месяц", "number"),
        FormField("capacity_unit", "Единица мощности", help="шт, т, нормо-часы …"),
        LEAD_TIME, PRICE, UNIT, CERTIFICATIONS, REGION, TOWN, STARTS_ON, ENDS_ON,
    ),
    ListingKind.PRODUCT: (
        TITLE, DESCRIPTION, OKPD2, OKVED2, PRICE, UNIT, FormField("min_lot", "Минимальная партия", "number"),
        FormField("stock", "На складе", "number"), LEAD_TIME, CERTIFICATIONS, REGION, TOWN, STARTS_ON, ENDS_ON,
    ),
    ListingKind.SURPLUS: (
        TITLE, DESCRIPTION, OKPD2, FormField("quantity", "Количество", "number", required=True), UNIT, PRICE,
        FormField("condition", "Состояние", "select", choices=_choices("condition")),
        FormField("location", "Где находится"), REGION, TOWN,
        FormField("ends_on", "Можно забрать до", "date"),
    ),
    ListingKind.EQUIPMENT_RENT: (
        TITLE, DESCRIPTION, OKPD2, OKVED2, FormField("equipment_model", "Модель оборудования"),
        FormField("price", "Ставка аренды, ₽", "number"),
        FormField("rate_period", "За период", "select", choices=_choices("rate_period")),
        REGION, TOWN, STARTS_ON, ENDS_ON,
    ),
    ListingKind.MISSING_OPERATION: (
        TITLE, DESCRIPTION, OKVED2, OKPD2, FormField("quantity", "Объём", "number"), UNIT, BUDGET,
        FormField("frequency", "Периодичность", "select", choices=_choices("frequency")),
        FormField("region", "Где выполнить (субъект РФ)", "select", "Если не указан — по адресу организации."),
        TOWN, FormField("starts_on", "Нужно с", "date"), FormField("ends_on", "Срок", "date"),
    ),
    ListingKind.PURCHASE_REQUEST: (
        TITLE, DESCRIPTION, OKPD2, QUANTITY, UNIT, BUDGET,
        FormField("mode", "Покупка или аренда", "select", choices=_choices("mode")),
        FormField("region", "Куда поставить (субъект РФ)", "select", "Если не указан — по адресу организации."),
        TOWN, FormField("ends_on", "Срок поставки", "date"),
    ),
}

OFFER_FORM_KINDS = [k for k in ListingKind if k in OFFER_KINDS]
NEED_FORM_KINDS = [ListingKind.MISSING_OPERATION, ListingKind.PURCHASE_REQUEST]
STATUS_TITLES_RU = {"draft": "черновик", "active": "опубликовано", "closed": "закрыто", "archived": "в архиве",
                    "hidden": "скрыто координатором"}


def form_fields(kind: ListingKind) -> tuple[FormField, ...]:
    return KIND_FORM_FIELDS[kind]


def kind_title(kind: ListingKind) -> str:
    return KIND_TITLES_RU[kind]
