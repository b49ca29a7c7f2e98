"""The audit chain's cost: submission p95 with and without the chain, same run; and the time
`audit_verify` takes over a million links.

    python -m bench.bench_chain submit [--clients 20] [--per-client 60] [--rounds 4]
    python -m bench.bench_chain verify [--events 1000000] [--repeat 2]

`submit` runs bench_submit's set-up (embedded PostgreSQL and Redis, gunicorn as production
runs it, one participant per client with drafted questionnaires) and alternates rounds of
real submissions with the chain triggers disabled (unchained: what the application cost
before the chain) and enabled (chained), so both see the same background load. Target: the
chained p95 at most 10% above the unchained one.

`verify` inserts `--events` synthetic audit events as the owner with their links (computed in
bulk, the chain the trigger would write: _events_chain), then times the verifier
(diary.selectors.audit_chain) over the whole chain, `--repeat` times. Target: 1,000,000
links in under 60 s.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_submit import (
    ROOT,
    Client,
    Phase,
    data_create,
    gunicorn_start,
    percentiles,
    phase_merge,
    phase_run,
    services_start,
)

TARGET_P95_OVERHEAD = 0.10
TARGET_VERIFY_SECONDS = 60.0
_BATCH = 50_000


def _prepare(data: Path) -> dict[str, str]:
    env = {**os.environ, **services_start(data)}
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True
    )
    return env


def _owner_connect():
    import psycopg
    from django.conf import settings

    owner = settings.DATABASE_OWNER
    return psycopg.connect(
        dbname=settings.DATABASES["default"]["NAME"],
        user=owner.get("USER") or None,
        host=owner.get("HOST") or None,
        port=owner.get("PORT") or None,
        options=settings.DATABASES["default"]["OPTIONS"]["options"],
        autocommit=True,
    )


def _chain_triggers(*, enabled: bool) -> None:
    from diary.chain_tables import chained_tables
    from diary.rules.audit_chain import CHAIN_TRIGGER

    verb = "ENABLE" if enabled else "DISABLE"
    with _owner_connect() as conn:
        for table in chained_tables():
            conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {CHAIN_TRIGGER}")


def submit_main(args: argparse.Namespace) -> int:
    data = Path(os.environ.get("DATA_DIR", ROOT / ".data"))
    env = _prepare(data)
    participants = data_create(clients=args.clients, per_client=args.per_client + 1)
    from django.db import connections

    connections.close_all()
    web_env = {key: value for key, value in env.items() if key != "DATABASE_OWNER_URL"}
    server = gunicorn_start(web_env, port=args.port, workers=None, ready=180)
    unchained, chained = Phase("submission, chain off"), Phase("submission, chained")
    try:
        clients = [Client(args.port, keep_alive=False) for _ in participants]
        for client, (subject_id, _) in zip(clients, participants, strict=True):
            client.log_in(subject_id)
        warm = phase_run(
            "warm-up",
            clients,
            lambda i: [("POST", f"/diary/questionnaire/{participants[i][1][0]}/review/", 302)],
            time_limit=args.time_limit,
        )
        if warm.failures:
            raise SystemExit(f"warm-up: {warm.failures} requests failed")
        size = -(-args.per_client // (2 * args.rounds))
        start = 0
        for _ in range(args.rounds):
            for phase, enabled in ((unchained, False), (chained, True)):
                _chain_triggers(enabled=enabled)
                count = min(size, args.per_client - start)
                phase_merge(
                    phase,
                    phase_run(
                        phase.name,
                        clients,
                        lambda i, start=start, count=count: [
                            ("POST", f"/diary/questionnaire/{pk}/review/", 302)
                            for pk in participants[i][1][1:][start : start + count]
                        ],
                        time_limit=args.time_limit,
                    ),
                )
                start += count
    finally:
        _chain_triggers(enabled=True)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    off, on = percentiles(unchained.latencies)[1], percentiles(chained.latencies)[1]
    overhead = on / off - 1 if off else 0.0
    print(f"{args.clients} concurrent clients, {os.cpu_count()} CPUs")
    print(unchained.line())
    print(chained.line())
    print(
        f"p95 chain off {off:.1f} ms, chained {on:.1f} ms: {overhead:+.1%} "
        f"(target <= +{TARGET_P95_OVERHEAD:.0%})"
    )
    met = overhead <= TARGET_P95_OVERHEAD and not (chained.failures or unchained.failures)
    print("target met" if met else "target NOT met")
    return 0


def _events_chain(conn, *, count: int, key: str) -> None:
    """Insert `count` synthetic audit events and their links, in one transaction of the owner.

    The chain trigger would append them one by one (an advisory lock, the head's lookup and
    two sha256 in PL/pgSQL per event: about 100 us each, minutes for a million). Instead the
    trigger is off for this transaction only (ALTER TABLE is transactional and takes the
    table's exclusive lock), PostgreSQL gives each new row's digest exactly as the trigger
    takes it (row_digest_sql under DIGEST_SESSION), and Python computes each link's HMAC
    with the trigger's message (link_message) on the prebuilt pads and copies the links in
    chain order after the current head, under the chain's advisory lock. The result is the
    chain the trigger would have written, and audit_verify checks every link of it."""
    from diary.rules.audit_chain import (
        CHAIN_LOCK,
        CHAIN_TRIGGER,
        DIGEST_SESSION,
        GENESIS,
        link_message,
        row_digest_sql,
    )
    from diary.rules.chain_key import check_value, pads

    inner, outer = (bytes.fromhex(pad) for pad in pads(key))
    table = "diary_auditevent"
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        # Foreign keys checked per row (these rows have none set), not queued to the commit:
        # the trigger cannot be enabled again while checks on the table are pending.
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in DIGEST_SESSION:
            conn.execute(statement)
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER {CHAIN_TRIGGER}")
        head = conn.execute(
            "SELECT seq, hash FROM diary_auditchainlink ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if head is None:  # a fresh database: the genesis, as the trigger starts a chain
            head = (0, check_value(key))
            conn.execute(
                "INSERT INTO diary_auditchainlink (seq, prev_hash, hash, source_table, "
                "source_id, row_digest, object_table, object_id, content_digest) "
                "VALUES (0, '', %s, %s, 0, '', '', NULL, '')",
                [head[1], GENESIS],
            )
        head_seq, head_hash = head
        for offset in range(0, count, _BATCH):
            rows = conn.execute(
                "INSERT INTO diary_auditevent (occurred_at, actor_label, action, object_type, "
                "object_id, reason, details, request_id, unblinded) "
                "SELECT now(), 'bench', 'exported', 'bench', g::text, '', "
                "jsonb_build_object('n', g), '', true FROM generate_series(1, %s) g "
                "RETURNING id",
                [min(_BATCH, count - offset)],
            ).fetchall()
            ids = [row[0] for row in rows]
            digests = conn.execute(
                f"SELECT x.id, {row_digest_sql('x')} FROM diary_auditevent x "  # noqa: S608
                "WHERE x.id = ANY(%s) ORDER BY x.id",
                [ids],
            ).fetchall()
            with conn.cursor().copy(
                "COPY diary_auditchainlink (seq, prev_hash, hash, source_table, source_id, "
                "row_digest, object_table, object_id, content_digest) FROM STDIN"
            ) as copy:
                for source_id, digest in digests:
                    head_seq += 1
                    message = link_message(
                        seq=head_seq,
                        prev_hash=head_hash,
                        source_table=table,
                        source_id=source_id,
                        row_digest=digest,
                        object_table="",
                        object_id=None,
                        content_digest="",
                    )
                    link = hashlib.sha256(
                        outer + hashlib.sha256(inner + message).digest()
                    ).hexdigest()
                    copy.write_row(
                        (head_seq, head_hash, link, table, source_id, digest, "", None, "")
                    )
                    head_hash = link
            print(f"  {offset + len(ids)} events chained", flush=True)
        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {CHAIN_TRIGGER}")


def verify_main(args: argparse.Namespace) -> int:
    data = Path(os.environ.get("DATA_DIR", ROOT / ".data"))
    _prepare(data)
    import django

    django.setup()
    from django.conf import settings

    from diary.selectors.audit_chain import audit_chain_verify

    started = time.monotonic()
    with _owner_connect() as conn:
        _events_chain(conn, count=args.events, key=settings.AUDIT_CHAIN_KEY)
        conn.execute("VACUUM ANALYZE diary_auditevent, diary_auditchainlink")
    inserted = time.monotonic() - started
    print(
        f"{args.events} events inserted and chained in {inserted:.1f} s "
        f"({inserted / args.events * 1e6:.0f} us per event)"
    )
    for run in range(1, args.repeat + 1):
        report = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY)
        print(
            f"audit_verify run {run}: {report.links} links in {report.seconds:.1f} s, "
            f"{'passed' if report.passed else 'FAILED: ' + report.problems[0]} "
            f"(target < {TARGET_VERIFY_SECONDS:.0f} s)"
        )
        print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.steps.items()))
        met = report.passed and report.seconds < TARGET_VERIFY_SECONDS
        print("target met" if met else "target NOT met", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_chain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scenarios = parser.add_subparsers(dest="scenario", required=True)
    submit = scenarios.add_parser("submit")
    submit.add_argument("--clients", type=int, default=20)
    submit.add_argument("--per-client", type=int, default=60)
    submit.add_argument("--rounds", type=int, default=3)
    submit.add_argument("--port", type=int, default=8766)
    submit.add_argument("--time-limit", type=float, default=120.0)
    verify = scenarios.add_parser("verify")
    verify.add_argument("--events", type=int, default=1_000_000)
    verify.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    return submit_main(args) if args.scenario == "submit" else verify_main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
