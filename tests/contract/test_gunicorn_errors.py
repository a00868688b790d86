"""gunicorn's own answers (a request it refuses before the application sees it) are problem+json, with the limits
of gunicorn.conf.py: a real gunicorn on a free port, raw sockets for what no HTTP client would send."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers.processes import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    port = free_port()
    instance = tmp_path_factory.mktemp("gunicorn-instance")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL")}
    env.update(COSMOS_INSTANCE_PATH=str(instance), COSMOS_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1",
               COSMOS_ACCESS_LOG="")
    log = open(instance / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "gunicorn.conf.py"),
                             "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _connectable(port) or proc.poll() is not None, 60, "gunicorn listening")
        assert proc.poll() is None, (instance / "gunicorn.log").read_text()
        yield port
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _connectable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _raw(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.slow
@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /api/v1/listings?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /api/v1/listings HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /api/v1/listings HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(120)) + b"\r\n",
     431),
    (b"G@T /api/v1/listings HTTP/1.1\r\nHost: x\r\n\r\n", 400),
])
def test_gunicorns_own_errors_are_problem_json(gunicorn, request_bytes, status):
    code, headers, body = _raw(gunicorn, request_bytes)
    assert code == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["title"] and problem["detail"]


@pytest.mark.slow
def test_a_long_query_within_the_limit_reaches_the_application(gunicorn):
    """gunicorn's default limit (4094 bytes) refused a 5,000-character search with 414; 8190 lets it through."""
    code, headers, body = _raw(gunicorn, b"GET /api/v1/listings?q=" + b"a" * 6000 + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
    assert code != 414 and code < 500, body[:500]
