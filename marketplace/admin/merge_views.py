"""/admin/organizations/duplicates: organizations sharing an ИНН, and their merge into the one an admin keeps.
On the admin blueprint (``admins_only`` guards it; CSRF on the form); the merge is one transaction, audited."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from marketplace.admin import merge
from marketplace.admin.services import AdminError
from marketplace.admin.views import PER_PAGE, ActionForm, _checked, bp
from marketplace.core.paging import paginate_list
from marketplace.extensions import db
from marketplace.organizations.models import Organization


@bp.get("/organizations/duplicates")
def duplicates() -> str:
    found = paginate_list(merge.duplicate_inns(), request.args.get("page"), per_page=PER_PAGE)
    return render_template("admin/duplicates.html", groups=merge.describe(found.items), page=found.number,
                           total=found.total, pages=found.pages, form=ActionForm())


def _organization(field: str, value: str | None) -> Organization:
    if not (value or "").strip().isdigit():
        raise AdminError(field, _("выберите организацию"))
    org = db.session.get(Organization, int(value or ""))
    if org is None:
        raise AdminError(field, _("организации № %(id)s нет", id=value))
    return org


@bp.post("/organizations/merge")
def merge_duplicates() -> WerkzeugResponse:
    """Merge the group's other organizations (``source``, one or more) into the one kept (``target``)."""
    _checked()
    back = url_for("admin.duplicates", page=request.form.get("page") or None)
    try:
        target = _organization("target", request.form.get("target"))
        sources = [_organization("source", v) for v in dict.fromkeys(request.form.getlist("source"))
                   if v != str(target.id)]
        if not sources:
            raise AdminError("source", _("отметьте организации, которые нужно объединить с оставляемой"))
        reports = [merge.merge_organizations(target, source, by=current_user) for source in sources]
    except AdminError as exc:
        db.session.rollback()
        flash(_("%(message)s (поле %(field)s). Ничего не изменено.", message=exc.message, field=exc.field), "danger")
        return redirect(back)
    db.session.commit()
    from marketplace.listings.services import index_after_commit

    index_after_commit()
    flash(_("С «%(name)s» (ИНН %(inn)s) объединено организаций: %(n)s. Перенесено объявлений: %(listings)s, "
            "участников: %(members)s, других записей: %(other)s; удалено повторов: %(dropped)s.",
            name=target.name, inn=target.tax_id, n=len(reports), listings=sum(r.listings for r in reports),
            members=sum(r.members for r in reports), other=sum(r.other_rows for r in reports),
            dropped=sum(r.dropped_rows for r in reports)), "success")
    return redirect(back)
