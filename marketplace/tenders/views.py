"""Tender pages: the list, a buyer's draft with its lots, publishing, the suppliers' responses, comparing and
awarding. Views own the transaction; the rules live in ``services`` and ``access``."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectChoice

from marketplace.communities.services import communities_of
from marketplace.core.paging import paginate
from marketplace.core.permissions import organization_ids
from marketplace.core.validation import FieldError, ValidationFailed
from marketplace.extensions import db
from marketplace.geo.models import Region
from marketplace.listings.fields import decimal_text
from marketplace.listings.services import index_after_commit
from marketplace.organizations.models import Organization
from marketplace.tenders import access, protocol, questions, services
from marketplace.tenders.forms import (
    ActionForm,
    AwardForm,
    LotForm,
    ReasonForm,
    ResponseForm,
    TenderForm,
    apply_errors,
    raw,
)
from marketplace.tenders.models import Tender, TenderResponse, TenderStatus, TenderVisibility

bp = Blueprint("tenders", __name__, url_prefix="/tenders")

Page = str | tuple[str, int] | WerkzeugResponse


def _commit() -> None:
    """Commit, then let the workers carry the lots' outbox rows into the search index."""
    db.session.commit()
    index_after_commit()


def _my_organizations() -> list[Organization]:
    ids = organization_ids(current_user)
    if not ids:
        return []
    return list(db.session.scalars(select(Organization).where(Organization.id.in_(ids)).order_by(Organization.name)))


def _flash_rest(messages: list[str]) -> None:
    for message in messages:
        flash(message, "danger")


def _form_page(template: str, **context: Any) -> tuple[str, int]:
    """A form page: 200 when asked for, 422 when it comes back with the user's input and the errors."""
    return render_template(template, **context), 422 if request.method == "POST" else 200


def _csrf_failed(form: Any) -> None:
    if form.errors.get("csrf_token"):
        flash(_("Форма устарела: отправьте её ещё раз."), "danger")


def _refresh_deadline(tender: Tender) -> None:
    """Close a tender whose deadline passed before the periodic job came round, so every page agrees."""
    if tender.status == TenderStatus.PUBLISHED and services.deadline_passed(tender):
        services.close_tender(tender)
        _commit()


# List and detail ---------------------------------------------------------------------------------

@bp.get("/")
def index() -> Page:
    if services.close_expired_tenders():  # so that the list agrees with the tender pages before the job runs
        _commit()
    status = request.args.get("status") or ""
    query = access.visible_tenders_query(current_user)
    if status in {s.value for s in TenderStatus}:
        query = query.where(Tender.status == TenderStatus(status))
    else:
        query = query.where(Tender.status != TenderStatus.DRAFT)
        status = ""
    page = paginate(query.order_by(Tender.created_at.desc(), Tender.id.desc()), request.args.get("page"))
    mine = []
    if current_user.is_authenticated and organization_ids(current_user):
        mine = list(db.session.scalars(select(Tender).where(Tender.organization_id.in_(organization_ids(current_user)))
                                       .order_by(Tender.created_at.desc()).limit(100)))
    return render_template("tenders/index.html", tenders=page.items, page=page, mine=mine, status=status,
                           statuses=services.STATUS_TITLES_RU)


@bp.get("/<int:tender_id>")
def show(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id)
    _refresh_deadline(tender)
    manage = access.can_manage_tender(current_user, tender)
    responding = access.responding_organizations(current_user, tender)
    my_responses: dict[int, list[TenderResponse]] = {}
    if responding:
        ids = [o.id for o in responding]
        for response in db.session.scalars(select(TenderResponse).where(
                TenderResponse.lot_id.in_([lot.id for lot in tender.lots]), TenderResponse.organization_id.in_(ids))):
            my_responses.setdefault(response.lot_id, []).append(response)
    counts: dict[int, int] = {}
    awards = {}
    if manage:
        for lot in tender.lots:
            counts[lot.id] = services.response_count(lot)
    for lot in tender.lots:
        award = services.lot_award(lot)
        if award is not None and (manage or (award.supplier_organization_id in organization_ids(current_user))):
            awards[lot.id] = award
    return render_template("tenders/show.html", tender=tender, manage=manage, responding=responding,
                           my_responses=my_responses, counts=counts, awards=awards,
                           accepting=services.accepting_responses(tender), statuses=services.STATUS_TITLES_RU,
                           summary=services.tender_summary(tender) if manage else None,
                           action_form=ActionForm(), cancel_form=ReasonForm(),
                           sealed=access.responses_sealed(tender), questions=questions.questions_for(tender),
                           can_ask=questions.can_ask(current_user, tender), question_text=request.args.get("question", ""),
                           protocol=protocol.can_download_protocol(current_user, tender))


