"""Forms of the community pages: they carry the input and the CSRF token; the services validate."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField

from marketplace.communities.models import CommunityAccess, CommunityKind
from marketplace.communities.services import ACCESS_TITLES_RU, KIND_TITLES_RU


class CommunityForm(FlaskForm):
    owner_id = SelectField(_l("Организация-владелец"), coerce=int, validate_choice=False)
    name = StringField(_l("Название"))
    kind = SelectField(_l("Вид"), validate_choice=False, choices=[SelectChoice(k.value, KIND_TITLES_RU[k]) for k in CommunityKind])
    access = SelectField(_l("Доступ"), validate_choice=False,
                         choices=[SelectChoice(a.value, ACCESS_TITLES_RU[a]) for a in CommunityAccess])
    region = SelectField(_l("Регион"), validate_choice=False)
    description = TextAreaField(_l("Описание"))


class OrganizationActionForm(FlaskForm):
    """Join, leave, approve, remove: the organization acted for (or on) and the CSRF token."""

    organization_id = HiddenField()


class InviteForm(FlaskForm):
    tax_id = StringField(_l("ИНН организации"))
