"""Pages: a need's matches grouped by tier with reasons, the supplier's feed, code suggestions in the forms."""
from __future__ import annotations

import re

from marketplace.accounts.models import UserRole
from marketplace.matches import services
from tests.web.conftest import login

TOKEN = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_need_page_shows_the_local_supplier_with_reasons_and_hides_farther_tiers(client, db, factories,
                                                                                       market):
    services.refresh_listing(market.need.id)
    buyer = factories.user(role=UserRole.BUYER, organization=market.buyer)
    login(client, buyer)
    page = text_of(client.get(f"/listings/{market.need.id}"))
    assert "Подобранные поставщики" in page and 'data-tier="local"' in page
    assert 'data-tier="district"' not in page and "ООО «Хабаровский механический»" in page
    assert "сходство текста" in page and "✓ объём" in page and "строгий режим хартии" in page
    # the reason in words a buyer reads first, the numbers under «подробнее»
    why = page[page.index('class="small match-why"'):]
    words, details = why[:why.index("<details")], why[why.index("<details"):why.index("</details>")]
    assert "токарная обработка" in words and "км" in words and "×" not in words
    assert "подробнее" in details and "×" in details and "✓ операция" in details
    assert "Ещё подходящих на дальних уровнях" in page

    explore = text_of(client.get(f"/listings/{market.need.id}/matches?mode=weighted"))
    local, district, national = (explore.index(f'data-tier="{t}"') for t in ("local", "district", "national"))
    assert local < district < national
    assert "Хлебозавод" not in explore
    assert client.get(f"/listings/{market.need.id}/matches?mode=loose").status_code == 400
    english = text_of(client.get(f"/listings/{market.need.id}?lang=en"))
    assert "Matched suppliers" in english and "Show all tiers" in english


def test_strangers_do_not_see_a_need_s_matches(client, db, factories, market):
    services.refresh_listing(market.need.id)
    stranger = factories.user(organization=factories.organization(region="54"))
    login(client, stranger)
    assert "Подобранные поставщики" not in text_of(client.get(f"/listings/{market.need.id}"))
    assert client.get(f"/listings/{market.need.id}/matches").status_code == 404


def test_refresh_button_recomputes_and_the_supplier_feed_lists_the_need(client, db, factories, market):
    buyer = factories.user(role=UserRole.BUYER, organization=market.buyer)
    login(client, buyer)
    page = text_of(client.get(f"/listings/{market.need.id}/matches"))
    assert "Подбор ещё не выполнялся" in page
    token = TOKEN.search(page).group(1)
    response = client.post(f"/listings/{market.need.id}/matches/refresh", data={"csrf_token": token},
                           follow_redirects=True)
    assert response.status_code == 200 and 'data-tier="local"' in text_of(response)

    supplier = factories.user(organization=market.vvo.organization)
    login(client, supplier)
    # The need's run stored every acceptable tier: the buyer sees the local shop first, the district's shop still
    # learns of the need in its feed.
    feed = text_of(client.get("/my/feed"))
    assert f'data-need-id="{market.need.id}"' in feed and "свой федеральный округ" in feed.lower()


def test_forms_offer_code_suggestions_from_the_description(client, db, factories):
    user = factories.user(organization=factories.organization(region="27"))
    login(client, user)
    form = text_of(client.get("/my/listings/new/capability"))
    assert 'data-suggest-url="/classifiers/okpd2/suggest"' in form or 'data-suggest-url="/classifiers/okved2/suggest"' in form
    codes = client.get("/classifiers/okpd2/suggest?text=токарная обработка металлических деталей").get_json()
    assert codes and codes[0]["code"].startswith("25.62") and set(codes[0]) == {"code", "name", "score"}
    assert client.get("/classifiers/okpd2/suggest?text=").get_json() == []
    assert client.get("/classifiers/oktmo/suggest?text=x").status_code == 404
