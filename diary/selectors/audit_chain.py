"""Reading the audit chain back: recompute every link and compare it, and every response and
score, with the rows as they are now (diary/rules/audit_chain.py says what a link holds).

Reads only, in one REPEATABLE READ READ ONLY transaction, so rows committed while it runs
(with their links) are not half seen. One query walks the links in chain order and
recomputes, with PostgreSQL's own sha256, each link's HMAC (from the key's pads, passed as
parameters and never stored) and its source row's digest (one index lookup per link); only
the links that fail come back, through a server-side cursor. `bench/bench_chain.py verify`
measures 1,000,000 links.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Max, Q

from diary.chain_tables import chained_tables
from diary.models import AuditChainCheck, AuditChainLink
from diary.rules.audit_chain import (
    CONTENT_CHECKED,
    DELETED,
    DIGEST_SESSION,
    GENESIS,
    content_digest_sql,
    row_digest_sql,
)
from diary.rules.chain_key import check_value, pads

# How many problems a report lists (it counts them all).
PROBLEMS_LISTED = 100
_ITERSIZE = 20_000

# The rows of a content-checked table that belong to a study (`%(study)s`: its code).
_STUDY_ASSESSMENTS = (
    "SELECT a.id FROM diary_assessment a JOIN diary_participant p ON p.id = a.participant_id "
    "JOIN diary_study s ON s.id = p.study_id WHERE s.code = %(study)s"
)
_STUDY_FILTER = {
    "diary.Response": f"t.assessment_id IN ({_STUDY_ASSESSMENTS})",
    "scoring.Score": (
        f"t.response_id IN (SELECT r.id FROM diary_response r "
        f"WHERE r.assessment_id IN ({_STUDY_ASSESSMENTS}))"
    ),
}


@dataclass
class ChainReport:
    links: int = 0
    responses: int = 0
    scores: int = 0
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0
    study_code: str = ""
    # Seconds per step (links, unchained rows, each content check): what bench/bench_chain.py
    # prints beside the total.
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.problem_count == 0

    def add(self, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < PROBLEMS_LISTED:
            self.problems.append(problem)


@dataclass(frozen=True)
class ChainStatus:
    """What the admin's audit page says about the nightly check."""

    last_checked_at: datetime | None
    last_passed_at: datetime | None

    @property
    def last_check_passed(self) -> bool:
        return self.last_checked_at is not None and self.last_checked_at == self.last_passed_at


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _links_sql(tables: dict[str, tuple[str, ...]]) -> str:
    """Every link, recomputed by PostgreSQL in chain order, keeping only the genesis and the
    links that fail a check: its place (the previous link's seq and hash), its HMAC (under
    the pads `%(ipad)s` and `%(opad)s`), and its source row's digest as it is now. Nothing
    per link crosses to Python: a million links in one pass of the database's own sha256."""
    cases = " ".join(
        f"WHEN '{table}' THEN (SELECT {row_digest_sql('x')} FROM {_quote(table)} x "
        f"WHERE x.{_quote(arguments[0])} = l.source_id)"
        for table, arguments in tables.items()
    )
    return f"""
        SELECT seq, prev_hash, hash, source_table, source_id, previous_seq, previous_hash,
               hmac_ok, row_digest, current
        FROM (
            SELECT l.seq, l.prev_hash, l.hash, l.source_table, l.source_id, l.row_digest,
                   lag(l.seq) OVER w AS previous_seq, lag(l.hash) OVER w AS previous_hash,
                   l.hash = encode(sha256(%(opad)s || sha256(%(ipad)s || convert_to(concat_ws(
                       '|', l.seq, l.prev_hash, l.source_table, l.source_id, l.row_digest,
                       l.object_table, coalesce(l.object_id::text, ''), l.content_digest),
                       'UTF8'))), 'hex') AS hmac_ok,
                   CASE l.source_table {cases} END AS current
            FROM {AuditChainLink._meta.db_table} l
            WINDOW w AS (ORDER BY l.seq)
        ) checked
        WHERE seq = 0 OR previous_seq IS DISTINCT FROM seq - 1
           OR previous_hash IS DISTINCT FROM prev_hash OR NOT hmac_ok
           OR current IS DISTINCT FROM row_digest
        ORDER BY seq
    """


def _links_check(report: ChainReport, *, key: str, tables: dict[str, tuple[str, ...]]) -> None:
    inner, outer = pads(key)
    genesis_seen = False
    with connection.chunked_cursor() as cursor:
        cursor.itersize = _ITERSIZE
        cursor.execute(
            _links_sql(tables), {"ipad": bytes.fromhex(inner), "opad": bytes.fromhex(outer)}
        )
        for (
            seq,
            prev_hash,
            link_hash,
            source,
            source_id,
            previous_seq,
            previous_hash,
            hmac_ok,
            row_digest,
            current,
        ) in cursor:
            where = f"{source}#{source_id} (link {seq})"
            if seq == 0:
                genesis_seen = True
                if source != GENESIS or not hmac.compare_digest(link_hash, check_value(key)):
                    report.add(
                        "link 0: the genesis does not hold this AUDIT_CHAIN_KEY's check value: "
                        "a wrong key, or the chain was replaced"
                    )
                continue
            if not genesis_seen:
                genesis_seen = True
                report.add(f"link 0 is missing before {where}: the chain's start was removed")
            elif previous_seq != seq - 1:
                report.add(
                    f"links {previous_seq + 1} to {seq - 1} are missing before {where}: "
                    "events were removed from the chain"
                )
            elif previous_hash != prev_hash:
                report.add(f"{where} does not follow link {seq - 1}: the chain was reordered")
            if not hmac_ok:
                report.add(f"{where}: the link was altered (its HMAC does not match)")
            elif source not in tables:
                report.add(f"{where}: the link names a table that is not chained")
            elif current is None:
                report.add(f"{where}: the event was removed")
            elif current != row_digest:
                report.add(f"{where}: the event was altered after it was written")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {AuditChainLink._meta.db_table}")
        report.links = cursor.fetchone()[0]


