"""Forms of the coordinator's pages (CSRF token plus the reason of a hide)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField


class CoordinatorActionForm(FlaskForm):
    """Verify, unverify, unhide: only the CSRF token."""


class HideForm(FlaskForm):
    reason = TextAreaField(_l("Причина (что нарушено)"))
