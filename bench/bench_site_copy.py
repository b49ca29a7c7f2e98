"""The site's own copy for one large site, against reading the same data bare, in the same run.

    python -m bench site_copy [--participants 500] [--profile FILE]

One site of `--participants` participants x 6 periods, every assessment submitted (EHP-30 and
VAS) and scored, made with the export benchmark's set-based SQL (the other site gets as many).
Measured, in this order, in one process:

- baseline: the same data read without the copy's work: every participant's casebook read
  (diary.selectors.casebook_copy.casebook_read, the queries the copy runs) and the site's blinded
  CSV kinds as a bare `COPY ... TO STDOUT` thrown away;
- the copy: diary.services.site_copy.site_copy_write into a temporary folder (casebooks
  rendered with ReportLab, CSV files written, SHA-256 of every file, manifest), as the task
  and `manage.py site_copy` run it.

Printed: both times, their ratio (how many times the bare reading the copy costs), the copy's
seconds per casebook and the growth of this process's resident memory while copying.
Targets (issue 17, item 6): the copy under 3 minutes, RSS growth under 100 MB (flat: one
participant in memory at a time). `--profile FILE` runs the copy under cProfile.

Where the time goes (cProfile, 40 participants): rendering the PDF casebooks with ReportLab
about three quarters (platypus tables drawn cell by cell, its text-width and number
formatting in the hot loop), reading the casebooks about a sixth (a third of which was
reading her rows a second time to hash them for the signatures, now hashed from the rows
read once: diary.selectors.casebook.casebook_content_of), the ODM archive
(diary.exports.odm) about 5 %, the CSV files and SHA-256 the rest. ReportLab's C
accelerators (the rl-accel package) replace its pure-Python text width and number formatting.

Measured on the shared 2-CPU machine (other helpers' test runs at the same time; times
follow the load):
- before (ReportLab pure Python, hash read twice), load average 1.0-1.5: copy 77.4 s
  (155 ms per casebook), baseline 17.2 s, ratio 4.5, RSS growth 0.7 MB; an earlier run under
  heavier load took 390 s;
- with rl-accel, load average 4.1-5.4: copy 83.5 s (167 ms), baseline 24.2 s, ratio 3.4;
- with rl-accel and the rows hashed once, load average 4.1-4.7: copy 73.6 s (147 ms per
  casebook), baseline 18.6 s, ratio 4.0, RSS growth 0.8 MB; another run of the same code while
  a 20-minute test run of this worktree shared the cores: 112.7 s.
Rendering PDFs in a pool of processes was not adopted: the 2 cores are shared, and a Celery
prefork worker's process is daemonic, which may not start children.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_export import PeakRss, bare_copy, data_create
from bench.django_setup import django_setup

TARGET_SECONDS = 180
TARGET_RSS_MB = 100


def coordinator_of(study, site):
    from django.contrib.auth import get_user_model

    from diary.models import StaffMembership, StaffRole
    from diary.services.staff import staff_groups_sync

    user = get_user_model().objects.create_user(username="bench-coordinator", is_staff=True)
    StaffMembership.objects.create(user=user, study=study, site=site, role=StaffRole.COORDINATOR)
    staff_groups_sync(user=user)
    return user


def baseline(study, site) -> float:
    from diary.exports.queries import Scope, kind_query
    from diary.models import Participant
    from diary.selectors.casebook_copy import casebook_read
    from diary.services.site_copy import CSV_KINDS

    start = time.perf_counter()
    participants = Participant.objects.filter(study=study, site=site).select_related(
        "study", "site"
    )
    for participant in participants.order_by("subject_id").iterator(chunk_size=100):
        casebook_read(participant=participant)
    scope = Scope(study_id=study.pk, site_ids=(site.pk,))
    for kind in CSV_KINDS:
        if kind != "dictionary":  # built in Python from the definitions, no rows to read
            bare_copy(*kind_query(kind, study, scope, blinded=True))
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench site_copy", description=__doc__)
    parser.add_argument("--participants", type=int, default=500, help="Of the copied site.")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="Run the copy under cProfile and write its statistics to FILE (pstats format; "
        "the timing then includes the profiler's overhead).",
    )
    args = parser.parse_args(argv)
    teardown = django_setup()
    try:
        from django.utils import timezone

        from diary.models import Site
        from diary.services.site_copy import site_copy_to_folder

        start = time.perf_counter()
        study, _statistician = data_create(args.participants * 2)  # two sites, alternating
        site = Site.objects.get(study=study, code="S01")
        user = coordinator_of(study, site)
        print(
            f"data: {args.participants} participants x 6 periods at site S01 (and as many at "
            f"S02) in {time.perf_counter() - start:.1f} s"
        )
        baseline(study, site)  # warm the cache for both contenders alike
        bare = baseline(study, site)
        profiler = cProfile.Profile() if args.profile else None
        with tempfile.TemporaryDirectory() as folder, PeakRss() as memory:
            start = time.perf_counter()
            with profiler or contextlib.nullcontext():
                manifest = site_copy_to_folder(
                    site=site, actor=user, out_dir=Path(folder), now=timezone.now()
                )
            seconds = time.perf_counter() - start
            size = sum(entry["bytes"] for entry in manifest["files"])
        casebooks = manifest["participants"]
        ok = seconds < TARGET_SECONDS and memory.growth_mb < TARGET_RSS_MB
        print(
            f"baseline (casebooks read, CSV rows copied bare): {bare:6.1f} s | "
            f"copy: {seconds:6.1f} s for {casebooks} casebooks and "
            f"{len(manifest['files']) - casebooks} CSV files, {size / 2**20:.1f} MiB "
            f"({seconds / max(casebooks, 1) * 1000:.0f} ms per casebook) | "
            f"ratio copy/baseline {seconds / bare:.1f} | target < {TARGET_SECONDS} s | "
            f"RSS growth {memory.growth_mb:.1f} MB (target < {TARGET_RSS_MB})"
        )
        if profiler is not None:
            profiler.dump_stats(args.profile)
            print(f"profile written to {args.profile} (python -m pstats {args.profile})")
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
