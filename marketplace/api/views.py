"""The assembled ``/api/v1`` blueprint: every resource module and the OpenAPI document."""
from __future__ import annotations

from flask import Response, current_app

from marketplace.api import cli  # noqa: F401  (``cosmos api token …`` on the blueprint's CLI group)
from marketplace.api.blueprint import bp
from marketplace.api.openapi import build_spec, json_response
from marketplace.api.resources import (  # noqa: F401  (each module registers its routes on bp)
    account,
    chains,
    communities,
    contacts,
    coordinator,
    deals,
    documents,
    listings,
    matching,
    operations,
    organizations,
    reference,
    tender_questions,
    tenders,
)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3 document, built once per application from the declared operations."""
    state = current_app.extensions.setdefault("cosmos_api", {})
    if not state.get("spec"):
        state["spec"] = build_spec(current_app)
    return json_response(state["spec"])


__all__ = ["bp"]
