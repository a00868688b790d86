"""The deployment files describe the production stack the README promises."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_runs_every_service_with_health_checks_and_volumes():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "scheduler", "postgres", "redis", "elasticsearch", "migrate"} <= set(services)
    for name in ("postgres", "redis", "elasticsearch", "web"):
        assert "healthcheck" in services[name], name
    assert services["elasticsearch"]["image"].split(":")[1].startswith("8.")
    assert "gunicorn" in (ROOT / "Dockerfile").read_text()
    assert services["worker"]["command"] == ["cosmos", "worker"]
    assert services["scheduler"]["command"] == ["cosmos", "scheduler"]
    assert {"postgres", "redis", "elasticsearch", "instance"} <= set(compose["volumes"])
    env = services["web"]["environment"]
    assert {"DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "EMBEDDING_MODEL", "SECRET_KEY"} <= set(env)


def test_the_image_copies_what_its_build_steps_read():
    """Every file or folder the Dockerfile's npm build and the package install read is copied into the image."""
    import json
    import re

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {part.rstrip("/") for line in dockerfile.splitlines() if line.startswith("COPY ")
              for part in line.split()[1:-1]}
    build = json.loads((ROOT / "package.json").read_text())["scripts"]["build"]
    for path in re.findall(r"[\w./-]+\.m?js", build):
        assert path.split("/")[0] in copied, f"{path} (npm run build) is not copied into the image"
    if "npm ci" in dockerfile:
        assert "package-lock.json" in copied
    for package in ("marketplace", "matching", "search", "workers", "migrations", "setup.cfg", "wsgi.py"):
        assert package in copied, package


def test_no_secrets_in_the_repository():
    example = (ROOT / ".env.example").read_text()
    assert "SECRET_KEY=change-me" in example
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text().split()


def test_wsgi_builds_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("COSMOS_INSTANCE_PATH", str(tmp_path))
    import importlib

    import wsgi

    importlib.reload(wsgi)
    assert wsgi.app.name == "marketplace"
