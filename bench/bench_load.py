"""Load on a production-shaped site: gunicorn (4 workers, gunicorn.conf.py) on PostgreSQL with the demo's data, a
Redis of its own and one ``cosmos worker``; wrk drives the page mix with 50 clients while a second wrk creates
listings through the API, for a bounded time. Prints req/s, p50/p95/p99, errors, writes/s and their p95, with the
load average before and after (the machine may be shared).

    python bench/bench_load.py [--clients 50] [--writers 2] [--duration 30] [--workers 4] [--no-worker]
                               [--admin-url postgresql://postgres@127.0.0.1/postgres] [--database cosmos_bench_load]

wrk (Debian: ``apt-get install wrk``) rather than locust: it is C on epoll with Lua for the mix, the writer and the
percentiles, and at a few hundred requests per second it takes a few percent of one core, where a Python load
generator would take a large share of the two cores the site is measured on. The database is created once and
seeded by ``cosmos demo --no-serve`` (≈600 organizations, ≈2,200 listings); later runs reuse it (``--fresh``
drops it). Target on 2 cores (``taskset -c 0,1``): ≥ 150 req/s at 50 clients with p95 ≤ 500 ms, writes ≥ 10/s with
p95 ≤ 500 ms, 0 errors.

The mix, in equal shares: the home page, region 27, the Far Eastern district, a search («токарная обработка»),
producer pages and listing pages (20 of each, chosen once), and the API's listing list with a token.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.workers.processes import free_port, wait_until  # noqa: E402

BIN = Path(sys.executable).parent
DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d connect=%d read=%d write=%d status=%d timeout=%d "
    .. "p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", summary.requests, summary.duration, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def mix_script(paths: list[str], token: str) -> str:
    items = ",\n".join(f'  {{"{p}", {"true" if p.startswith("/api/") else "false"}}}' for p in paths)
    return f"""
local paths = {{
{items}
}}
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  local p = paths[i]
  if p[2] then
    return wrk.format("GET", p[1], {{["Authorization"] = "Bearer {token}"}})
  end
  return wrk.format("GET", p[1])
end
""" + DONE_LUA


def writer_script(token: str) -> str:
    return f"""
local n = 0
local id = tostring(math.random(1000000))
request = function()
  n = n + 1
  local body = '{{"kind": "purchase_request", "title": "Закупка болтов М12 партия ' .. id .. '-' .. n .. '", '
    .. '"description": "Болты М12 оцинкованные, ГОСТ 7798", "okpd2": ["25.94.11"], "quantity": 100, '
    .. '"unit": "шт", "mode": "buy", "budget": 5000}}'
  return wrk.format("POST", "/api/v1/listings", {{["Authorization"] = "Bearer {token}",
    ["Content-Type"] = "application/json"}}, body)
end
""" + DONE_LUA


def run(cmd: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, **kwargs)


def prepare(opts, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(opts.admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (opts.database,)).fetchone()
        if exists and opts.fresh:
            conn.execute(f'DROP DATABASE "{opts.database}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{opts.database}"')
    started = time.perf_counter()
    run([str(BIN / "cosmos"), "demo", "--no-serve"], env)  # skips the seed when the data is there
    index = Path(env["COSMOS_INSTANCE_PATH"]) / "search"
    if not index.exists() or opts.fresh:
        run([str(BIN / "cosmos"), "search", "reindex"], {k: v for k, v in env.items() if k != "REDIS_URL"})
    else:  # the outbox rows of the last run's writes
        run([str(BIN / "cosmos"), "run-job", "search.drain_outbox"], env)
    if not opts.no_worker:
        # Match what is not matched yet (the seed's ≈1,900 listings once: many minutes; then the last run's
        # writes), in this process: a worker catching up during the measurement would measure the catch-up.
        run([str(BIN / "cosmos"), "run-job", "matching.refresh_stale"], env)
    print(f"data ready in {time.perf_counter() - started:.0f} s", flush=True)


def ids_and_token(env: dict[str, str]) -> tuple[list[int], list[int], str]:
    code = """