# The buyer's draft -------------------------------------------------------------------------------

def _tender_form_choices(form: TenderForm, organizations: list[Organization]) -> None:
    form.organization_id.choices = [SelectChoice(str(o.id), o.name) for o in organizations]
    form.community_id.choices = [SelectChoice("", _("— не выбрано —"))] + [
        SelectChoice(str(c.id), c.name) for c in communities_of({o.id for o in organizations})]


def _invited_ids(form: TenderForm) -> tuple[list[int], list[FieldError]]:
    """ИНН typed by the buyer → organization ids; unknown ones are an error on the field."""
    tax_ids = [t for t in (raw(form, "invited_tax_ids") or "").replace(";", ",").replace("\n", ",").split(",")
               if t.strip()]
    ids, unknown = [], []
    for tax_id in (t.strip() for t in tax_ids):
        org = db.session.scalar(select(Organization).where(Organization.tax_id == tax_id,
                                                           Organization.archived.is_(False)))
        if org is None:
            unknown.append(tax_id)
        elif org.id not in ids:
            ids.append(org.id)
    errors = [FieldError("invited_tax_ids", _("организации с ИНН %(ids)s не найдены", ids=", ".join(unknown)))] \
        if unknown else []
    return ids, errors


def _save_tender(form: TenderForm, tender: Tender | None, organizations: list[Organization]) -> Tender | None:
    invited, errors = _invited_ids(form)
    fields = {"title": raw(form, "title"), "description": raw(form, "description"),
              "visibility": raw(form, "visibility"), "submission_deadline": raw(form, "submission_deadline"),
              "invited_organization_ids": invited, "community_id": raw(form, "community_id") or None}
    try:
        if errors:
            raise ValidationFailed(errors)
        if tender is None:
            org = next((o for o in organizations if o.id == form.organization_id.data), None)
            if org is None:
                raise ValidationFailed([FieldError("organization_id", _("выберите организацию"))])
            return services.create_tender(org, user=current_user, **fields)
        return services.update_tender(tender, user=current_user, **fields)
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_rest(apply_errors(form, exc, {"invited_organizations": "invited_tax_ids",
                                             "community": "community_id"}))
        return None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Page:
    organizations = _my_organizations()
    if not organizations:
        flash(_("Чтобы объявить тендер, состойте в организации."), "warning")
        return redirect(url_for("tenders.index"))
    form = TenderForm()
    _tender_form_choices(form, organizations)
    if form.validate_on_submit():
        tender = _save_tender(form, None, organizations)
        if tender is not None:
            _commit()
            flash(_("Черновик тендера создан. Добавьте лоты и опубликуйте."), "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    else:
        _csrf_failed(form)
    return _form_page("tenders/form.html", form=form, tender=None)


@bp.route("/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def edit(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    if tender.status != TenderStatus.DRAFT:
        flash(_("Опубликованный тендер изменить нельзя."), "warning")
        return redirect(url_for("tenders.show", tender_id=tender.id))
    form = TenderForm(obj=None if request.method == "POST" else tender)
    _tender_form_choices(form, [tender.organization])
    if request.method == "GET":
        form.organization_id.data = tender.organization_id
        form.visibility.data = tender.visibility.value
        deadline = services.as_utc(tender.submission_deadline)
        form.submission_deadline.data = deadline.astimezone(services.organization_tz(tender.organization)) \
            .strftime("%Y-%m-%dT%H:%M") if deadline else ""
        form.invited_tax_ids.data = ", ".join(o.tax_id for o in tender.invited_organizations)
        form.community_id.data = str(tender.community_id or "")
    if form.validate_on_submit():
        if _save_tender(form, tender, [tender.organization]) is not None:
            _commit()
            flash(_("Тендер сохранён."), "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    else:
        _csrf_failed(form)
    return _form_page("tenders/form.html", form=form, tender=tender)


def _lot_form_choices(form: LotForm) -> None:
    form.region.choices = [SelectChoice("", _("— выберите регион —"))] + [
        SelectChoice(r.code, f"{r.name} ({r.code})") for r in db.session.scalars(select(Region).order_by(Region.name))]


def _lot_fields(form: LotForm) -> dict[str, Any]:
    return {name: raw(form, name) for name in services.LOT_FIELDS}


@bp.route("/<int:tender_id>/lots/new", methods=["GET", "POST"])
@login_required
def new_lot(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    if tender.status != TenderStatus.DRAFT:
        flash(_("Лоты добавляются только в черновик."), "warning")
        return redirect(url_for("tenders.show", tender_id=tender.id))
    form = LotForm()
    _lot_form_choices(form)
    if request.method == "GET":
        form.region.data = tender.organization.region_code or ""
    if form.validate_on_submit():
        try:
            services.add_lot(tender, user=current_user, **_lot_fields(form))
        except ValidationFailed as exc:
            db.session.rollback()
            _flash_rest(apply_errors(form, exc))
        else:
            _commit()
            flash(_("Лот добавлен."), "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    else:
        _csrf_failed(form)
    return _form_page("tenders/lot_form.html", form=form, tender=tender, lot=None)


@bp.route("/<int:tender_id>/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@login_required
def edit_lot(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    lot = access.lot_or_404(tender, lot_id)
    if tender.status != TenderStatus.DRAFT:
        flash(_("Лоты опубликованного тендера изменить нельзя."), "warning")
        return redirect(url_for("tenders.show", tender_id=tender.id))
    form = LotForm()
    _lot_form_choices(form)
    if request.method == "GET":
        form.title.data, form.description.data = lot.title, lot.description
        form.okpd2.data = "; ".join(lot.okpd2_codes)
        form.quantity.data, form.unit.data = decimal_text(lot.quantity), lot.unit
        form.region.data, form.town.data = lot.region_code, lot.town.name if lot.town else ""
        form.delivery_deadline.data = lot.ends_on.isoformat() if lot.ends_on else ""
        form.budget.data = decimal_text(lot.budget)
    if form.validate_on_submit():
        try:
            services.update_lot(lot, user=current_user, **_lot_fields(form))
        except ValidationFailed as exc:
            db.session.rollback()
            _flash_rest(apply_errors(form, exc))
        else:
            _commit()
            flash(_("Лот сохранён."), "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    else:
        _csrf_failed(form)
    return _form_page("tenders/lot_form.html", form=form, tender=tender, lot=lot)


@bp.post("/<int:tender_id>/lots/<int:lot_id>/delete")
@login_required
def delete_lot(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    lot = access.lot_or_404(tender, lot_id)
    return _act(tender, ActionForm(), lambda: services.remove_lot(lot, user=current_user), _("Лот удалён."))


def _act(tender: Tender, form: Any, operation: Any, done: str) -> WerkzeugResponse:
    """Run a state change from a button: commit and say so, or roll back and show why."""
    if not form.validate_on_submit():
        _csrf_failed(form)
        return redirect(url_for("tenders.show", tender_id=tender.id))
    try:
        operation()
    except ValidationFailed as exc:
        db.session.rollback()
        for field_error in exc.errors:
            field = form._fields.get(field_error.field)
            # A bare "обязательное поле" at the top of the page does not say which; the button's form has a label.
            flash(f"{field.label.text}: {field_error.message}" if field is not None else field_error.message,
                  "danger")
    else:
        _commit()
        flash(done, "success")
    return redirect(url_for("tenders.show", tender_id=tender.id))


@bp.post("/<int:tender_id>/publish")
@login_required
def publish(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    return _act(tender, ActionForm(), lambda: services.publish_tender(tender, user=current_user),
                _("Тендер опубликован: поставщики могут подавать предложения."))


@bp.post("/<int:tender_id>/cancel")
@login_required
def cancel(tender_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    form = ReasonForm()
    return _act(tender, form, lambda: services.cancel_tender(tender, reason=raw(form, "reason"), user=current_user),
                _("Тендер отменён."))


# Responses -------------------------------------------------------------------------------------

@bp.route("/<int:tender_id>/lots/<int:lot_id>/respond", methods=["GET", "POST"])
@login_required
def respond(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id)
    lot = access.lot_or_404(tender, lot_id)
    _refresh_deadline(tender)
    organizations = access.responding_organizations(current_user, tender)
    if not organizations:
        abort(404)
    form = ResponseForm()
    form.organization_id.choices = [SelectChoice(str(o.id), o.name) for o in organizations]
    chosen = request.values.get("organization_id", type=int) or organizations[0].id
    org = next((o for o in organizations if o.id == chosen), organizations[0])
    existing = services.organization_response(lot, org.id)
    refusals = [] if existing is not None else access.response_refusals(current_user, org, tender)
    if request.method == "GET":
        form.organization_id.data = org.id
        if existing is not None:
            form.price.data, form.quantity.data = decimal_text(existing.price), decimal_text(existing.quantity)
            form.lead_time_days.data, form.comment.data = str(existing.lead_time_days), existing.comment
        else:
            form.quantity.data = decimal_text(lot.quantity)
    if form.validate_on_submit():
        values = {name: raw(form, name) for name in ("price", "quantity", "lead_time_days", "comment")}
        try:
            if existing is None:
                response = services.submit_response(lot, org, user=current_user, **values)
            else:
                response = services.update_response(existing, user=current_user, **values)
        except ValidationFailed as exc:
            db.session.rollback()
            _flash_rest(apply_errors(form, exc, {"organization": "organization_id"}))
        else:
            _commit()
            flash(_("Предложение сохранено. Его можно изменить до окончания срока подачи."), "success")
            return redirect(url_for("tenders.response", response_id=response.id))
    else:
        _csrf_failed(form)
    return _form_page("tenders/respond.html", form=form, tender=tender, lot=lot, existing=existing,
                      accepting=services.accepting_responses(tender), refusals=refusals)


@bp.get("/responses/<int:response_id>")
@login_required
def response(response_id: int) -> Page:
    item = access.response_or_404(response_id)
    tender = item.lot.tender
    return render_template("tenders/response.html", response=item, tender=tender, lot=item.lot,
                           editable=services.accepting_responses(tender)
                           and item.organization_id in organization_ids(current_user))


@bp.get("/responses")
@login_required
def my_responses() -> Page:
    ids = organization_ids(current_user)
    responses = list(db.session.scalars(select(TenderResponse).where(TenderResponse.organization_id.in_(ids))
                                        .order_by(TenderResponse.created_at.desc()))) if ids else []
    return render_template("tenders/my_responses.html", responses=responses)


# Comparing and awarding --------------------------------------------------------------------------

@bp.get("/<int:tender_id>/lots/<int:lot_id>/responses")
@login_required
def compare(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    lot = access.lot_or_404(tender, lot_id)
    _refresh_deadline(tender)
    opened = services.opened_responses(lot)
    return render_template("tenders/compare.html", tender=tender, lot=lot, responses=opened or [],
                           sealed=opened is None, count=services.response_count(lot),
                           award=services.lot_award(lot), award_form=AwardForm(), reason_form=ReasonForm(),
                           can_award=tender.status == TenderStatus.CLOSED and services.lot_award(lot) is None)


@bp.post("/<int:tender_id>/lots/<int:lot_id>/award")
@login_required
def award(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    lot = access.lot_or_404(tender, lot_id)
    form = AwardForm()
    response_id = request.form.get("response_id", type=int)
    chosen = db.session.get(TenderResponse, response_id) if response_id else None
    if chosen is None or chosen.lot_id != lot.id:
        abort(404)
    _act(tender, form, lambda: services.award_lot(lot, chosen, user=current_user),
         _("Лот № %(n)s присуждён: %(org)s.", n=lot.lot_number, org=chosen.organization.name))
    return redirect(url_for("tenders.compare", tender_id=tender.id, lot_id=lot.id))


@bp.post("/<int:tender_id>/lots/<int:lot_id>/no-award")
@login_required
def no_award(tender_id: int, lot_id: int) -> Page:
    tender = access.tender_or_404(tender_id, manage=True)
    lot = access.lot_or_404(tender, lot_id)
    form = ReasonForm()
    _act(tender, form, lambda: services.close_lot_without_award(lot, reason=raw(form, "reason"), user=current_user),
         _("Лот № %(n)s закрыт без присуждения.", n=lot.lot_number))
    return redirect(url_for("tenders.compare", tender_id=tender.id, lot_id=lot.id))


def money_text(value: Decimal | None) -> str:
    """Roubles as the reader's locale writes them: "1 850,50", or "222 060" when there are no kopecks."""
    if value is None:
        return "—"
    value = Decimal(value)
    return format_decimal(value, format="#,##0" if value == value.to_integral_value() else "#,##0.00")


def number_text(value: Decimal | None) -> str:
    """A quantity as the reader's locale writes it: "1 200", "2,5" (form fields keep ``decimal_text``)."""
    return "—" if value is None else format_decimal(Decimal(value), format="#,##0.###")


@bp.context_processor
def _number_formats() -> dict[str, Any]:
    return {"money": money_text, "number": number_text}


@bp.app_template_filter("tender_visibility")
def _visibility_title(value: TenderVisibility) -> str:
    return _("закрытый") if value == TenderVisibility.CLOSED else _("открытый")


@bp.app_template_global("tender_time")
def tender_time(tender: Tender, moment: Any) -> str:
    """A moment in the buyer's region time, with the offset: "10.12.2026 18:00 (UTC+10:00)"."""
    moment = services.as_utc(moment)
    if moment is None:
        return "—"
    local = moment.astimezone(services.organization_tz(tender.organization))
    return local.strftime("%d.%m.%Y %H:%M") + f" ({local.strftime('UTC%z')[:-2]}:{local.strftime('%z')[-2:]})"


from marketplace.tenders import fair_views  # noqa: E402,F401  (questions and the protocol, on this blueprint)
