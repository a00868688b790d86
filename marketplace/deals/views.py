"""Pages of requests for quotation: the request form (from a match, a listing, a producer page or a chain stage),
the list of one's conversations and a conversation with its messages, offer, acceptance and refusal."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.accounts.views import region_choices
from marketplace.core import permissions
from marketplace.core.paging import paginate
from marketplace.core.validation import ValidationFailed
from marketplace.deals import access, services
from marketplace.deals import attachments as files
from marketplace.deals.attachments import attachments_available
from marketplace.deals.candidates import Candidate, candidates_for, parse_targets
from marketplace.deals.models import Conversation, ConversationStatus
from marketplace.extensions import db

bp = Blueprint("deals", __name__, url_prefix="/deals")
PER_PAGE = 20


@bp.record_once
def _register_owner(_state: Any) -> None:
    files.register()


@bp.app_template_global("rfq_url")
def rfq_url(offer: Any = None, organization: Any = None) -> str | None:
    """The request form's address for an offer or a producer; None on one's own organization's pages."""
    org_id = offer.organization_id if offer is not None else getattr(organization, "id", None)
    if org_id is None or org_id in permissions.organization_ids(current_user):
        return None
    if offer is not None:
        return url_for("deals.new", offer=offer.id)
    return url_for("deals.new", organization=org_id)


@bp.app_template_global("match_conversations")
def match_conversations(match_id: int) -> list[Conversation]:
    return services.conversations_for_match(match_id)


def _conversation_or_404(conversation_id: int) -> tuple[Conversation, str]:
    conversation = db.session.get(Conversation, conversation_id)
    role = access.conversation_role(current_user, conversation) if conversation is not None else None
    if role is None:
        abort(404)
    return conversation, role  # type: ignore[return-value]


@bp.route("/new", methods=["GET", "POST"])
@permissions.organization_required
def new() -> Any:
    buyer = permissions.current_organization(current_user)
    assert buyer is not None
    origin = {k: request.values.get(k) for k in ("offer", "match", "organization", "need", "chain", "stage")}
    try:
        found = candidates_for(current_user, buyer, origin)
    except LookupError:
        abort(404)
    errors: dict[str, list[str]] = {}
    values = found.defaults
    chosen = {c.key for c in found.candidates if c.checked}
    if request.method == "POST":
        values = request.form.to_dict()
        chosen = set(request.form.getlist("target"))
        try:
            try:
                targets = parse_targets(current_user, request.form.getlist("target"), found.candidates)
            except ValidationFailed as exc:  # a forged supplier: report it with the other fields' problems
                try:
                    services.parse_request_fields(values)
                except ValidationFailed as more:
                    raise ValidationFailed(exc.errors + more.errors) from None
                raise
            conversation_request = services.send_request(
                buyer, current_user, values, targets, source=found.source, need=found.need,
                chain_id=found.chain_id, chain_stage=found.chain_stage)
            files.attach([c.messages[0] for c in conversation_request.conversations], files.uploaded(request.files),
                         current_user)
            db.session.commit()
        except ValidationFailed as exc:
            db.session.rollback()
            errors = exc.as_dict()
        else:
            services.email_after_commit()
            count = len(conversation_request.conversations)
            flash(f"Запрос отправлен поставщикам: {count}.", "success")
            if count == 1:
                return redirect(url_for("deals.show", conversation_id=conversation_request.conversations[0].id))
            return redirect(url_for("deals.index"))
    return render_template("deals/new.html", values=values, errors=errors, candidates=found.candidates,
                           chosen=chosen, origin={k: v for k, v in origin.items() if v}, regions=region_choices(),
                           buyer=buyer, attachments=attachments_available()), (422 if errors else 200)


@bp.get("/")
@login_required
def index() -> str:
    status = request.args.get("status") or ""
    stmt = access.visible_conversations(current_user)
    if status in {s.value for s in ConversationStatus}:
        stmt = stmt.where(Conversation.status == status)
    found = paginate(stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()),
                     request.args.get("page"), per_page=PER_PAGE)
    mine = permissions.organization_ids(current_user)
    return render_template("deals/index.html", rows=found.items, page=found.number, pages=found.pages,
                           total=found.total, status=status, mine=mine, status_titles=services.STATUS_TITLES_RU)


@bp.get("/<int:conversation_id>")
@login_required
def show(conversation_id: int, errors: dict[str, list[str]] | None = None, values: dict | None = None,
         code: int = 200) -> Any:
    conversation, role = _conversation_or_404(conversation_id)
    return render_template("deals/show.html", conversation=conversation, role=role, errors=errors or {},
                           values=values or {}, offer=services.current_offer(conversation),
                           status_titles=services.STATUS_TITLES_RU, money=services.decimal_text,
                           open=conversation.status in services.OPEN, attachments=attachments_available(),
                           files=files.files_of([m.id for m in conversation.messages])), code


def _act(conversation_id: int, action: str) -> Any:
    conversation, _role = _conversation_or_404(conversation_id)
    form = {k.removeprefix(f"{action}."): v for k, v in request.form.to_dict().items()}
    try:
        if action == "message":
            posted = services.post_message(conversation, current_user, form.get("body"))
            files.attach([posted], files.uploaded(request.files), current_user)
        elif action == "offer":
            posted = services.make_offer(conversation, current_user, form)
            files.attach([posted], files.uploaded(request.files), current_user)
        elif action == "accept":
            services.accept_offer(conversation, current_user,
                                  offer_message_id=request.form.get("offer_message_id", type=int))
        else:
            services.decline(conversation, current_user, form.get("reason"))
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        return show(conversation_id, errors={f"{action}.{k}": v for k, v in exc.as_dict().items()},
                    values={f"{action}.{k}": v for k, v in form.items()}, code=422)
    services.email_after_commit()
    flash({"message": "Сообщение отправлено.", "offer": "Предложение отправлено заказчику.",
           "accept": "Предложение принято: сделка записана.", "decline": "Переписка закрыта."}[action], "success")
    return redirect(url_for("deals.show", conversation_id=conversation_id))


@bp.post("/<int:conversation_id>/messages")
@login_required
def message(conversation_id: int) -> Any:
    return _act(conversation_id, "message")


@bp.post("/<int:conversation_id>/offer")
@login_required
def offer(conversation_id: int) -> Any:
    return _act(conversation_id, "offer")


@bp.post("/<int:conversation_id>/accept")
@login_required
def accept(conversation_id: int) -> Any:
    return _act(conversation_id, "accept")


@bp.post("/<int:conversation_id>/decline")
@login_required
def decline(conversation_id: int) -> Any:
    return _act(conversation_id, "decline")


__all__ = ["Candidate", "bp"]