from sqlalchemy import text
from marketplace import create_app
from marketplace.extensions import db
app = create_app()
with app.app_context():
    orgs = db.session.scalars(text("SELECT o.id FROM organizations o WHERE EXISTS (SELECT 1 FROM listings l "
        "WHERE l.organization_id = o.id AND l.status = 'active') ORDER BY o.id LIMIT 20")).all()
    listings = db.session.scalars(text("SELECT l.id FROM listings l WHERE l.status = 'active' AND l.tender_id "
        "IS NULL ORDER BY l.id LIMIT 20")).all()
    print("IDS", ",".join(map(str, orgs)), ",".join(map(str, listings)))
"""
    out = run([sys.executable, "-c", code], env).stdout
    orgs, listings = re.search(r"IDS (\S+) (\S+)", out).groups()
    token_out = run([str(BIN / "cosmos"), "api", "token", "create", "--email", "buyer@cosmos.local", "--name",
                     f"bench-load-{int(time.time())}"], env).stdout + ""
    token = token_out.strip().splitlines()[-1].strip()  # the secret is printed alone on the last line
    return [int(x) for x in orgs.split(",")], [int(x) for x in listings.split(",")], token


def parse(out: str) -> dict[str, float]:
    match = re.search(r"RESULT (.*)", out)
    if not match:
        raise SystemExit(f"wrk printed no result:\n{out}")
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children (/proc), 0 for one that is gone."""
    total = 0.0
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        total += cpu_seconds([int(c) for c in children])
    return total


