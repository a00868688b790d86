"""Paging of long lists on pages: one count, one slice, and what the pager macro (``_macros/pager.html``) needs.

    page = paginate(select(Listing).order_by(Listing.created_at.desc()), request.args.get("page"))
    render_template("…", page=page)   # page.items, page.number, page.pages, page.total

A page number that is not a positive integer is page 1; one past the end shows the last page, so a link kept from a
longer list still opens something.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from marketplace.extensions import db

PER_PAGE = 50


@dataclass(frozen=True)
class PageOf:
    items: list[Any]
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        """The position (from 1) of the first item shown, 0 when there is none."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


MAX_PAGE = 10_000


def page_number(value: Any) -> int:
    """A page number from a query argument: 1 for anything not a positive integer, at most ``MAX_PAGE``."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(number, MAX_PAGE) if number >= 1 else 1


def count_rows(query: Select[Any]) -> int:
    """How many rows ``query`` gives (its ordering dropped)."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def slice_rows(query: Select[Any], number: int, per_page: int) -> list[Any]:
    """The ``number``-th run of ``per_page`` rows of ``query`` (ordered by the caller), from 1."""
    return list(db.session.scalars(query.offset((number - 1) * per_page).limit(per_page)))


def paginate(query: Select[Any], page: Any = 1, *, per_page: int | None = None) -> PageOf:
    """The ``page``-th slice of ``query`` (ordered by the caller) and the total count, in two statements;
    ``per_page`` defaults to ``PER_PAGE``. The API's pages (``api.pagination``) count and slice the same way."""
    per_page = per_page or PER_PAGE
    total = count_rows(query)
    number = min(page_number(page), max(1, -(-total // per_page)))
    return PageOf(slice_rows(query, number, per_page), number, per_page, total)


def paginate_list(items: list[Any], page: Any = 1, *, per_page: int | None = None) -> PageOf:
    """The ``page``-th slice of a list already read and ordered (rows a policy or a permission check keeps in
    Python), with the same clamping as :func:`paginate`."""
    per_page = per_page or PER_PAGE
    number = min(page_number(page), max(1, -(-len(items) // per_page)))
    return PageOf(items[(number - 1) * per_page:number * per_page], number, per_page, len(items))
