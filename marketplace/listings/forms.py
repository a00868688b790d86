"""What the listing forms show, per kind. Validation is not here: the services validate (``listings.fields``), the
form only lays the fields out, keeps the input and puts each error next to its field."""
from __future__ import annotations

from dataclasses import dataclass

from marketplace.listings.fields import CHOICE_TITLES_RU
from marketplace.listings.models import KIND_TITLES_RU, OFFER_KINDS, ListingKind, Side
from marketplace.listings.operations_fields import OPERATION_KINDS, PARAMETER_FIELDS


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    type: str = "text"  # text | textarea | number | date | select | codes | operations | parameter
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


OPERATIONS = FormField("operations", "Операции из каталога", "operations",
                       "Начните вводить название операции и выберите из списка, или нажмите на подсказку, найденную "
                       "в описании. Коды ОКВЭД2/ОКПД2, если их не указать, возьмутся из операций.")
# Parameter fields: (what a shop can do, what the job is), and a hint.
PARAMETER_LABELS: dict[str, tuple[str, str, str]] = {
    "material_ids": ("Материалы, с которыми работаете", "Материал детали",
                     "Выберите из списка: группа (сталь) или марка (09Г2С, АМг6); несколько — через «;»."),
    "max_length_mm": ("Наибольшая длина детали, мм", "Длина детали, мм", "Рабочая зона, стол, камера."),
    "max_width_mm": ("Наибольшая ширина детали, мм", "Ширина детали, мм", ""),
    "max_height_mm": ("Наибольшая высота детали, мм", "Высота детали, мм", ""),
    "max_diameter_mm": ("Наибольший диаметр, мм", "Диаметр детали, мм", ""),
    "max_mass_kg": ("Наибольшая масса детали, кг", "Масса детали, кг", ""),
    "min_thickness_mm": ("Толщина от, мм", "", "Наименьшая толщина металла или стенки."),
    "max_thickness_mm": ("Толщина до, мм", "Толщина, мм", ""),
    "tolerance_it": ("Точность, которую держите: квалитет IT", "Требуемый квалитет точности IT",
                     "Число от 1 до 18: IT7 — «7»."),
    "roughness_ra_um": ("Лучшая шероховатость Ra, мкм", "Требуемая шероховатость Ra, мкм", "Например 0,8."),
    "batch_min": ("Партия от, шт", "", ""),
    "batch_max": ("Партия до, шт", "", ""),
}


def parameter_fields(side: Side) -> tuple[FormField, ...]:
    """The parameter inputs of a form: labelled for what a shop can do (an offer) or what the job is (a need)."""
    out = []
    for name in ("material_ids", *PARAMETER_FIELDS):
        offer_label, need_label, hint = PARAMETER_LABELS[name]
        label = offer_label if side == Side.OFFER else need_label
        if label:
            out.append(FormField(name, label, "parameter", hint))
    return tuple(out)


def form_fields(kind: ListingKind) -> tuple[FormField, ...]:
    """The fields of ``kind``'s form; a kind that names catalogue operations gets the picker after the description."""
    fields = KIND_FORM_FIELDS[kind]
    if kind not in OPERATION_KINDS:
        return fields
    at = [f.name for f in fields].index("description") + 1
    return (*fields[:at], OPERATIONS, *fields[at:])


def kind_title(kind: ListingKind) -> str:
    return KIND_TITLES_RU[kind]
