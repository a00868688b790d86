import pytest

from marketplace.organizations.validators import inn_error, make_inn, make_ogrn, ogrn_error


@pytest.mark.parametrize("inn", ["7707083893", "2721084628", "500100732259", "027000000006"])
def test_valid_inn(inn):
    assert inn_error(inn) is None


@pytest.mark.parametrize("inn,reason", [
    ("7707083894", "контрольная сумма"),
    ("500100732258", "контрольная сумма"),
    ("77070838", "10 или 12 цифр"),
    ("77070838ab", "10 или 12 цифр"),
    ("", "10 или 12 цифр"),
])
def test_invalid_inn(inn, reason):
    assert reason in inn_error(inn)


@pytest.mark.parametrize("ogrn", ["1027700132195", "1022701128295", "304500116000157"])
def test_valid_ogrn(ogrn):
    assert ogrn_error(ogrn) is None


@pytest.mark.parametrize("ogrn", ["1027700132196", "102770013219", "304500116000158"])
def test_invalid_ogrn(ogrn):
    assert ogrn_error(ogrn) is not None


def test_generated_ids_pass_their_own_checks():
    assert inn_error(make_inn("272108462")) is None
    assert inn_error(make_inn("5001007322")) is None
    assert ogrn_error(make_ogrn("102770013219")) is None
    assert ogrn_error(make_ogrn("30450011600015")) is None
