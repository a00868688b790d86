"""The authorization matrix over the HTML pages: every role against the listing page, the match lists and the
listing page's embedded matches, with other organizations' ids. The pages ask the API's rule
(``core.permissions.can_view_listing``): a closed tender's lot is seen by the buyer, the invited organization and
admins only — not by anonymous visitors, other makers or a region's coordinator."""
from __future__ import annotations

import pytest

from tests.api.conftest import ROLES, fast_passwords, world  # noqa: F401  (fixtures)
from tests.web.conftest import login


def statuses(*codes: int) -> dict[str, int]:
    return dict(zip(ROLES, codes, strict=True))


#        anonymous, member_a, member_b, buyer, coordinator_27, coordinator_25, admin
PAGES = [
    ("public listing of A", lambda w: f"/listings/{w.listing_a.id}", statuses(200, 200, 200, 200, 200, 200, 200)),
    ("draft listing of A", lambda w: f"/listings/{w.draft_a.id}", statuses(404, 200, 404, 404, 200, 404, 200)),
    ("hidden listing of A", lambda w: f"/listings/{w.hidden_a.id}", statuses(404, 200, 404, 404, 200, 404, 200)),
    ("lot of the closed tender", lambda w: f"/listings/{w.closed_lot.id}",
     statuses(404, 200, 404, 200, 404, 404, 200)),
    ("matches of the closed tender's lot", lambda w: f"/listings/{w.closed_lot.id}/matches",
     statuses(302, 404, 404, 200, 404, 404, 200)),
    ("matches of A's offer", lambda w: f"/listings/{w.listing_a.id}/matches",
     statuses(302, 200, 404, 404, 200, 404, 200)),
    ("an unknown listing", lambda w: "/listings/2000000000", statuses(404, 404, 404, 404, 404, 404, 404)),
    ("an id above 2^31-1", lambda w: "/listings/2147483648", statuses(404, 404, 404, 404, 404, 404, 404)),
]
PARAMS = [pytest.param(path, expected, role, id=f"{name}-{role}") for name, path, expected in PAGES for role in ROLES]


@pytest.fixture
def matched(db, world):  # noqa: F811
    """A's offer is matched to the closed tender's lot (A is invited to it)."""
    from marketplace.matches.models import Match

    db.session.add(Match(need_id=world.closed_lot.id, offer_id=world.listing_a.id, score=0.9, tier="local",
                         acceptable=True, rank=1,
                         explanation={"distance_km": 12.0, "constraints": [], "signals": [], "reasons": []}))
    db.session.commit()
    return world


@pytest.mark.parametrize(("path", "expected", "role"), PARAMS)
def test_pages_answer_by_the_api_rule(client, matched, path, expected, role):
    login(client, matched.users[role])
    response = client.get(path(matched))
    assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ROLES)
def test_match_lists_hide_lots_the_viewer_may_not_see(client, matched, role):
    """The offer's match list (its own page and the one embedded in the listing page) names the closed lot only
    to those who may see it — a region's coordinator sees A's matches but not the closed tender A was invited to."""
    w = matched
    login(client, w.users[role])
    sees_lot = role in {"member_a", "admin"}  # the buyer sees its lot, but not A's offer's matches
    link = f'href="/listings/{w.closed_lot.id}"'
    for path in (f"/listings/{w.listing_a.id}/matches", f"/listings/{w.listing_a.id}"):
        response = client.get(path)
        if response.status_code != 200:
            continue
        assert (link in response.get_data(as_text=True)) is sees_lot, path


@pytest.mark.parametrize("role", ROLES)
def test_api_match_list_hides_lots_the_viewer_may_not_see(client, matched, bearer, role):
    w = matched
    user = w.users[role]
    response = client.get(f"/api/v1/listings/{w.listing_a.id}/matches", headers=bearer(user) if user else {})
    if role not in {"member_a", "coordinator_27", "admin"}:
        assert response.status_code in (401, 404)
        return
    ids = {m["listing_id"] for m in response.get_json()["matches"]}
    assert (w.closed_lot.id in ids) is (role != "coordinator_27")


@pytest.mark.parametrize("role", ROLES)
def test_gap_lists_and_exports_name_only_visible_needs(db, world, role):  # noqa: F811
    """The coordinator's drill-down and XLSX export list the needs behind a gap by the same rule."""
    from marketplace.analytics.gaps import gap_needs
    from marketplace.analytics.scope import resolve_scope

    lot = world.closed_lot
    db.session.flush()
    scope = resolve_scope(lot.region_code)
    cls = "25.62"  # the lot's ОКПД2 25.62.20
    assert lot.id in {n.id for n in gap_needs(scope, cls, "local")}  # a gap, for the statistics
    from flask_login import AnonymousUserMixin

    viewer = world.users[role] or AnonymousUserMixin()
    seen = {n.id for n in gap_needs(scope, cls, "local", viewer=viewer)}
    assert (lot.id in seen) is (role in {"member_a", "buyer", "admin"})
