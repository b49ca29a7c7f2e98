"""Full questionnaire submission under gunicorn, against a bare one-INSERT view, same run.

    python -m bench.bench_submit [--clients 20] [--per-client 150] [--workers N] [--threads 1]

Starts an embedded PostgreSQL (.data/pg-bench, database recreated each run) and Redis, migrates,
creates one participant per client with `--per-client` open questionnaires whose drafts hold a
complete EHP-30 and VAS, starts gunicorn on 127.0.0.1 as production runs it
(config/gunicorn.conf.py: sync workers) with the production settings plus a bench-only URLconf,
logs every client in through the login page, warms every worker up with both requests (one
submission per client, not measured), then drives `--clients` concurrent clients (threads,
http.client, a new connection per request) through:

1. the baseline: POST /bench/bare/ (session, CSRF and auth middleware, one INSERT);
2. the real thing: POST .../review/ (validated submission from the draft, one Response per
   instrument, the assessment locked and marked submitted, an audit event, one scoring task
   published to the broker after commit).

The two alternate in `--rounds` rounds so that both see the same background load; each round
is bounded by a request count and a time limit. Prints requests/s, p50 and p95 for
both and the ratio. Target: submission throughput at least half the baseline's, p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import runpy
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "bench-password-4711"  # noqa: S105  (bench accounts in a throw-away database)
TARGET_RATIO = 0.5
TARGET_P95_MS = 150.0


# --- set-up ---------------------------------------------------------------------------------


def services_start(data: Path) -> dict[str, str]:
    """Embedded PostgreSQL with a fresh bench database, and an embedded Redis broker."""
    import psycopg

    sys.path.insert(0, str(ROOT))
    from config import embedded

    embedded.postgres_start(data / "pg-bench")  # the server, so that the database can go
    with psycopg.connect(**embedded.postgres_admin(data / "pg-bench"), autocommit=True) as c:
        c.execute("DROP DATABASE IF EXISTS epro_bench WITH (FORCE)")
    urls = embedded.postgres_start(data / "pg-bench", database="epro_bench")
    redis = embedded.EmbeddedRedis(data / "redis-bench", persistent=False)
    return {
        "DATABASE_URL": urls.app,
        "DATABASE_OWNER_URL": urls.owner,
        "CELERY_BROKER_URL": redis.start(),
        "DJANGO_SETTINGS_MODULE": "bench.submit_settings",
        "DATA_DIR": str(data),
    }


def participant_with_open_windows(*, study, site, subject_id: str, password: str, now) -> list[int]:
    """Enrol and activate a participant whose account has the encoded `password`, and open the
    window of every questionnaire of hers directly (bench data, not her reports). Returns her
    assessment ids in period order. Needs Django set up."""
    from datetime import timedelta

    from diary.models import Assessment, AssessmentStatus
    from diary.services.participants import participant_activate, participant_enrol

    participant = participant_enrol(
        study=study,
        site=site,
        subject_id=subject_id,
        email=f"{subject_id.lower()}@example.org",
        actor=None,
        now=now,
    )
    participant.user.password = password
    participant.user.save(update_fields=["password"])
    participant_activate(participant=participant, actor=None, now=now)
    assessments = Assessment.objects.filter(participant=participant)
    assessments.update(
        status=AssessmentStatus.OPEN,
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=6),
    )
    return list(assessments.order_by("period_number").values_list("pk", flat=True))


def data_create(*, clients: int, per_client: int) -> list[tuple[str, list[int]]]:
    """One participant per client, each with `per_client` open questionnaires fully drafted.

    Windows are opened directly (bench data, not a participant's reports) so that every
    request submits a questionnaire of its own.
    """
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from diary.models import ResponseDraft, Site, Study
    from scoring.definitions import instrument_get

    study = Study.objects.create(
        code="BENCH",
        name="Submission benchmark",
        number_of_periods=per_client,
        periods_per_block=per_client,
        instruments=["ehp30", "vas_dysmenorrhea"],
    )
    site = Site.objects.create(study=study, code="B01", name="Bench site")
    now = timezone.now()
    answers = {
        "ehp30": {key: i % 5 for i, key in enumerate(instrument_get("ehp30").item_keys())},
        "vas_dysmenorrhea": {"vas_dysmenorrhea": 42},
    }
    metadata = {"vas_dysmenorrhea": {"viewport_width": "360", "device_pixel_ratio": "3"}}
    result = []
    password = make_password(PASSWORD)
    for number in range(1, clients + 1):
        subject_id = f"B01-{number:03d}"
        ids = participant_with_open_windows(
            study=study, site=site, subject_id=subject_id, password=password, now=now
        )
        ResponseDraft.objects.bulk_create(
            ResponseDraft(
                assessment_id=pk, answers=answers, metadata=metadata, created_at=now, updated_at=now
            )
            for pk in ids
        )
        result.append((subject_id, ids))
    return result


def gunicorn_start(
    env: dict[str, str], *, port: int, workers: int | None, threads: int = 1, ready: float = 30
):
    """gunicorn as production runs it (config/gunicorn.conf.py: sync workers), on loopback.

    `workers` None keeps the configuration's number; `threads` above 1 runs threaded workers
    (gthread, keep-alive) instead, to compare.
    """
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "config/gunicorn.conf.py",
        "config.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30"]
    env = {**env, "GUNICORN_ACCESS_LOG": ""}
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + ready
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz within {ready:.0f} s")


# --- clients --------------------------------------------------------------------------------


@dataclass
class Client:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    connection: http.client.HTTPConnection | None = None
    # False: a connection of its own for every request (see main()).
    keep_alive: bool = True

    timeout: ClassVar[float] = 30.0

    def request(self, method: str, path: str, body: dict | None = None):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if not self.keep_alive:
            headers["Connection"] = "close"
        payload = None
        if body is not None:
            payload = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{self.port}{path}"
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        if not self.keep_alive:
            self.connection.close()
            self.connection = None
        self.received(response)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookie_received(name, morsel.value)
        return response.status, content

    def received(self, response: http.client.HTTPResponse) -> None:
        """Hook: a response arrived (before its cookies are taken)."""

    def cookie_received(self, name: str, value: str) -> None:
        self.cookies[name] = value

    def log_in(self, identifier: str) -> None:
        status, page = self.request("GET", "/diary/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, page = self.request(
            "POST",
            "/diary/login/",
            {
                "csrfmiddlewaretoken": token.decode(),
                "username": identifier,
                "password": PASSWORD,
            },
        )
        # A good login answers with the page she lands on (diary/views/login.py), or with a
        # redirect; a refused one with the login form again.
        if not (status == 302 or (status == 200 and b'data-landed="' in page)):
            raise SystemExit(f"login of {identifier} failed with HTTP {status}")

    def form(self) -> dict[str, str]:
        return {"csrfmiddlewaretoken": self.cookies["csrftoken"]}


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, seconds: float, ok: bool) -> None:
        with self.lock:
            if ok:
                self.latencies.append(seconds)
            else:
                self.failures += 1

    def line(self) -> str:
        done = len(self.latencies)
        p50, p95 = percentiles(self.latencies)
        return (
            f"{self.name:<28} {done:>6} ok {self.failures:>4} failed "
            f"{self.throughput:>9.1f} req/s   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
        )

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return (values[0] * 1000, values[0] * 1000) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000


def phase_run(name: str, clients: list[Client], work, *, time_limit: float) -> Phase:
    """Every client runs its own list of requests, concurrently; bounded by count and time."""
    phase = Phase(name)
    deadline = time.monotonic() + time_limit
    start = threading.Barrier(len(clients) + 1)

    def run(index: int) -> None:
        client = clients[index]
        start.wait()
        for method, path, expected in work(index):
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            try:
                status, _ = client.request(method, path, client.form())
            except OSError:
                client.connection = None
                status = 0
            phase.record(time.perf_counter() - began, status == expected)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - began
    return phase


def phase_merge(total: Phase, part: Phase) -> None:
    total.latencies += part.latencies
    total.failures += part.failures
    total.elapsed += part.elapsed


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_submit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--per-client",
        type=int,
        default=150,
        help="submissions per client (each its own questionnaire)",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="default: config/gunicorn.conf.py's"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="above 1: threaded workers (gthread), to compare"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating baseline/submission rounds"
    )
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per round")
    args = parser.parse_args(argv)

    data = Path(os.environ.get("DATA_DIR", ROOT / ".data"))
    env = {**os.environ, **services_start(data)}
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    # One more questionnaire each, submitted in the warm-up.
    participants = data_create(clients=args.clients, per_client=args.per_client + 1)
    from django.db import connections

    connections.close_all()

    # The web processes get the application role only, as in production.
    web_env = {key: value for key, value in env.items() if key != "DATABASE_OWNER_URL"}
    server = gunicorn_start(web_env, port=args.port, workers=args.workers, threads=args.threads)
    try:
        # A connection of its own for each request, as a reverse proxy passes requests on (and
        # as sync workers require). Kept alive, threaded workers serve each connection in the
        # worker that accepted it, and a run measured how evenly 20 connections happened to
        # spread over the workers (clients differed two-fold in mean latency) more than views.
        clients = [Client(args.port, keep_alive=False) for _ in participants]
        for client, (subject_id, _) in zip(clients, participants, strict=True):
            client.log_in(subject_id)
        # Every worker process has loaded what both views need before anything is measured.
        warm = phase_run(
            "warm-up",
            clients,
            lambda i: [
                *[("POST", "/bench/bare/", 204)] * 5,
                ("POST", f"/diary/questionnaire/{participants[i][1][0]}/review/", 302),
            ],
            time_limit=args.time_limit,
        )
        if warm.failures:
            raise SystemExit(f"warm-up: {warm.failures} requests failed")
        # Alternating rounds, so both measurements see the same background load.
        bare, submit = Phase("bare view (1 INSERT)"), Phase("questionnaire submission")
        size = -(-args.per_client // args.rounds)  # rounded up: exactly `rounds` rounds
        for start in range(0, args.per_client, size):
            count = min(size, args.per_client - start)  # as many of each in every round
            phase_merge(
                bare,
                phase_run(
                    bare.name,
                    clients,
                    lambda i, count=count: [("POST", "/bench/bare/", 204)] * count,
                    time_limit=args.time_limit,
                ),
            )
            phase_merge(
                submit,
                phase_run(
                    submit.name,
                    clients,
                    lambda i, start=start, count=count: [
                        ("POST", f"/diary/questionnaire/{pk}/review/", 302)
                        for pk in participants[i][1][1:][start : start + count]
                    ],
                    time_limit=args.time_limit,
                ),
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    ratio = submit.throughput / bare.throughput if bare.throughput else 0.0
    p95 = percentiles(submit.latencies)[1]
    workers = args.workers or runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["workers"]
    kind = "sync workers" if args.threads == 1 else f"gthread workers x {args.threads} threads"
    print(
        f"{args.clients} concurrent clients, gunicorn {workers} {kind} on {HOST}, "
        f"{os.cpu_count()} CPUs"
    )
    print(bare.line())
    print(submit.line())
    print(f"ratio submission/bare throughput: {ratio:.2f} (target >= {TARGET_RATIO})")
    print(f"submission p95: {p95:.1f} ms (target < {TARGET_P95_MS:.0f} ms)")
    met = ratio >= TARGET_RATIO and p95 < TARGET_P95_MS and not submit.failures
    print("target met" if met else "target NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
