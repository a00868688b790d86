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


@bp.get("/<scheme>/suggest")
@limiter.limit("60 per minute")
def suggest(scheme: str) -> ResponseReturnValue:
    """Codes the engine reads from a listing's title and description (the "suggest codes" button of the forms)."""
    from marketplace.classifiers.suggest import suggest_codes

    if scheme not in services.SCHEMES:
        abort(404)
    text = (request.args.get("text") or "").strip()[:2000]
    limit = min(max(request.args.get("limit", 5, type=int) or 5, 1), 20)
    codes = suggest_codes(text, scheme, top=limit) if text else []
    return jsonify([{"code": c.code, "name": c.name, "score": round(float(c.score), 4)} for c in codes])
