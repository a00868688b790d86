def test_home_lists_organizations_by_region(client, factories):
    factories.organization(region="27", name="ООО «Амурский литейный»")
    factories.organization(region="27", name="АО «Хабаровский мехзавод»")
    factories.organization(region="25", name="ООО «Приморская сталь»")
    page = client.get("/").get_data(as_text=True)
    assert "Дальневосточный федеральный округ" in page
    khv = page.index("Хабаровский край")
    assert '<span class="count">2</span>' in page[khv:khv + 200]


def test_region_page_lists_its_organizations(client, factories):
    factories.organization(region="27", name="ООО «Амурский литейный»")
    factories.organization(region="25", name="ООО «Приморская сталь»")
    response = client.get("/regions/27")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ООО «Амурский литейный»" in page and "Приморская сталь" not in page


def test_unknown_region_is_404(client):
    assert client.get("/regions/99").status_code == 404
