"""Finding listings through the search index, for the search page and the API: Russian text in any inflection
(the index stems it), filters and facets, only what the user may see.

The index answers with ids in rank order; the rows are read back from the database so that pages show the
current listing, never a stale copy.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.core.permissions import can_view_listing
from marketplace.extensions import db
from marketplace.geo.models import FederalDistrict, Region
from marketplace.indexing.services import get_backend, get_encoder
from marketplace.listings.models import Listing, ListingKind, ListingStatus, Side

log = logging.getLogger(__name__)
PAGE_FACETS = ("side", "kind", "district", "region", "okpd2_section")
CODE_PREFIX = re.compile(r"^(?:[A-Z]|\d{2}(?:\.\d{1,3}){0,3})$")
MAX_PAGE = 500  # beyond this a query should be narrowed, not paged


class BadCriteria(ValueError):
    """A search parameter is malformed; ``field`` names it."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class ListingCriteria:
    """What a visitor asked for: words and filters; empty means "any"."""

    text: str = ""
    side: str | None = None
    kind: str | None = None
    district: str | None = None
    region: str | None = None
    okpd2: str | None = None
    operation: str | None = None
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_args(cls, args: Mapping[str, Any], *, per_page: int = 20) -> ListingCriteria:
        """Parse query-string arguments; raise :class:`BadCriteria` for a value that cannot be right."""
        def arg(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            return value or None

        text = (args.get("q") or "").strip()
        if len(text) > 200:
            raise BadCriteria("q", "запрос длиннее 200 символов")
        side, kind = arg("side"), arg("kind")
        if side is not None and side not in {s.value for s in Side}:
            raise BadCriteria("side", "ожидается offer или need")
        if kind is not None and kind not in {k.value for k in ListingKind}:
            raise BadCriteria("kind", "неизвестный вид предложения или потребности")
        if side and kind and ListingKind(kind).side.value != side:
            raise BadCriteria("kind", "вид не относится к выбранной стороне")
        district, region = arg("district"), arg("region")
        if district is not None and db.session.get(FederalDistrict, district) is None:
            raise BadCriteria("district", "неизвестный федеральный округ")
        if region is not None and (len(region) != 2 or db.session.get(Region, region) is None):
            raise BadCriteria("region", "неизвестный код субъекта РФ")
        okpd2 = arg("okpd2")
        if okpd2 is not None and not CODE_PREFIX.match(okpd2):
            raise BadCriteria("okpd2", "ожидается раздел (буква) или начало кода ОКПД2, например 25.62")
        operation = arg("operation")
        if operation is not None:
            catalogue = page_catalogue()
            if catalogue is None or operation not in catalogue:
                raise BadCriteria("operation", "неизвестная операция каталога")
        try:
            page = int(args.get("page") or 1)
        except (TypeError, ValueError):
            raise BadCriteria("page", "номер страницы — целое число") from None
        if not 1 <= page <= MAX_PAGE:
            raise BadCriteria("page", f"номер страницы от 1 до {MAX_PAGE}")
        return cls(text=text, side=side, kind=kind, district=district, region=region, okpd2=okpd2,
                   operation=operation, page=page, per_page=per_page)

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query-string arguments of these criteria with ``changes`` (None drops one), for links."""
        values = {"q": self.text or None, "side": self.side, "kind": self.kind, "district": self.district,
                  "region": self.region, "okpd2": self.okpd2, "operation": self.operation,
                  "page": self.page if self.page > 1 else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}

    @property
    def narrowed(self) -> bool:
        return any((self.text, self.side, self.kind, self.district, self.region, self.okpd2, self.operation))


@dataclass(frozen=True)
class ListingResults:
    """One page of found listings in rank order, the size of the whole match set and its facet counts."""

    criteria: ListingCriteria
    listings: list[Listing]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    suggestions: list[Any] = field(default_factory=list)  # when nothing was found: operations to try instead

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.criteria.per_page)))


def _hidden_lot_ids(user: Any) -> tuple[int, ...]:
    """Tender lots whose tender ``user`` may not see: kept out of the counts, not only out of the page."""
    from marketplace.tenders.access import visible_tenders_query
    from marketplace.tenders.models import Tender

    tender_id = Listing.__table__.c.tender_id
    visible = visible_tenders_query(user).with_only_columns(Tender.id)
    return tuple(db.session.scalars(select(Listing.id).where(
        Listing.kind == ListingKind.TENDER_LOT, tender_id.is_not(None), tender_id.not_in(visible))))


def page_catalogue():
    """The operations catalogue the search expands queries with, or None when it cannot be read."""
    from marketplace.operations.catalogue import get_catalogue

    try:
        return get_catalogue()
    except Exception:  # search keeps working on words alone
        log.exception("the operations catalogue could not be loaded; searching without it")
        return None


def relevant_query(text: str, filters: Any, *, k: int = 20, offset: int = 0, facets: tuple[str, ...] = (),
                   vector: Any = None, catalogue: Any = None):
    """The search page's query (``Query(relevant=True)``): the words, the operations the catalogue recognises in
    them with their synonyms, and the query's vector when given (hybrid, with the floor of search.relevance)."""
    from search import Query
    from search.relevance import Expansion, catalogue_expansion

    expansion = catalogue_expansion(catalogue, text) if catalogue is not None else Expansion()
    return Query(text=text, vector=vector, filters=filters, facets=facets, k=k, offset=offset, relevant=True,
                 expansion=expansion)


def find_listings(criteria: ListingCriteria, user: Any = None) -> ListingResults:
    """Active listings matching ``criteria`` that ``user`` may see, ranked by the index.

    With words the match set is what :mod:`search.relevance` calls relevant: the listings with the query's content
    words in any form or one of the catalogue operations it names, then listings close in meaning above the floor.
    When nothing is relevant the page says so and offers ``suggestions``. Without words the filtered listings come
    newest first.
    """
    from marketplace.indexing.suggest import suggestions
    from search import Filters, Query

    filters = Filters(side=criteria.side, kinds=(criteria.kind,) if criteria.kind else (),
                      districts=(criteria.district,) if criteria.district else (),
                      regions=(criteria.region,) if criteria.region else (),
                      okpd2=(criteria.okpd2,) if criteria.okpd2 else (),
                      operations=(criteria.operation,) if criteria.operation else (),
                      statuses=(ListingStatus.ACTIVE.value,), exclude_ids=_hidden_lot_ids(user))
    offset = (criteria.page - 1) * criteria.per_page
    backend = get_backend()
    hints: list[Any] = []
    if criteria.text:
        catalogue = page_catalogue()
        vector = get_encoder().encode_queries([criteria.text])[0]
        result = backend.search(relevant_query(criteria.text, filters, k=criteria.per_page, offset=offset,
                                               facets=PAGE_FACETS, vector=vector, catalogue=catalogue))
        if result.total == 0:
            hints = suggestions(criteria.text, catalogue)
    else:
        result = backend.search(Query(filters=filters, facets=PAGE_FACETS, k=criteria.per_page, offset=offset))
    ids = [hit.id for hit in result.hits]
    rows = {listing.id: listing for listing in db.session.scalars(
        select(Listing).where(Listing.id.in_(ids)).options(selectinload(Listing.codes),
                                                           selectinload(Listing.organization)))} if ids else {}
    # The index may trail the database by a drain: drop rows that are gone or no longer public.
    listings = [rows[i] for i in ids if i in rows and rows[i].status == ListingStatus.ACTIVE
                and can_view_listing(user, rows[i])]
    return ListingResults(criteria, listings, result.total, dict(result.facets), hints)


def text_listing_ids(text: str, *, limit: int = 1000) -> list[int]:
    """Ids of the listings relevant to ``text`` by words (the page's rules, without vectors), best first (for the
    API's ``q``): content words in any form, or an operation the catalogue recognises in ``text``."""
    from search import Filters

    if not text.strip():
        return []
    query = relevant_query(text, Filters(), k=limit, catalogue=page_catalogue())
    return [hit.id for hit in get_backend().search(query).hits]


def text_suggestions(text: str) -> list[dict[str, Any]]:
    """Operations to try when ``text`` finds nothing (the page's suggestions, as JSON data for the API)."""
    from marketplace.indexing.suggest import suggestions

    return [s.as_dict() for s in suggestions(text, page_catalogue())]
