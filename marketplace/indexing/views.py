"""The search page: offers and needs by words in any inflection, filters and facet counts from the index."""
from __future__ import annotations

import logging

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from marketplace.core import pagecache
from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region
from marketplace.indexing.finder import BadCriteria, ListingCriteria, find_listings, page_catalogue
from marketplace.listings.models import KIND_TITLES_RU, ListingKind

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__, template_folder="templates")
SIDE_TITLES_RU = {"offer": "Предложения", "need": "Потребности"}


def operation_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The operation filter's choices: (family name, [(operation id, indented name)]), the family itself first."""
    catalogue = page_catalogue()
    if catalogue is None:
        return []
    def walk(op, depth: int, options: list[tuple[str, str]]) -> list[tuple[str, str]]:
        options.append((op.id, "\u00a0\u00a0" * depth + op.name))
        for child in sorted(catalogue.children(op.id), key=lambda c: c.position):
            walk(child, depth + 1, options)
        return options

    return [(root.name, walk(root, 0, [])) for root in sorted(catalogue.roots(), key=lambda op: op.position)]


@bp.get("/search")
@pagecache.public_page(lambda: ["search"])  # what the index has: the outbox's rows, written and drained
def index() -> tuple[str, int] | str:
    regions = dict(db.session.execute(select(Region.code, Region.name)).all())
    districts = dict(db.session.execute(select(FederalDistrict.code, FederalDistrict.name)).all())
    context = {"regions": regions, "districts": districts, "side_titles": SIDE_TITLES_RU,
               "kind_titles": {k.value: title for k, title in KIND_TITLES_RU.items()},
               "kinds": [k.value for k in ListingKind], "operation_groups": operation_groups()}
    try:
        criteria = ListingCriteria.from_args(request.args)
    except BadCriteria as exc:
        return render_template("search/index.html", criteria=ListingCriteria(), results=None,
                               error=f"{exc.field}: {exc}", **context), 400
    try:
        results = find_listings(criteria, current_user)
    except Exception:  # the index is down or broken: the rest of the site keeps working
        log.exception("search failed for %r", criteria)
        return render_template("search/index.html", criteria=criteria, results=None,
                               error="Поиск временно недоступен, попробуйте позже.", **context), 503
    return render_template("search/index.html", criteria=criteria, results=results, error=None, **context)
