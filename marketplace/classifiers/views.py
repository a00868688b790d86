"""The JSON behind the ОКПД2/ОКВЭД2 pickers: ``/classifiers/<scheme>/search?q=``."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from marketplace.classifiers import services
from marketplace.extensions import limiter

bp = Blueprint("classifiers", __name__, url_prefix="/classifiers")


@bp.get("/<scheme>/search")
@limiter.limit("120 per minute")
def search(scheme: str) -> ResponseReturnValue:
    if scheme not in services.SCHEMES:
        abort(404)
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), 50)
    codes = services.search_codes(scheme, request.args.get("q", ""), limit=limit)
    response = jsonify([{"code": c.code, "name": c.name, "level": c.level} for c in codes])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