def print_server_times(access_log: Path, offset: int) -> None:
    """Time gunicorn took per kind of request (its access log's %(M)s, from ``offset`` on): waiting for a worker
    is not in it, the CPU the request waited for while other processes ran is."""
    if not access_log.exists():
        return
    with access_log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    kinds: dict[str, list[float]] = {}
    for line in lines:
        match = re.search(r'"(GET|POST) ([^ ?]+)\S* HTTP[^"]*" (\d+) .* (\d+)ms$', line)
        if not match:
            continue
        path = re.sub(r"/\d+$", "/<id>", match.group(2))
        kinds.setdefault(f"{match.group(1)} {path}", []).append(float(match.group(4)))
    print("server time per kind (access log): " + "; ".join(
        f"{kind} n={len(ms)} p50 {sorted(ms)[len(ms) // 2]:.0f} ms p95 {sorted(ms)[int(0.95 * (len(ms) - 1))]:.0f} ms"
        for kind, ms in sorted(kinds.items())))


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=15, help="seconds of untimed load first")
    parser.add_argument("--no-worker", action="store_true", help="no cosmos worker beside the site")
    parser.add_argument("--admin-url", default=os.environ.get("COSMOS_BENCH_ADMIN_URL",
                                                              "postgresql://postgres@127.0.0.1/postgres"))
    parser.add_argument("--database", default="cosmos_bench_load")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "cosmos-bench-load"))
    parser.add_argument("--fresh", action="store_true", help="drop and seed the database again")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    workdir = Path(opts.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    redis_port, web_port = free_port(), free_port()
    database_url = re.sub(r"/[^/]*$", f"/{opts.database}", opts.admin_url)
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
               SECRET_KEY="bench-load", COSMOS_INSTANCE_PATH=str(workdir), COSMOS_INSECURE_COOKIES="1",
               COSMOS_HSTS_SECONDS="0", COSMOS_BIND=f"127.0.0.1:{web_port}", WEB_CONCURRENCY=str(opts.workers),
               COSMOS_ACCESS_LOG=str(workdir / "access.log"))
    procs: list[subprocess.Popen] = []
    procs.append(subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(redis_port),
                                   "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
                                  stdout=subprocess.DEVNULL))
    try:
        prepare(opts, env)
        orgs, listings, token = ids_and_token(env)
        log = open(workdir / "gunicorn.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        if not opts.no_worker:
            procs.append(subprocess.Popen([str(BIN / "cosmos"), "worker"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=open(workdir / "worker.log", "wb")))  # noqa: SIM115
        base = f"http://127.0.0.1:{web_port}"
        wait_until(lambda: subprocess.run(["curl", "-fs", "-o", "/dev/null", base + "/"]).returncode == 0, 120,
                   "gunicorn answering")
        paths = ["/", "/regions/27", "/districts/FEFD", "/search?q=" + quote("токарная обработка"),
                 "/api/v1/listings"]
        paths += [f"/producers/{i}" for i in orgs] + [f"/listings/{i}" for i in listings]
        # equal shares of the seven kinds: the fixed five repeated as often as there are producer pages
        weighted = paths[:5] * len(orgs) + paths[5:]
        mix, write = workdir / "mix.lua", workdir / "write.lua"
        mix.write_text(mix_script(weighted, token))
        write.write_text(writer_script(token))
        wrk = ["wrk", "--latency", "--timeout", "10s", "-d", f"{opts.duration}s"]
        # Untimed warm-up with the same mix: each gunicorn worker loads the encoder, the index and the
        # classifiers on its first requests of each kind.
        subprocess.run(["wrk", "-t", "1", "-c", str(2 * opts.workers), "-d", f"{opts.warmup}s", "-s", str(mix), base],
                       capture_output=True)
        before = load_avg()
        web = procs[1].pid
        worker = procs[2].pid if not opts.no_worker else None
        cpu_before = cpu_seconds([web])
        worker_before = cpu_seconds([worker]) if worker else 0.0
        access_log = workdir / "access.log"
        logged_before = access_log.stat().st_size if access_log.exists() else 0
        readers = subprocess.Popen([*wrk, "-t", "2", "-c", str(opts.clients), "-s", str(mix), base],
                                   stdout=subprocess.PIPE, text=True)
        writers = subprocess.Popen([*wrk, "-t", "1", "-c", str(opts.writers), "-s", str(write), base],
                                   stdout=subprocess.PIPE, text=True) if opts.writers else None
        reads = parse(readers.communicate()[0])
        writes = parse(writers.communicate()[0]) if writers else None
        after = load_avg()
        cpu = cpu_seconds([web]) - cpu_before
        worker_cpu = cpu_seconds([worker]) - worker_before if worker else None
        seconds = reads["duration_us"] / 1e6
        errors = sum(reads[k] for k in ("connect", "read", "write", "status", "timeout"))
        print(f"pages ({opts.clients} clients, {opts.workers} gunicorn workers, {opts.duration} s): "
              f"{reads['requests'] / seconds:.1f} req/s, p50 {reads['p50_ms']:.0f} ms, p95 {reads['p95_ms']:.0f} ms, "
              f"p99 {reads['p99_ms']:.0f} ms, max {reads['max_ms']:.0f} ms, errors {errors:.0f} "
              f"(status {reads['status']:.0f}, timeout {reads['timeout']:.0f})")
        if writes:
            werrors = sum(writes[k] for k in ("connect", "read", "write", "status", "timeout"))
            print(f"writes ({opts.writers} clients, POST /api/v1/listings): "
                  f"{writes['requests'] / (writes['duration_us'] / 1e6):.1f} writes/s, p50 {writes['p50_ms']:.0f} ms, "
                  f"p95 {writes['p95_ms']:.0f} ms, errors {werrors:.0f}")
        served = reads["requests"] + (writes["requests"] if writes else 0)
        print(f"gunicorn CPU {cpu:.1f} s for {served:.0f} requests: {1000 * cpu / max(served, 1):.1f} ms a request "
              f"(PostgreSQL's own CPU not counted); two idle cores would serve ≈ "
              f"{2 * served / max(cpu, 1e-6):.0f} req/s")
        if worker_cpu is not None:
            print(f"cosmos worker CPU {worker_cpu:.1f} s (indexing and matching the writes)")
        print_server_times(access_log, logged_before)
        print(f"load average before {before}, after {after}; {os.cpu_count()} CPUs visible, "
              f"affinity {sorted(os.sched_getaffinity(0))}")
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
