"""/api/docs: the API's interactive documentation (Swagger UI from npm, ``npm run build``) over /api/v1/openapi.json.
Without the built assets the page still links the document itself."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__, url_prefix="/api/docs")


@bp.get("/")
def index() -> str:
    from marketplace.web import vendor_file_exists

    return render_template("api_docs.html", swagger_available=vendor_file_exists("swagger-ui/swagger-ui-bundle.js"))
