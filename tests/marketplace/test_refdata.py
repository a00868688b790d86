from sqlalchemy import func, select, update

from marketplace.classifiers.models import ClassifierCode, code_ancestors, code_level
from marketplace.geo.models import Country, FederalDistrict, Region, Town
from marketplace.refdata.loader import load_reference_data


def count(db, column, *where):
    return db.session.scalar(select(func.count()).select_from(column.table).where(*where))


def test_reference_data_is_complete(db):
    assert count(db, Region.code) == 89
    assert count(db, FederalDistrict.code) == 8
    assert db.session.scalar(select(func.count(func.distinct(Region.district_code)))) == 8
    assert count(db, ClassifierCode.code, ClassifierCode.scheme == "okpd2") == 20328
    assert count(db, ClassifierCode.code, ClassifierCode.scheme == "okved2") == 2899
    assert count(db, Town.id) > 1000
    khv = db.session.get(Region, "27")
    assert khv.name == "Хабаровский край" and khv.district_code == "FEFD"
    assert db.session.get(Country, "BY").eaeu is True
    assert db.session.get(Country, "DE").unfriendly is True
    assert db.session.get(Country, "CN").unfriendly is False


def test_loading_twice_changes_nothing(db):
    report = load_reference_data()
    assert not report.changed
    assert report.total["okpd2"] == 20328 and report.total["regions"] == 89


def test_a_changed_row_is_restored_from_the_shipped_files(db):
    db.session.execute(update(Region).where(Region.code == "27").values(name="Испорчено"))
    db.session.execute(update(ClassifierCode).where(ClassifierCode.scheme == "okved2", ClassifierCode.code == "25.62")
                       .values(name="Испорчено"))
    report = load_reference_data()
    assert report.updated["regions"] == 1 and report.updated["okved2"] == 1
    assert sum(report.inserted.values()) == 0
    db.session.expire_all()
    assert db.session.get(Region, "27").name == "Хабаровский край"


def test_classifier_hierarchy(db):
    leaf = db.session.get(ClassifierCode, ("okpd2", "25.62.20.000"))
    chain = []
    while leaf is not None:
        chain.append(leaf.code)
        leaf = db.session.get(ClassifierCode, ("okpd2", leaf.parent_code)) if leaf.parent_code else None
    assert chain[0] == "25.62.20.000" and chain[-1] == "C" and "25.62" in chain
    assert code_level("25.62.20.000") == 6 and code_level("25.62") == 3 and code_level("C") == 0
    assert code_ancestors("25.62.20.110") == ["25.62.20", "25.62.2", "25.62", "25.6", "25"]


def test_refdata_cli_is_idempotent(runner):
    import json

    result = runner.invoke(args=["refdata", "load", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["total"]["regions"] == 89
    assert not any(report["inserted"].values()) and not any(report["updated"].values())


def test_cosmos_refdata_load_on_a_fresh_install_then_again(tmp_path):
    """The commands an operator runs on a new machine, each in its own process, on the embedded SQLite."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    cosmos = Path(sys.executable).with_name("cosmos")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL")}
    env["COSMOS_INSTANCE_PATH"] = str(tmp_path)

    def run(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(cosmos), *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    run("db", "upgrade")
    first = json.loads(run("refdata", "load", "--json").stdout.strip().splitlines()[-1])
    assert {k: first["inserted"][k] for k in ("federal_districts", "regions", "okpd2", "okved2")} == {
        "federal_districts": 8, "regions": 89, "okpd2": 20328, "okved2": 2899}
    assert first["inserted"]["countries"] > 200 and first["inserted"]["towns"] > 1000
    second = json.loads(run("refdata", "load", "--json").stdout.strip().splitlines()[-1])
    assert not any(second["inserted"].values()) and not any(second["updated"].values())
    assert second["total"] == first["total"]