def _unchained_check(report: ChainReport, tables: dict[str, tuple[str, ...]]) -> None:
    """Rows of the chained tables that no link names: inserted around the chain trigger."""
    rows = " UNION ALL ".join(
        f"SELECT '{table}' AS source, {_quote(arguments[0])} AS id FROM {_quote(table)}"
        for table, arguments in tables.items()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.source, s.id FROM ({rows}) s WHERE NOT EXISTS (SELECT 1 FROM "
            f"{AuditChainLink._meta.db_table} l WHERE l.source_table = s.source "
            "AND l.source_id = s.id) ORDER BY s.source, s.id"
        )
        for source, source_id in cursor.fetchall():
            report.add(f"{source}#{source_id}: the event is in no link: inserted around the chain")


def _content_check(report: ChainReport, *, label: str, study_code: str) -> None:
    model = global_apps.get_model(label)
    table, pk = model._meta.db_table, model._meta.pk.column
    noun = model._meta.verbose_name
    digest = content_digest_sql("t", CONTENT_CHECKED[label])
    in_study = _STUDY_FILTER[label] if study_code else "TRUE"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH recorded AS (
                SELECT DISTINCT ON (object_id) object_id, content_digest, seq
                FROM {AuditChainLink._meta.db_table} WHERE object_table = %(table)s
                ORDER BY object_id, seq DESC
            ), current AS (
                SELECT t.{_quote(pk)} AS id, {digest} AS digest FROM {_quote(table)} t
                WHERE {in_study}
            )
            SELECT coalesce(c.id, r.object_id), r.content_digest, c.digest, r.seq
            FROM current c FULL JOIN recorded r ON r.object_id = c.id
            WHERE (c.id IS NOT NULL AND r.content_digest IS DISTINCT FROM c.digest)
               -- A row gone altogether cannot be placed in a study: reported in full runs.
               OR (c.id IS NULL AND r.content_digest <> %(deleted)s AND NOT %(filtered)s)
            ORDER BY 1
            """,
            {"table": table, "deleted": DELETED, "study": study_code, "filtered": bool(study_code)},
        )
        problems = cursor.fetchall()
        cursor.execute(
            f"SELECT count(*) FROM {_quote(table)} t WHERE {in_study}",
            {"study": study_code},
        )
        count = cursor.fetchone()[0]
    if label == "diary.Response":
        report.responses = count
    else:
        report.scores = count
    for object_id, recorded, current, seq in problems:
        if recorded is None:
            report.add(f"{noun} {object_id}: not in the chain: inserted around its history")
        elif current is None:
            report.add(f"{noun} {object_id}: removed (last recorded in link {seq})")
        elif recorded == DELETED:
            report.add(f"{noun} {object_id}: present again after its deletion (link {seq})")
        else:
            report.add(
                f"{noun} {object_id}: its content no longer matches the digest recorded in "
                f"link {seq}"
            )


def audit_chain_verify(*, key: str, study_code: str = "") -> ChainReport:
    """Recompute the whole chain under `key` and compare it with the rows as they are now.

    Reports, in chain order, every link that is missing (an event removed), out of order, or
    altered, every event removed or altered after it was written, every row of a chained
    table that no link names (inserted around the chain), then every response and score
    whose content does not match the digest its latest history link recorded. `study_code`
    limits the response and score checks to that study; the chain itself is one for the
    database and is always checked whole. Reads only.
    """
    started = time.monotonic()
    report = ChainReport(study_code=study_code)
    tables = chained_tables()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for statement in DIGEST_SESSION:
                cursor.execute(statement)
        step = time.monotonic()
        _links_check(report, key=key, tables=tables)
        report.steps["links"], step = time.monotonic() - step, time.monotonic()
        _unchained_check(report, tables)
        report.steps["unchained rows"], step = time.monotonic() - step, time.monotonic()
        for label in CONTENT_CHECKED:
            _content_check(report, label=label, study_code=study_code)
            report.steps[label], step = time.monotonic() - step, time.monotonic()
    report.seconds = time.monotonic() - started
    return report


def audit_chain_status() -> ChainStatus:
    """When the chain was last checked, and when it last passed (one query)."""
    times = AuditChainCheck.objects.filter(study_code="").aggregate(
        checked=Max("checked_at"), passed=Max("checked_at", filter=Q(passed=True))
    )
    return ChainStatus(last_checked_at=times["checked"], last_passed_at=times["passed"])
