"""/admin: users (search, block, reset, roles, coordinators' regions), organizations (their duplicates and merge
in ``merge_views``), communities and the audit log. Only administrators;
everyone else gets 404 (the pages' existence is not advertised). Every change is audited."""
from __future__ import annotations

from datetime import datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.accounts.models import User, UserRole
from marketplace.admin import services
from marketplace.core.models import AuditLog
from marketplace.core.paging import paginate
from marketplace.core.permissions import is_admin
from marketplace.extensions import db, login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")
PER_PAGE = 50
ROLE_TITLES = {"manufacturer": "производитель", "buyer": "заказчик", "coordinator": "координатор",
               "admin": "администратор"}


class ActionForm(FlaskForm):
    """Only the CSRF token."""


@bp.before_request
def admins_only() -> WerkzeugResponse | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not is_admin(current_user):
        abort(404)
    return None


@bp.get("/")
def index() -> WerkzeugResponse:
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users() -> str:
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") if request.args.get("role") in ROLE_TITLES else None
    state = request.args.get("state") if request.args.get("state") in ("active", "blocked") else None
    stmt = select(User)
    if q:
        stmt = stmt.where(services.user_search_clause(q))
    if role:
        stmt = stmt.where(User.role == UserRole(role))
    if state:
        stmt = stmt.where(User.is_active.is_(state == "active"))
    found = paginate(stmt.order_by(User.id), request.args.get("page"), per_page=PER_PAGE)
    return render_template("admin/users.html", users=found.items, q=q, role=role, state=state, page=found.number,
                           total=found.total, pages=found.pages, roles=ROLE_TITLES, form=ActionForm())


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _done(user: User, message: str) -> WerkzeugResponse:
    db.session.commit()
    flash(message, "success")
    return redirect(request.form.get("next") if (request.form.get("next") or "").startswith("/admin/")
                    else url_for("admin.users", q=user.email))


def _refused(exc: services.AdminError) -> WerkzeugResponse:
    db.session.rollback()
    flash(f"{exc.message}", "danger")
    return redirect(url_for("admin.users"))


def _checked() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.post("/users/<int:user_id>/block")
def block(user_id: int) -> WerkzeugResponse:
    _checked()
    user = _user_or_404(user_id)
    try:
        services.set_active(user, False, by=current_user)
    except services.AdminError as exc:
        return _refused(exc)
    return _done(user, _("Учётная запись %(email)s заблокирована.", email=user.email))


@bp.post("/users/<int:user_id>/unblock")
def unblock(user_id: int) -> WerkzeugResponse:
    _checked()
    user = _user_or_404(user_id)
    services.set_active(user, True, by=current_user)
    return _done(user, _("Учётная запись %(email)s разблокирована.", email=user.email))


@bp.post("/users/<int:user_id>/reset")
def reset(user_id: int) -> WerkzeugResponse:
    _checked()
    user = _user_or_404(user_id)
    services.reset_password(user, by=current_user)
    return _done(user, _("Пароль %(email)s сброшен, ссылка для нового отправлена на почту.", email=user.email))


@bp.post("/users/<int:user_id>/role")
def role(user_id: int) -> WerkzeugResponse:
    _checked()
    user = _user_or_404(user_id)
    try:
        services.set_role(user, request.form.get("role", ""), by=current_user)
    except services.AdminError as exc:
        return _refused(exc)
    return _done(user, _("Роль %(email)s: %(role)s.", email=user.email, role=ROLE_TITLES[str(user.role)]))


@bp.post("/users/<int:user_id>/regions")
def regions(user_id: int) -> WerkzeugResponse:
    """Appoint a coordinator: region codes and federal district codes, separated by spaces or commas."""
    _checked()
    user = _user_or_404(user_id)
    codes = [c for c in (request.form.get("regions") or "").replace(",", " ").split() if c]
    try:
        chosen = services.resolve_regions(codes, field="regions")
        services.grant_coordinator(user, chosen, by=f"user:{current_user.id}", replace=True)
    except services.AdminError as exc:
        return _refused(exc)
    return _done(user, _("%(email)s — координатор регионов: %(codes)s.", email=user.email,
                         codes=", ".join(sorted(user.region_codes))))


