"""Exports against PostgreSQL's own COPY of the same rows, in the same run; peak memory.

    python -m bench export [--participants 10000]

10,000 participants x 6 periods = 60,000 submitted assessments, 1.8 million EHP-30 item
answers (plus one VAS answer each). For `wide` and `long` (blinded) and the unblinded
`analysis` file (one row per participant x period x outcome): seconds through the export service
(permission check, CSV streamed from a server-side COPY, SHA-256 and row count on the fly,
audit event) against a bare `COPY (SELECT ...) TO STDOUT WITH CSV` of the same SELECT read in
blocks and thrown away; the ratio of their speeds; and the growth of this process's resident
memory while exporting. Targets (issue #6): at least half of COPY's speed, RSS growth under
100 MB.

Then, in the same run and on the same data, the submission-ready files (issue #16, item 7),
each through the same export service (diary.services.exports.export_start, the code of the
export page and `manage.py export`): the `sdtm` kind in each of its formats (csv, json =
Dataset-JSON v1.1, xpt = SAS XPORT v5), and the `odm` archive. The service cannot make one SDTM
dataset alone, so the whole kind is measured (a zip of DM, TA, TE, SE, SV, QS, FA and the
manifest): QS is 1.9 million item records plus 0.3 million score records of it, FA 60,000,
the others one per participant or period. Each is printed with its seconds, its ratio to the
`long` CSV export measured above, and its RSS growth; targets: ratio <= 3, RSS growth < 200 MB.

So that the ODM archive reads what it reads in a real study, the data also holds: a login
user per participant, who submitted her answers (AdminData lists every user, each AuditRecord
names one); the audit events of her period reports (start, then end: the AuditRecords of the
period dates); and 1 % of the EHP-30 responses corrected by site staff with a reason (a new
response superseding the first, with its scores: TransactionType="Update" records); and
`--signed` (default 10 %) of the casebooks signed by the site's investigator, each signature
void since (its hash is not the casebook's: a change after signing, the case the archive must
report): the archive computes each signed participant's casebook hash, as the signing page
does, so its time grows with the signed share (`--signed 100` measures a fully signed study).

The process exits non-zero when a target is missed.

    python -m bench export --keep             # leaves the bench database (data: ~16 min)
    python -m bench export --reuse --only submission   # measures on it again, in minutes
    python -m bench export --reuse --only stat   # and the long / wide tables' XPT, SAV, DTA

Measured at 10,000 participants on the shared 2-CPU machine (other helpers' tests and
benchmarks running; ratios are in-run), 1 December 2026:
- before (commit 9b5e64f; `--keep`, load 2.5-5): data 962.8 s; long CSV 18.00 s; SDTM csv
  66.29 s (3.68, missed), json 102.19 s (5.68, missed), xpt 103.85 s (5.77, missed); ODM
  38.72 s (2.15); RSS growth <= 6.4 MB.
- after (QS/FA a LATERAL per participant in subject order, no sort of the whole study;
  Dataset-JSON rows by one C encoder; `--reuse --only submission`, load 2-3.6): long CSV
  20.02 s; SDTM csv 43.44 s (2.17, met), json 60.20 s (3.01, missed by a hair), xpt 90.56 s
  (4.52, missed: the XPT writer's Python per value, about 45 s over the query); ODM 51.28 s
  (2.56); RSS growth <= 25.5 MB. EXPLAIN (ANALYZE, BUFFERS) of QS after: one incremental
  sort by participant (37-66 kB per group, nothing spilled), 17 s at load 2.

Measured again on 1 December 2026 at 10,000 participants (one helper's browser tests beside
it; load 1.5-4.3), each line one run:
- main at 2045f83, fresh data (`--keep`): long CSV 20.14 s; SDTM csv 30.42 s (1.51), json
  33.19 s (1.65), xpt 63.23 s (3.14, missed); ODM 37.15 s (1.84).
- main at 2045f83, `--reuse --only submission`: long CSV 13.86 s; SDTM csv 18.40 s (1.33),
  json 37.47 s (2.70), xpt 37.38 s (2.70); ODM 29.79 s (2.15). The ratios move with the load
  (the Python side of json and xpt ran in turn with the database's, over a cursor's blocks).
- after (Dataset-JSON rows written by PostgreSQL in a COPY; XPT from COPY columns parsed by
  pandas and converted per distinct value; QS's supersession check and score lookup once per
  response and per derived test), `--reuse --only submission`, three runs: long CSV 9.66 /
  13.32 / 12.06 s; SDTM csv 1.76 / 1.84 / 1.28; json 2.91 / 2.60 / 2.17 (28.1 / 34.7 /
  26.2 s); xpt 2.19 / 2.08 / 2.44 (21.2 / 27.7 / 29.4 s); ODM 2.26 / 1.94 / 1.80; RSS growth
  at most 34.3 MB (XPT's parser blocks of 20,000 rows).

Measured on 2 December 2026 on a new machine with nothing else running (load under 1.4), a
fresh checkout of main at 935ae94 and freshly made data:
- `--keep`: data 349.3 s; long CSV 7.30 s; SDTM csv 9.23 s (1.26), json 15.67 s (2.15), xpt
  13.65 s (1.87); ODM 19.08 s (2.61); RSS growth at most 23.2 MB: every target met.
- `--reuse --only submission`: long CSV 6.82 s; SDTM csv 8.90 s (1.31), json 14.67 s (2.15),
  xpt 13.05 s (1.91); ODM 15.77 s (2.31); RSS growth at most 35.0 MB: every target met.
- `--reuse --only stat` (no target): long xpt 8.72 s (+9.5 MB), long sav 59.71 s (+2,640.7
  MB), long dta 57.69 s (+2,563.1 MB), wide sav 3.15 s (+72.1 MB): pyreadstat builds SAV and
  DTA from a whole DataFrame (and copies it), so their memory grows with the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from bench.django_setup import django_setup

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


class PeakRss:
    """Samples this process's RSS every 5 ms while active."""

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 2**20


