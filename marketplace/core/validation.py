"""Field parsers shared by the import, the forms and the API: each names the field it rejects."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationFailed(ValueError):
    """Raised by services with every problem found, each naming its field; nothing has been saved."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def as_dict(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e.message)
        return out


class FieldParser:
    """Collects errors while parsing one record's fields."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def error(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def text(self, field: str, value: object, *, required: bool = False, max_length: int | None = None) -> str | None:
        s = _clean(value)
        if not s:
            if required:
                self.error(field, "обязательное поле")
            return None
        if max_length and len(s) > max_length:
            self.error(field, f"не длиннее {max_length} символов")
            return None
        return s

    def decimal(self, field: str, value: object, *, required: bool = False, minimum: Decimal | None = Decimal(0),
                allow_zero: bool = True) -> Decimal | None:
        s = _clean(value)
        if not s:
            if required:
                self.error(field, "обязательное поле")
            return None
        s = s.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            number = Decimal(s)
        except InvalidOperation:
            self.error(field, f"не число: {value!r}")
            return None
        if not number.is_finite():
            self.error(field, "не число")
            return None
        if minimum is not None and number < minimum:
            self.error(field, "не может быть отрицательным" if minimum == 0 else f"не меньше {minimum}")
            return None
        if not allow_zero and number == 0:
            self.error(field, "должно быть больше нуля")
            return None
        if abs(number) >= Decimal(10) ** 15:
            self.error(field, "слишком большое число")
            return None
        return number

    def integer(self, field: str, value: object, *, required: bool = False, minimum: int | None = 0,
                maximum: int | None = None) -> int | None:
        s = _clean(value)
        if not s:
            if required:
                self.error(field, "обязательное поле")
            return None
        try:
            number = int(float(s)) if re.fullmatch(r"-?\d+(\.0+)?", s) else int(s)
        except ValueError:
            self.error(field, f"не целое число: {value!r}")
            return None
        if minimum is not None and number < minimum:
            self.error(field, "не может быть отрицательным" if minimum == 0 else f"не меньше {minimum}")
            return None
        if maximum is not None and number > maximum:
            self.error(field, f"не больше {maximum}")
            return None
        return number

    def date(self, field: str, value: object, *, required: bool = False) -> date | None:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        s = _clean(value)
        if not s:
            if required:
                self.error(field, "обязательное поле")
            return None
        for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(s, fmt).date()
            except ValueError:
                continue
        self.error(field, f"дата не распознана: {value!r} (ожидается ГГГГ-ММ-ДД или ДД.ММ.ГГГГ)")
        return None

    def choice(self, field: str, value: object, choices: dict[str, str] | set[str] | frozenset[str], *,
               required: bool = False, default: str | None = None) -> str | None:
        s = _clean(value)
        if not s:
            if required and default is None:
                self.error(field, "обязательное поле")
            return default
        key = s.lower()
        if key not in choices:
            allowed = ", ".join(sorted(choices))
            self.error(field, f"недопустимое значение {s!r}; допустимо: {allowed}")
            return None
        return key

    def boolean(self, field: str, value: object, *, default: bool = False) -> bool:
        if isinstance(value, bool):
            return value
        s = _clean(value).lower()
        if not s:
            return default
        if s in {"1", "true", "yes", "да", "y"}:
            return True
        if s in {"0", "false", "no", "нет", "n"}:
            return False
        self.error(field, f"ожидается да/нет, получено {value!r}")
        return default

    def date_order(self, first_field: str, first: date | None, second_field: str, second: date | None) -> None:
        if first and second and first > second:
            self.error(second_field, f"не может быть раньше, чем {first_field} ({first.isoformat()})")


def _clean(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def split_list(value: object) -> list[str]:
    """Split a cell like "25.62; 25.61.1" or a JSON list into clean items."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in re.split(r"[;|\n]+|,\s+|\s{2,}", str(value)) if part.strip()]


def split_codes(value: object) -> list[str]:
    """Split a cell of classifier codes ("25.62.20; 25.61", "25.62 25.61", ["25.62"]) into codes."""
    if isinstance(value, list | tuple):
        value = ";".join(str(v) for v in value)
    if value is None:
        return []
    if isinstance(value, float):
        value = repr(value)
    return [part for part in re.split(r"[;,\s|]+", str(value).strip()) if part]