def _day(name: str, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime(request.args.get(name) or "", "%Y-%m-%d")
    except ValueError:
        return None
    return datetime.combine(day.date(), time.max if end else time.min)


@bp.get("/audit")
def audit() -> str:
    filters = {k: (request.args.get(k) or "").strip()[:64] for k in ("action", "entity_type", "entity_id", "actor")}
    stmt = select(AuditLog)
    if filters["action"]:
        stmt = stmt.where(AuditLog.action.like(f"{filters['action']}%"))
    if filters["entity_type"]:
        stmt = stmt.where(AuditLog.entity_type == filters["entity_type"])
    if filters["entity_id"]:
        stmt = stmt.where(AuditLog.entity_id == filters["entity_id"])
    if filters["actor"]:
        stmt = stmt.where(AuditLog.actor == filters["actor"])
    since, until = _day("since"), _day("until", end=True)
    if since:
        stmt = stmt.where(AuditLog.at >= since)
    if until:
        stmt = stmt.where(AuditLog.at <= until)
    found = paginate(stmt.order_by(AuditLog.id.desc()), request.args.get("page"), per_page=PER_PAGE)
    return render_template("admin/audit.html", entries=found.items, filters=filters,
                           since=request.args.get("since", ""), until=request.args.get("until", ""),
                           page=found.number, total=found.total, pages=found.pages)


@bp.get("/organizations")
def organizations() -> str:
    from marketplace.organizations.models import Organization

    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(Organization)
    if q:
        stmt = stmt.where(db.or_(Organization.tax_id.like(f"{q}%"), Organization.name.like(f"%{q}%"),
                                 func.lower(Organization.name).like(f"%{q.lower()}%")))
    if request.args.get("unverified") == "1":
        stmt = stmt.where(Organization.verified.is_(False))
    found = paginate(stmt.order_by(Organization.name, Organization.id), request.args.get("page"), per_page=PER_PAGE)
    return render_template("admin/organizations.html", organizations=found.items, q=q, page=found.number,
                           total=found.total, unverified=request.args.get("unverified") == "1",
                           pages=found.pages, form=ActionForm())


@bp.post("/organizations/<int:organization_id>/<any(verify, unverify, block, unblock):action>")
def organization_action(organization_id: int, action: str) -> WerkzeugResponse:
    """Verify or block (archive: hidden from strangers, publishes nothing) an organization; audited."""
    from marketplace.core.audit import record_audit
    from marketplace.organizations.models import Organization

    _checked()
    org = db.session.get(Organization, organization_id)
    if org is None:
        abort(404)
    if action == "unblock" and org.merged_into_id is not None:
        flash(_("«%(name)s» объединена с организацией № %(id)s и остаётся заблокированной.", name=org.name,
                id=org.merged_into_id), "danger")
        return redirect(url_for("admin.organizations", q=org.tax_id))
    column, value = {"verify": ("verified", True), "unverify": ("verified", False),
                     "block": ("archived", True), "unblock": ("archived", False)}[action]
    if getattr(org, column) != value:
        setattr(org, column, value)
        record_audit(f"admin.{action}", "organization", org.id, {column: [not value, value]}, user_id=current_user.id)
    db.session.commit()
    messages = {"verify": _("Организация «%(name)s» подтверждена."), "unverify": _("Отметка о проверке снята."),
                "block": _("Организация «%(name)s» заблокирована."),
                "unblock": _("Организация «%(name)s» разблокирована.")}
    flash(messages[action] % {"name": org.name}, "success")
    return redirect(url_for("admin.organizations", q=org.tax_id))


@bp.get("/communities")
def communities() -> str:
    """Every community, secret ones too: kind, access, region, active members; each links to its page."""
    from marketplace.communities.models import Community, CommunityAccess, CommunityMember, MemberStatus
    from marketplace.core.labels import choices
    from marketplace.geo.models import Region

    q = (request.args.get("q") or "").strip()[:100]
    access = request.args.get("access") if request.args.get("access") in {a.value for a in CommunityAccess} else None
    stmt = select(Community)
    if q:
        stmt = stmt.where(db.or_(Community.name.like(f"%{q}%"), func.lower(Community.name).like(f"%{q.lower()}%")))
    if access:
        stmt = stmt.where(Community.access == CommunityAccess(access))
    found = paginate(stmt.order_by(Community.name, Community.id), request.args.get("page"), per_page=PER_PAGE)
    ids = [c.id for c in found.items]
    members = dict(db.session.execute(
        select(CommunityMember.community_id, func.count()).where(CommunityMember.community_id.in_(ids),
                                                                 CommunityMember.status == MemberStatus.ACTIVE)
        .group_by(CommunityMember.community_id)).all()) if ids else {}
    codes = {c.region_code for c in found.items if c.region_code}
    regions = dict(db.session.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all()) \
        if codes else {}
    return render_template("admin/communities.html", communities=found.items, members=members, regions=regions,
                           q=q, access=access, accesses=choices("community_access"), page=found.number,
                           total=found.total, pages=found.pages)


from marketplace.admin import merge_views  # noqa: E402,F401 - its routes are on ``bp``
