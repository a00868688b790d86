"""Pages of cooperation chains: a request (from a template or a form), its build progress, the coordinator's review
queue and a chain's page (diagram, table, explanations, approve / reject / swap / comment, history).

Coordinators see requests delivered to their regions, admins all; a request of someone else is 404.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.accounts.models import UserRole
from marketplace.chains import forms, services
from marketplace.chains.diagram import chain_diagram, legend
from marketplace.chains.models import ChainRequestStatus, ChainStatus
from marketplace.core.permissions import current_organization, is_admin, roles_required
from marketplace.core.validation import ValidationFailed
from marketplace.extensions import db
from marketplace.geo.models import Region

bp = Blueprint("chains", __name__, url_prefix="/chains")

Page = str | WerkzeugResponse | tuple[str, int]
QUEUE_FILTERS = ("suggested", "approved", "infeasible", "building", "all")


def _tier_titles() -> dict[str, str]:
    from matching.geo import ProcurementTier

    return {t.label: t.title_ru for t in ProcurementTier}


@bp.context_processor
def chain_helpers() -> dict[str, Any]:
    return {"tier_titles": _tier_titles()}


def _regions() -> dict[str, str]:
    return dict(db.session.execute(select(Region.code, Region.name).order_by(Region.name)).all())


def _region_choices() -> list[tuple[str, str]]:
    names = _regions()
    if is_admin(current_user) or current_user.role != UserRole.COORDINATOR:
        return [(code, name) for code, name in sorted(names.items(), key=lambda x: x[1])]
    return [(code, names[code]) for code in sorted(current_user.region_codes, key=lambda c: names.get(c, c))]


@bp.get("/")
@roles_required(UserRole.COORDINATOR)
def queue() -> Page:
    status = request.args.get("status") or "suggested"
    status = status if status in QUEUE_FILTERS else "suggested"
    region = (request.args.get("region") or "").strip() or None
    rows = services.review_queue(current_user, status=None if status == "all" else status, region=region)
    return render_template("chains/queue.html", rows=rows, status=status, region=region, filters=QUEUE_FILTERS,
                           regions=_region_choices(), region_names=_regions())


@bp.get("/mine")
@login_required
def mine() -> Page:
    return render_template("chains/mine.html", rows=services.my_requests(current_user), region_names=_regions())


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Page:
    template = request.args.get("template") or ""
    values: dict[str, Any] = {"template": template, "quantity": "1", "delivery_region": ""}
    if current_user.role == UserRole.COORDINATOR and len(current_user.region_codes) == 1:
        values["delivery_region"] = next(iter(current_user.region_codes))
    elif current_organization() is not None and current_organization().region_code:
        values["delivery_region"] = current_organization().region_code
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            data, name = forms.request_data(values)
            services.check_delivery_region(current_user, data["delivery_region"])
            org = current_organization()
            row = services.create_request(data, user=current_user, organization_id=org.id if org else None,
                                          template=name)
        except ValidationFailed as exc:
            db.session.rollback()
            errors = forms.errors_by_field(exc)
        else:
            db.session.commit()
            services.enqueue_build(row.id)
            flash(_("Запрос создан, цепочка строится."), "success")
            return redirect(url_for("chains.request_detail", request_id=row.id))
    elif template:
        try:
            values["stages"] = forms.template_stages_json(template)
        except KeyError:
            values["template"] = ""
    page = render_template("chains/new.html", values=values, errors=errors, templates=services.template_choices(),
                           regions=_region_choices())
    return (page, 422) if errors else page


@bp.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int) -> Page:
    row = services.request_or_404(request_id)
    return render_template("chains/request.html", row=row, reviewer=services.can_review(current_user, row),
                           region_names=_regions(), stage_text={s["id"]: s["text"] for s in row.spec["stages"]},
                           running=row.status in (ChainRequestStatus.PENDING, ChainRequestStatus.BUILDING))


@bp.get("/requests/<int:request_id>/status")
@login_required
def request_status(request_id: int) -> Any:
    row = services.request_or_404(request_id)
    return jsonify({"id": row.id, "status": row.status.value, "progress": row.progress, "message": row.message,
                    "chains": len(row.chains),
                    "done": row.status not in (ChainRequestStatus.PENDING, ChainRequestStatus.BUILDING)})


@bp.post("/requests/<int:request_id>/rebuild")
@login_required
def rebuild(request_id: int) -> Page:
    row = services.request_or_404(request_id)
    if not services.can_rebuild(current_user, row):
        return redirect(url_for("chains.request_detail", request_id=row.id))
    try:
        services.reset_for_rebuild(row, user=current_user)
    except services.ChainStateError:
        db.session.rollback()
        flash(_("Цепочка по этому запросу уже утверждена."), "warning")
    else:
        db.session.commit()
        services.enqueue_build(row.id)
    return redirect(url_for("chains.request_detail", request_id=row.id))


def _chain_page(chain: Any, errors: dict[str, list[str]] | None = None, values: dict[str, str] | None = None,
                status: int = 200) -> Page:
    row = chain.request
    reviewer = services.can_review(current_user, row)
    stage_text = {s["id"]: s["text"] for s in row.spec["stages"]}
    alternatives = {s: services.alternatives_for(row, chain, s) for s in stage_text} \
        if reviewer and chain.status == ChainStatus.SUGGESTED else {}
    page = render_template("chains/chain.html", chain=chain, row=row, reviewer=reviewer, stage_text=stage_text,
                           alternatives=alternatives, diagram=chain_diagram(row, chain, _regions()), legend=legend(),
                           region_names=_regions(), errors=errors or {}, values=values or {},
                           violation_ru=services.VIOLATION_RU)
    return (page, status) if status != 200 else page


@bp.get("/chains/<int:chain_id>")
@login_required
def chain_detail(chain_id: int) -> Page:
    return _chain_page(services.chain_or_404(chain_id))


def _act(chain_id: int, action: str) -> Page:
    chain = services.chain_or_404(chain_id, review=True)
    notes: list[int] = []
    try:
        if action == "approve":
            notes = services.approve(chain, user=current_user, comment=request.form.get("comment"))
            message = _("Цепочка утверждена, участники уведомлены.")
        elif action == "reject":
            services.reject(chain, user=current_user, reason=request.form.get("reason"))
            message = _("Цепочка отклонена.")
        elif action == "swap":
            new = services.swap(chain, user=current_user, stage_id=request.form.get("stage"),
                                listing_id=request.form.get("listing_id"))
            message = _("Исполнитель заменён.") if not new.violations else \
                _("Исполнитель заменён, но нарушено: %(what)s.",
                  what=", ".join(services.VIOLATION_RU.get(v, v) for v in new.violations))
        else:
            services.comment(chain, user=current_user, text=request.form.get("text"))
            message = _("Комментарий добавлен.")
    except ValidationFailed as exc:
        db.session.rollback()
        chain = services.chain_or_404(chain_id, review=True)
        errors = {f"{action}.{k}": v for k, v in exc.as_dict().items()}
        return _chain_page(chain, errors=errors, values=request.form.to_dict(), status=422)
    db.session.commit()
    services.send_notifications(notes)
    flash(message, "warning" if action == "swap" and "нарушено" in message else "success")
    return redirect(url_for("chains.chain_detail", chain_id=chain_id))


@bp.post("/chains/<int:chain_id>/approve")
@login_required
def approve(chain_id: int) -> Page:
    return _act(chain_id, "approve")


@bp.post("/chains/<int:chain_id>/reject")
@login_required
def reject(chain_id: int) -> Page:
    return _act(chain_id, "reject")


@bp.post("/chains/<int:chain_id>/swap")
@login_required
def swap(chain_id: int) -> Page:
    return _act(chain_id, "swap")


@bp.post("/chains/<int:chain_id>/comment")
@login_required
def comment(chain_id: int) -> Page:
    return _act(chain_id, "comment")