def data_create(participants: int, signed: int = 10) -> tuple[object, object]:
    """The study, in set-based SQL (the triggers production has stay on)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from diary.models import (
        SIGNATURE_MEANING,
        Sequence,
        SequenceBlock,
        Site,
        StaffMembership,
        StaffRole,
        Study,
        Treatment,
    )
    from diary.rules.casebook import CASEBOOK_FORMAT
    from diary.services.staff import staff_groups_sync
    from scoring.definitions import instrument_get
    from scoring.engine import ALGORITHM_VERSION

    study = Study.objects.create(
        code="BENCH-EXPORT", name="Export benchmark", instruments=["ehp30", "vas_dysmenorrhea"]
    )
    Site.objects.create(study=study, code="S01", name="One")
    Site.objects.create(study=study, code="S02", name="Two")
    a = Treatment.objects.create(study=study, code="A", name="Active")
    p = Treatment.objects.create(study=study, code="P", name="Placebo")
    for code, order in (("AP", (a, p)), ("PA", (p, a))):
        sequence = Sequence.objects.create(study=study, code=code)
        for block, treatment in enumerate(order, start=1):
            SequenceBlock.objects.create(sequence=sequence, block=block, treatment=treatment)
    user = get_user_model().objects.create_user(username="bench-statistician", is_staff=True)
    StaffMembership.objects.create(user=user, study=study, role=StaffRole.STATISTICIAN)
    staff_groups_sync(user=user)  # the role's group holds the export permissions
    for site in study.sites.all():  # each site's investigator signs its casebooks
        investigator = get_user_model().objects.create_user(
            username=f"bench-investigator-{site.code}", first_name="Ida", last_name="Nordahl",
            is_staff=True,
        )  # fmt: skip
        StaffMembership.objects.create(
            user=investigator, study=study, site=site, role=StaffRole.INVESTIGATOR
        )
    items = list(instrument_get("ehp30").item_keys())
    scales = [s.key for s in instrument_get("ehp30").scales_for(())]
    with connection.cursor() as c:
        c.execute(
            """INSERT INTO diary_participant (study_id, site_id, subject_id, time_zone, language,
                   status, enrolled_at, activated_at, withdrawal_reason)
               SELECT %s, (SELECT id FROM diary_site WHERE study_id = %s
                           ORDER BY code OFFSET (g %% 2) LIMIT 1),
                      'S' || lpad((g %% 2 + 1)::text, 2, '0') || '-' || lpad(g::text, 5, '0'),
                      'Europe/Copenhagen', 'en', 'active', now() - interval '300 days',
                      now() - interval '300 days', ''
               FROM generate_series(1, %s) g""",
            [study.pk, study.pk, participants],
        )
        # A login per participant (her answers' and reports' author, as in the diary).
        c.execute(
            """INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,
                   email, is_staff, is_active, date_joined)
               SELECT '!', false, 'bench-' || lower(p.subject_id), '', '', '', false, true,
                      now()
               FROM diary_participant p WHERE p.study_id = %s""",
            [study.pk],
        )
        c.execute(
            """UPDATE diary_participant p SET user_id = u.id FROM auth_user u
               WHERE u.username = 'bench-' || lower(p.subject_id) AND p.study_id = %s""",
            [study.pk],
        )
        c.execute(
            """INSERT INTO diary_allocation (participant_id, sequence_id, source, allocated_at)
               SELECT p.id, (SELECT id FROM diary_sequence WHERE study_id = %s ORDER BY code
                             OFFSET (p.id %% 2) LIMIT 1), 'randomizer', now()
               FROM diary_participant p WHERE p.study_id = %s""",
            [study.pk, study.pk],
        )
        c.execute(
            """INSERT INTO diary_menstrualperiod (participant_id, number, started_on, ended_on,
                   start_reported_at, end_reported_at)
               SELECT p.id, k, date '2026-01-01' + ((k - 1) * 28 + p.id %% 5)::int,
                      date '2026-01-01' + ((k - 1) * 28 + p.id %% 5 + 4)::int, now(), now()
               FROM diary_participant p, generate_series(1, 6) k WHERE p.study_id = %s""",
            [study.pk],
        )
        c.execute(
            """INSERT INTO diary_assessment (participant_id, period_number, period_id, status,
                   opens_at, closes_at, submitted_at, excused_reason)
               SELECT mp.participant_id, mp.number, mp.id, 'submitted',
                      mp.ended_on::timestamptz, mp.ended_on::timestamptz + interval '7 days',
                      mp.ended_on::timestamptz + interval '2 days', ''
               FROM diary_menstrualperiod mp JOIN diary_participant p ON p.id = mp.participant_id
               WHERE p.study_id = %s""",
            [study.pk],
        )
        c.execute(
            """INSERT INTO diary_response (assessment_id, instrument_key, instrument_version,
                   instrument_hash, answers, metadata, submitted_at, submitted_by_id, source,
                   reason)
               SELECT a.id, 'ehp30', '1.0', %s,
                      (SELECT jsonb_object_agg(k, CASE WHEN random() < 0.02 THEN NULL
                                                       ELSE floor(random() * 5)::int END)
                       FROM unnest(%s::text[]) k),
                      '{}', a.submitted_at, p.user_id, 'participant_web', ''
               FROM diary_assessment a JOIN diary_participant p ON p.id = a.participant_id
               WHERE p.study_id = %s""",
            [instrument_get("ehp30").content_hash, items, study.pk],
        )
        c.execute(
            """INSERT INTO diary_response (assessment_id, instrument_key, instrument_version,
                   instrument_hash, answers, metadata, submitted_at, submitted_by_id, source,
                   reason)
               SELECT a.id, 'vas_dysmenorrhea', '1.0', %s,
                      jsonb_build_object('vas_dysmenorrhea', floor(random() * 101)::int),
                      '{}', a.submitted_at, p.user_id, 'participant_web', ''
               FROM diary_assessment a JOIN diary_participant p ON p.id = a.participant_id
               WHERE p.study_id = %s""",
            [instrument_get("vas_dysmenorrhea").content_hash, study.pk],
        )
        # Her period reports' audit events (start, then end), which the archive's period
        # dates are audited by; the audit chain's trigger links them as in production.
        c.execute(
            """INSERT INTO diary_auditevent (occurred_at, actor_id, actor_label, action,
                   study_id, participant_id, object_type, object_id, reason, details,
                   request_id, unblinded)
               SELECT d.day::timestamptz + interval '20 hours', p.user_id,
                      'bench-' || lower(p.subject_id), 'period_reported', p.study_id, p.id,
                      'diary.MenstrualPeriod', mp.id::text, '',
                      jsonb_build_object('number', mp.number, d.name, d.day::text), '', false
               FROM diary_menstrualperiod mp
               JOIN diary_participant p ON p.id = mp.participant_id
               CROSS JOIN LATERAL (VALUES (1, 'started_on', mp.started_on),
                                          (2, 'ended_on', mp.ended_on)) d(ord, name, day)
               WHERE p.study_id = %s ORDER BY mp.id, d.ord""",
            [study.pk],
        )
        # 1 % of the EHP-30 answers corrected by the site with a reason: a new response that
        # supersedes the first (one item changed).
        c.execute(
            """INSERT INTO diary_response (assessment_id, instrument_key, instrument_version,
                   instrument_hash, answers, metadata, submitted_at, submitted_by_id, source,
                   reason, supersedes_id)
               SELECT r.assessment_id, r.instrument_key, r.instrument_version,
                      r.instrument_hash,
                      r.answers || jsonb_build_object('ehp30_q01',
                          (coalesce((r.answers ->> 'ehp30_q01')::int, 0) + 1) %% 5),
                      '{}', r.submitted_at + interval '3 days', %s, 'site_correction',
                      'Misread tick box on the paper copy', r.id
               FROM diary_response r
               JOIN diary_assessment a ON a.id = r.assessment_id
               JOIN diary_participant p ON p.id = a.participant_id
               WHERE p.study_id = %s AND r.instrument_key = 'ehp30' AND r.id %% 100 = 0
               ORDER BY r.id""",
            [user.pk, study.pk],
        )
        # Casebook signatures of `signed` % of the participants, by an investigator.
        c.execute(
            """INSERT INTO diary_casebooksignature (study_id, participant_id, signed_by_id,
                   printed_name, signed_at, signer_time_zone, meaning, content_hash,
                   content_format, milestone, milestone_label)
               SELECT p.study_id, p.id, m.user_id, 'Ida Nordahl', now() - interval '1 day',
                      'Europe/Copenhagen', %s, md5(p.id::text) || md5(p.subject_id), %s,
                      NULL, ''
               FROM diary_participant p
               JOIN diary_staffmembership m ON m.site_id = p.site_id AND m.role = 'investigator'
               WHERE p.study_id = %s AND p.id %% 100 < %s ORDER BY p.id""",
            [SIGNATURE_MEANING, CASEBOOK_FORMAT, study.pk, signed],
        )
        c.execute(
            """INSERT INTO scoring_score (response_id, scale, algorithm_version, value,
                   items_answered, items_in_scale, applicable, missing_rule, instrument_key,
                   instrument_version, instrument_hash, scored_at)
               SELECT r.id, s.scale, %s, round((random() * 100)::numeric, 4), 3, 3, true,
                      'half', r.instrument_key, r.instrument_version, r.instrument_hash, now()
               FROM diary_response r
               JOIN diary_assessment a ON a.id = r.assessment_id
               JOIN diary_participant p ON p.id = a.participant_id
               CROSS JOIN unnest(%s::text[]) AS s(scale)
               WHERE p.study_id = %s AND r.instrument_key = 'ehp30'""",
            [ALGORITHM_VERSION, scales, study.pk],
        )
        c.execute("ANALYZE")
    return study, user


def data_kept() -> tuple[object, object]:
    """The study and statistician a --keep run left."""
    from django.contrib.auth import get_user_model

    from diary.models import Study

    return (
        Study.objects.get(code="BENCH-EXPORT"),
        get_user_model().objects.get(username="bench-statistician"),
    )


def bare_copy(sql: str, params: list) -> tuple[float, int]:
    from django.db import connection

    start = time.perf_counter()
    size = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')", params
        ) as copy,
    ):
        for block in copy:
            size += len(block)
    return time.perf_counter() - start, size


def through_service(
    user, study, kind: str, blinded: bool, fmt: str = "csv"
) -> tuple[float, int, list, float]:
    """Seconds, bytes, the files (ExportFile: name, rows) and RSS growth of one export."""
    from diary.services.exports import ExportRequest, export_start

    with PeakRss() as memory:
        start = time.perf_counter()
        export = export_start(
            user=user,
            request=ExportRequest(study=study, kinds=(kind,), blinded=blinded, format=fmt),
        )
        size = sum(len(chunk) for chunk in export.chunks)
        seconds = time.perf_counter() - start
    return seconds, size, export.files, memory.growth_mb


# Issue #16, item 7: the submission-ready files against the `long` CSV export of the same run.
RATIO_MAX, GROWTH_MAX = 3.0, 200.0
# The ODM archive is XML whatever the format asked (diary.services.export_formats).
SUBMISSION_FILES = (("sdtm", "csv"), ("sdtm", "json"), ("sdtm", "xpt"), ("odm", "csv"))


def submission_measure(user, study, long_s: float) -> bool:
    ok = True
    for kind, fmt in SUBMISSION_FILES:
        seconds, size, files, growth = through_service(user, study, kind, False, fmt)
        ratio = seconds / long_s
        if kind == "sdtm":
            qs = next(f for f in files if f.name.startswith("qs."))
            what = f"{sum(f.rows for f in files):>9,} records ({qs.rows:,} in QS)"
        else:
            what = f"{files[0].rows:>9,} ItemData"
        met = ratio <= RATIO_MAX and growth < GROWTH_MAX
        shown = "xml" if kind == "odm" else fmt
        print(
            f"{kind} {shown:4s}: {what}, {size / 2**20:7.1f} MiB | {seconds:6.2f} s | "
            f"ratio to long CSV {ratio:.2f} (target <= {RATIO_MAX:g}) | "
            f"RSS growth {growth:.1f} MB (target < {GROWTH_MAX:g})" + ("" if met else "  MISSED")
        )
        ok = ok and met
    return ok


STAT_FILES = (("long", "xpt"), ("long", "sav"), ("long", "dta"), ("wide", "sav"))


def stat_measure(user, study, long_s: float) -> None:
    """SAS, SPSS and Stata files of the CSV kinds (blinded), for the record: no target (SAV and
    DTA are built in memory by pyreadstat; README, "File formats")."""
    print("statistical files of the CSV kinds (blinded; no target), against the long CSV export:")
    for kind, fmt in STAT_FILES:
        seconds, size, files, growth = through_service(user, study, kind, True, fmt)
        print(
            f"{kind} {fmt}: {files[0].rows:>9,} rows, {size / 2**20:7.1f} MiB | {seconds:6.2f} s "
            f"| ratio to long CSV {seconds / long_s:.2f} | RSS growth {growth:.1f} MB"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench export", description=__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument(
        "--signed", type=int, default=10, help="percent of the casebooks signed (default 10)"
    )
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the bench database at the end (its data takes 15 minutes at 10,000)",
    )
    parser.add_argument(
        "--reuse", action="store_true",
        help="measure on the database a --keep run left, without making the data again",
    )
    parser.add_argument(
        "--only", choices=("all", "submission", "stat"), default="all",
        help="submission: the long CSV baseline and the submission-ready files only; stat: "
        "those and the SAS, SPSS and Stata files of the long and wide tables (no target)",
    )
    args = parser.parse_args(argv)
    teardown = django_setup(keep=args.keep or args.reuse, reuse=args.reuse)
    try:
        from diary.exports.queries import Scope, kind_query

        start = time.perf_counter()
        if args.reuse:
            study, user = data_kept()
            print(f"data: kept from an earlier run, {study.participants.count()} participants")
        else:
            study, user = data_create(args.participants, args.signed)
            print(
                f"data: {args.participants} participants x 6 periods, {args.signed} % of the "
                f"casebooks signed, in {time.perf_counter() - start:.1f} s"
            )
        scope = Scope(study_id=study.pk)
        ok = True
        timed: dict[str, float] = {}
        baselines = (("wide", True), ("long", True), ("analysis", False))
        if args.only in ("submission", "stat"):
            baselines = (("long", True),)
        for kind, blinded in baselines:
            sql, params = kind_query(kind, study, scope, blinded=blinded)
            bare_copy(sql, params)  # warm the cache for both contenders alike
            copy_s, copy_bytes = bare_copy(sql, params)
            export_s, export_bytes, files, growth = through_service(user, study, kind, blinded)
            rows = files[0].rows
            timed[kind] = export_s
            ratio = copy_s / export_s
            print(
                f"{kind:8s}: {rows:>9,} rows, {export_bytes / 2**20:7.1f} MiB | "
                f"export {export_s:6.2f} s ({rows / export_s:>9,.0f} rows/s) | "
                f"bare COPY {copy_s:6.2f} s | speed ratio export/COPY {ratio:.2f} "
                f"(target >= 0.5) | RSS growth {growth:.1f} MB (target < 100)"
            )
            assert export_bytes == copy_bytes, "export and COPY must produce the same bytes"
            ok = ok and ratio >= 0.5 and growth < 100
        print("submission-ready files (unblinded, whole kind), against the long CSV export:")
        ok = submission_measure(user, study, timed["long"]) and ok
        if args.only == "stat":
            stat_measure(user, study, timed["long"])
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
