"""The ``chains.build`` job and the ``cosmos chains`` commands."""
from __future__ import annotations

import json

import pytest

from marketplace.chains import services
from marketplace.chains.models import ChainRequestStatus
from tests.chains.scenario import pump_request, seed_pump_unit
from workers import queue


def test_job_builds_inline_and_commits_progress(app, db, factories, offers, monkeypatch):
    seed_pump_unit(offers, factories)
    row = services.create_request(pump_request())
    db.session.commit()
    seen = []
    original = db.session.commit

    def spy_commit():
        stored = db.session.get(type(row), row.id)
        seen.append((stored.status, stored.progress))
        original()

    monkeypatch.setattr(db.session, "commit", spy_commit, raising=False)
    handle = services.enqueue_build(row.id, alternatives=1)
    monkeypatch.undo()
    assert handle.status == "finished", handle.error
    assert handle.result == {"request_id": row.id, "status": "built", "chains": 2}
    db.session.expire_all()
    assert db.session.get(type(row), row.id).status == ChainRequestStatus.BUILT
    progress = [p for status, p in seen if status == ChainRequestStatus.BUILDING]
    assert len(progress) >= 3 and progress == sorted(progress) and progress[-1] < 1.0


def test_job_is_declared_on_the_matching_queue():
    spec = queue.get_spec("chains.build")
    assert spec.queue == "matching" and spec.timeout == 600


def test_job_failure_marks_the_request_failed(app, db, factories, index, monkeypatch):
    row = services.create_request(pump_request())
    db.session.commit()

    def boom(*args, **kwargs):
        raise RuntimeError("индекс недоступен")

    monkeypatch.setattr(services, "find_candidates", boom)
    handle = queue.enqueue("chains.build", row.id)
    assert handle.status == "failed" and "индекс недоступен" in handle.error
    stored = db.session.get(type(row), row.id)
    assert stored.status == ChainRequestStatus.FAILED and "индекс недоступен" in stored.message


def write(tmp_path, data):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data, ensure_ascii=False) if not isinstance(data, str) else data, encoding="utf-8")
    return str(path)


