"""The operations catalogue as pages: the tree by family with a search box, and a page per operation with who
performs it (the viewer's region first) and the open needs that ask for it. No login."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import format_decimal
from flask_login import current_user
from sqlalchemy import select

from marketplace.classifiers.models import ClassifierCode
from marketplace.extensions import db
from marketplace.listings.models import KIND_TITLES_RU
from marketplace.operations import services
from matching.parameters import PARAMETERS

bp = Blueprint("operations", __name__)


def _catalogue():
    from marketplace.listings.operations_fields import current_catalogue

    return current_catalogue()


def count_text(value: int | None) -> str:
    """A count as the reader's locale writes it: "1 200"."""
    return format_decimal(Decimal(value or 0), format="#,##0")


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """«1 предложение», «3 предложения», «5 предложений»."""
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"count_text": count_text, "plural_ru": plural_ru, "kind_titles": KIND_TITLES_RU}


def _code_names(scheme: str, codes: tuple[str, ...]) -> list[tuple[str, str]]:
    if not codes:
        return []
    names = dict(db.session.execute(select(ClassifierCode.code, ClassifierCode.name).where(
        ClassifierCode.scheme == scheme, ClassifierCode.code.in_(list(codes)))).all())
    return [(code, names.get(code, "")) for code in codes]


@bp.get("/operations")
def index() -> str:
    catalogue = _catalogue()
    q = (request.args.get("q") or "").strip()[:200]
    found = services.search_operations(catalogue, q) if q else []
    counts = services.offer_counts(catalogue) if q else {}
    return render_template("operations/index.html", tree=services.catalogue_tree(catalogue) if not q else [],
                           q=q, found=found, counts=counts,
                           paths={op.id: catalogue.path(op.id)[:-1] for op in found})


@bp.get("/operations/<op_id>")
def detail(op_id: str) -> str:
    catalogue = _catalogue()
    operation = catalogue.get(op_id)
    if operation is None:
        abort(404)
    region = services.viewer_region_code(current_user, (request.args.get("region") or "").strip() or None)
    counts = services.offer_counts(catalogue)
    children = sorted(catalogue.children(op_id), key=lambda c: c.position)
    return render_template(
        "operations/detail.html", operation=operation, path=catalogue.path(op_id)[:-1], children=children,
        counts=counts, okved2=_code_names("okved2", operation.okved2), okpd2=_code_names("okpd2", operation.okpd2),
        parameters=[PARAMETERS[k] for k in operation.parameters if k in PARAMETERS],
        providers=services.providers(catalogue, op_id, region),
        needs=services.operation_needs(catalogue, op_id, current_user))
