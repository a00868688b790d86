"""``?page=&per_page=`` over a ``select()``: the page of rows, a ``meta`` object and the ``X-Total-Count`` and
``Link`` headers."""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any
from urllib.parse import urlencode

from flask import request
from sqlalchemy import Select

from marketplace.core.paging import count_rows, slice_rows

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return ceil(self.total / self.per_page) if self.total else 0

    def meta(self) -> dict[str, int]:
        return {"page": self.page, "per_page": self.per_page, "total": self.total, "pages": self.pages}

    def headers(self) -> dict[str, str]:
        links = []
        if self.page < self.pages:
            links.append(f'<{_page_url(self.page + 1, self.per_page)}>; rel="next"')
        if self.page > 1:
            links.append(f'<{_page_url(min(self.page - 1, max(self.pages, 1)), self.per_page)}>; rel="prev"')
        headers = {"X-Total-Count": str(self.total)}
        if links:
            headers["Link"] = ", ".join(links)
        return headers


def paginate(query: Select[Any], *, page: int, per_page: int) -> Page:
    """The API's page: no clamping to the last page (a page past the end is empty, as its ``meta`` says)."""
    return Page(items=slice_rows(query, page, per_page), page=page, per_page=per_page, total=count_rows(query))


def _page_url(page: int, per_page: int) -> str:
    args = request.args.to_dict(flat=True)
    args.update(page=str(page), per_page=str(per_page))
    return f"{request.base_url}?{urlencode(args)}"