def test_cli_build_prints_the_chains_in_the_documented_format(db, factories, offers, runner, tmp_path):
    seeded = seed_pump_unit(offers, factories)
    data = pump_request()
    data.pop("title")
    data.pop("okpd2")
    result = runner.invoke(args=["chains", "build", write(tmp_path, data), "--alternatives", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert list(out) == ["chains"] and 1 <= len(out["chains"]) <= 3
    best = out["chains"][0]
    assert list(best) == ["total_cost", "lead_time_days", "distance_km", "localization", "assignments"]
    assert set(best["localization"]) == {"local", "district", "national"}
    assert abs(sum(best["localization"].values()) - 1) < 1e-3
    for a in best["assignments"]:
        assert list(a) == ["stage", "listing_id", "organization", "region", "tier"]
        assert isinstance(a["listing_id"], int)
    by_stage = {a["stage"]: a for a in best["assignments"]}
    assert by_stage["assembly"] == {"stage": "assembly", "listing_id": seeded.assembly_27.id,
                                    "organization": "АО «Хабаровскнасос»", "region": "27", "tier": "local"}
    assert by_stage["motor"]["tier"] == "national"
    costs = [c["total_cost"] for c in out["chains"]]
    assert costs == sorted(costs)


def test_cli_build_without_json_is_readable(db, factories, offers, runner, tmp_path):
    seed_pump_unit(offers, factories)
    result = runner.invoke(args=["chains", "build", write(tmp_path, pump_request()), "-k", "0"])
    assert result.exit_code == 0, result.output
    assert "Цепочка 1:" in result.output and "Хабаровскнасос" in result.output


@pytest.mark.parametrize(("data", "field"), [
    ({"item": "Вал", "quantity": 1, "unit_weight_kg": 1, "delivery_region": "27", "deadline_days": 10}, "stages"),
    ({"item": "Вал", "quantity": "много", "unit_weight_kg": 1, "delivery_region": "27", "deadline_days": 10,
      "stages": [{"id": "a", "text": "Токарная обработка"}]}, "quantity"),
    ({"item": "Вал", "quantity": 1, "unit_weight_kg": 1, "delivery_region": "27", "deadline_days": 10,
      "stages": [{"id": "a", "text": "Токарная обработка", "after": ["b"]}]}, "stages[0].after"),
    ({"item": "Вал", "quantity": 1, "unit_weight_kg": 1, "delivery_region": "99", "deadline_days": 10,
      "stages": [{"id": "a", "text": "Токарная обработка"}]}, "delivery_region"),
])
def test_cli_bad_input_names_the_field_and_exits_2(db, index, runner, tmp_path, data, field):
    result = runner.invoke(args=["chains", "build", write(tmp_path, data), "--json"])
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert out["error"]["field"] == field
    assert f"{field}:" in result.stderr


def test_cli_not_json_and_missing_file_exit_2(db, index, runner, tmp_path):
    result = runner.invoke(args=["chains", "build", write(tmp_path, "{не json")])
    assert result.exit_code == 2 and "не JSON" in result.stderr
    result = runner.invoke(args=["chains", "build", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "не удалось прочитать" in result.stderr


def test_cli_infeasible_request_lists_the_reasons(db, index, runner, tmp_path):
    data = {"item": "Вал", "quantity": 1, "unit_weight_kg": 1, "delivery_region": "27", "deadline_days": 10,
            "stages": [{"id": "a", "text": "Сборка летательного аппарата", "okved2": ["30.30"]}]}
    result = runner.invoke(args=["chains", "build", write(tmp_path, data), "--json"])
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert out["chains"] == [] and out["infeasible_reasons"][0]["stage"] == "a"


def test_cli_templates_lists_the_bundled_routes(runner):
    result = runner.invoke(args=["chains", "templates", "--json"])
    assert result.exit_code == 0
    ids = [t["id"] for t in json.loads(result.output)["templates"]]
    assert ids == ["bronze_bushing", "printed_circuit_assembly", "pump_unit", "welded_steel_structure",
                   "wooden_frame_house"]
    text = runner.invoke(args=["chains", "templates"]).output
    assert "Насосный агрегат" in text


@pytest.mark.redis
def test_with_redis_the_build_and_the_approval_e_mails_go_through_rq(app, db, factories, offers, redis_url):
    import redis
    from rq import Queue, SimpleWorker

    from marketplace.accounts.models import UserRole

    seed_pump_unit(offers, factories)
    coordinator = factories.user(role=UserRole.COORDINATOR, regions=["27"])
    coordinator_id = coordinator.id
    row = services.create_request(pump_request(), user=coordinator)
    db.session.commit()
    connection = redis.Redis.from_url(redis_url)
    matching, notifications = (Queue(name, connection=connection) for name in ("matching", "notifications"))
    matching.empty()
    notifications.empty()
    app.config["REDIS_URL"] = redis_url
    try:
        handle = services.enqueue_build(row.id, alternatives=1)
        assert handle.status == "queued" and handle.id in matching.job_ids
        stored = db.session.get(type(row), row.id)
        assert stored.job_id == handle.id and stored.status == ChainRequestStatus.PENDING  # waits in Redis
        SimpleWorker([matching], connection=connection).work(burst=True)
        db.session.expire_all()
        stored = db.session.get(type(row), row.id)
        assert stored.status == ChainRequestStatus.BUILT and stored.chains
        chain = stored.chains[0]
        coordinator = db.session.get(type(coordinator), coordinator_id)  # the worker closed the session
        notes = services.approve(chain, user=coordinator)
        db.session.commit()
        services.send_notifications(notes)
        organizations = {a["organization_id"] for a in chain.result["assignments"]}
        assert len(notes) == len(organizations) == len(notifications.job_ids)
    finally:
        app.config["REDIS_URL"] = None
        matching.empty()
        notifications.empty()
        connection.close()
