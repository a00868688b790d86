"""/account/tokens: a user makes a token (shown once, stored hashed), uses it on the API and revokes it."""
from __future__ import annotations

import re

from marketplace.api.models import ApiToken
from marketplace.api.tokens import hash_token
from marketplace.core.models import AuditLog
from tests.web.conftest import login, page_text, submit


def test_make_use_and_revoke_a_token(client, db, factories):
    user = factories.user()
    login(client, user)
    response = submit(client, "/account/tokens/", {"name": "Выгрузка в 1С"})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r"<code class=\"user-select-all\" data-token>(cosmos_[^<]+)</code>", page_text(response)).group(1)
    token = db.session.query(ApiToken).filter_by(user_id=user.id).one()
    assert token.token_hash == hash_token(secret) and secret not in (token.prefix, token.name)
    assert secret not in page_text(client.get("/account/tokens/"))  # shown once
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    response = submit(client, "/account/tokens/", action=f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302 and token.revoked_at is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    actions = {a for (a,) in db.session.query(AuditLog.action).filter_by(entity_type="api_token",
                                                                         entity_id=str(token.id))}
    assert actions == {"create", "revoke"}


def test_a_nameless_token_is_refused_naming_the_field(client, db, factories):
    user = factories.user()
    login(client, user)
    response = submit(client, "/account/tokens/", {"name": "  "})
    assert response.status_code == 422 and "is-invalid" in page_text(response)
    assert db.session.query(ApiToken).filter_by(user_id=user.id).count() == 0


def test_another_users_token_is_404_and_anonymous_must_log_in(client, db, factories):
    from marketplace.api.tokens import create_token

    owner, other = factories.user(), factories.user()
    token, _secret = create_token(owner, name="чужой")
    login(client, other)
    response = submit(client, "/account/tokens/", action=f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 404 and token.revoked_at is None
    assert "чужой" not in page_text(client.get("/account/tokens/"))
    assert client.post(f"/account/tokens/{token.id}/revoke", data={}).status_code == 400  # no CSRF token
    login(client, None)
    assert client.get("/account/tokens/").status_code == 302
