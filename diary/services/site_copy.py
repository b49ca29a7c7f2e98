"""The site's own copy (issue 17, item 5): for one site, a PDF casebook per participant, the
blinded CSV exports of the site, and a manifest with the SHA-256 of every file, written to a
folder of its own under settings.SITE_COPY_DIR.

- `site_copy_request`: a holder of diary.site_copy at the site asks for a copy (queued; the
  admin page publishes diary.tasks.site_copy_build_task on commit).
- `site_copies_schedule`: the monthly beat job queues a copy of every site of every study.
- `site_copy_build`: the task's service: claims a queued copy, writes its files with progress
  (casebooks written of the site's participants), then the manifest; audited.
- `site_copy_write`: the files themselves, for the task and `manage.py site_copy` alike.
- `site_copy_download`: the copy as one zip, audited per download.

Blinded by construction: the casebooks read nothing of the allocation
(diary.selectors.casebook_copy) and the CSV files are the blinded export kinds, so the copy's
bytes, hashes and sizes are the same whatever the allocation, and its audit events are blinded.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import shutil
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.exports.queries import Scope
from diary.models import (
    AuditAction,
    LockLevel,
    Participant,
    Site,
    SiteCopy,
    SiteCopyStatus,
    SiteCopyTrigger,
    Study,
)
from diary.rules.local_time import utc_iso
from diary.selectors.casebook_copy import casebook_read
from diary.selectors.questionnaire import instruments_collected
from diary.services.audit import audit_record
from diary.services.casebook_pdf import casebook_pdf
from diary.services.exports import ExportRequest, export_parts
from scoring.engine import ALGORITHM_VERSION

log = logging.getLogger(__name__)

# The blinded export kinds (the others exist only unblinded).
CSV_KINDS = ("long", "wide", "dictionary")
# The export files of the copy, by folder: the CSV files, and the site's ODM 1.3.2 archive
# (every value with its audit records: diary.exports.odm), both blinded.
COPY_EXPORTS = (("csv", CSV_KINDS), ("odm", ("odm",)))
MANIFEST = "manifest.json"
BUSY = (SiteCopyStatus.QUEUED, SiteCopyStatus.RUNNING)

Progress = Callable[[int, int], None]


def _file_entry(name: str, data: bytes) -> dict:
    return {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def site_copy_write(
    *,
    study: Study,
    site: Site,
    out_dir: Path,
    generated_by: str,
    now: datetime,
    progress: Progress | None = None,
) -> dict:
    """Write the site's casebooks (casebooks/<study ID>.pdf), its blinded CSV files (csv/) and
    manifest.json into `out_dir` (created; files of the same names replaced); return the
    manifest. `progress(done, total)` is called after each casebook. One participant's data
    is in memory at a time."""
    if site.study_id != study.pk:
        raise ValidationError("This site belongs to another study.")
    (out_dir / "casebooks").mkdir(parents=True, exist_ok=True)
    (out_dir / "csv").mkdir(parents=True, exist_ok=True)
    generated = f"made {utc_iso(now)} by {generated_by}"
    participants = (
        Participant.objects.filter(study=study, site=site)
        .select_related("study", "site")
        .order_by("subject_id")
    )
    total = participants.count()
    files = []
    for done, participant in enumerate(participants.iterator(chunk_size=100), start=1):
        data = casebook_pdf(casebook_read(participant=participant), generated=generated)
        name = f"casebooks/{participant.subject_id}.pdf"
        (out_dir / name).write_bytes(data)
        files.append(_file_entry(name, data))
        if progress is not None:
            progress(done, total)
    scope = Scope(study_id=study.pk, site_ids=(site.pk,))
    for folder, kinds in COPY_EXPORTS:
        request = ExportRequest(study=study, kinds=kinds, blinded=True, site_codes=(site.code,))
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        for out, chunks in export_parts(study, request, scope, now):
            name = f"{folder}/{out.name}"
            with (out_dir / name).open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
            files.append(
                {"name": name, "bytes": out.size, "sha256": out.sha256, "rows": out.rows}
            )
    manifest = {
        "study": study.code,
        "site": site.code,
        "generated_at": utc_iso(now),
        "generated_by": generated_by,
        "blinded": True,
        "participants": total,
        # The lock in force when the copy was made: before the hard lock the data may change.
        "data_status": "final" if study.lock_level == LockLevel.HARD else "interim",
        "instruments": [
            {"key": i.key, "version": i.version, "content_hash": i.content_hash, "modules": list(m)}
            for i, m in instruments_collected(study=study)
        ],
        "scoring_algorithm_version": ALGORITHM_VERSION,
        "missing_item_rule": study.missing_item_rule,
        "files": files,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _check_may(actor: AbstractBaseUser, site: Site) -> None:
    if not access.may_site_copy(actor, site):
        raise PermissionDenied("Only the site's own staff make or download its copy.")


@transaction.atomic
def site_copy_request(
    *, site: Site, actor: AbstractBaseUser, now: datetime | None = None
) -> SiteCopy:
    """Queue a copy of the site for `actor`. Raises PermissionDenied unless she holds
    diary.site_copy there, ValidationError when a copy of the site is already queued or being
    built. The caller publishes site_copy_build_task on commit."""
    _check_may(actor, site)
    Site.objects.select_for_update(no_key=True).get(pk=site.pk)  # one request at a time
    if SiteCopy.objects.filter(site=site, status__in=BUSY).exists():
        raise ValidationError("A copy of this site is already being made: wait for it.")
    return SiteCopy.objects.create(
        study_id=site.study_id,
        site=site,
        requested_by=actor,
        trigger=SiteCopyTrigger.ON_DEMAND,
        requested_at=now or timezone.now(),
    )


@transaction.atomic
def site_copies_schedule(
    *,
    study: Study | None = None,
    trigger: str = SiteCopyTrigger.SCHEDULED,
    now: datetime | None = None,
) -> list[int]:
    """Queue a copy of every site (of `study`, or of every study), except those whose copy is
    already queued or being built; return their ids. The monthly beat job asks for every
    study; the hard lock for its study (`trigger` AT_LOCK)."""
    now = now or timezone.now()
    sites = Site.objects.order_by("study_id", "code")
    if study is not None:
        sites = sites.filter(study=study)
    busy = set(SiteCopy.objects.filter(status__in=BUSY).values_list("site_id", flat=True))
    created = SiteCopy.objects.bulk_create(
        SiteCopy(study_id=site.study_id, site=site, trigger=trigger, requested_at=now)
        for site in sites
        if site.pk not in busy
    )
    return [copy.pk for copy in created]


def site_copy_folder(copy: SiteCopy) -> Path:
    return Path(settings.SITE_COPY_DIR) / copy.folder


def site_copy_build(*, copy_id: int, now: datetime | None = None) -> SiteCopy:
    """Build a queued copy: claim it (a conditional UPDATE, so a second run of the task finds
    it taken and returns), write its files with progress saved after each casebook, then mark
    it done with its manifest and audit SITE_COPY_GENERATED. A failure marks it failed with
    the error and removes its partial files; nothing half-made is offered for download. Not
    one transaction: the progress must be readable while it runs."""
    now = now or timezone.now()
    claimed = SiteCopy.objects.filter(pk=copy_id, status=SiteCopyStatus.QUEUED).update(
        status=SiteCopyStatus.RUNNING, started_at=now
    )
    copy = SiteCopy.objects.select_related("study", "site", "requested_by").get(pk=copy_id)
    if not claimed:
        return copy
    copy.folder = f"{copy.study.code}/{copy.site.code}/{copy.pk}"
    SiteCopy.objects.filter(pk=copy.pk).update(folder=copy.folder)

    def progress(done: int, total: int) -> None:
        SiteCopy.objects.filter(pk=copy.pk).update(done=done, total=total)

    who = copy.requested_by.get_username() if copy.requested_by else "the monthly schedule"
    try:
        manifest = site_copy_write(
            study=copy.study,
            site=copy.site,
            out_dir=site_copy_folder(copy),
            generated_by=who,
            now=now,
            progress=progress,
        )
    except Exception as exc:
        log.exception("site copy %s failed", copy.pk)
        shutil.rmtree(site_copy_folder(copy), ignore_errors=True)
        SiteCopy.objects.filter(pk=copy.pk).update(
            status=SiteCopyStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        copy.refresh_from_db()
        return copy
    with transaction.atomic():
        SiteCopy.objects.filter(pk=copy.pk).update(
            status=SiteCopyStatus.DONE,
            manifest=manifest,
            done=manifest["participants"],
            total=manifest["participants"],
            finished_at=timezone.now(),
        )
        site_copy_audit(
            study=copy.study,
            manifest=manifest,
            actor=copy.requested_by,
            trigger=copy.trigger,
            copy=copy,
        )
    copy.refresh_from_db()
    return copy


def site_copy_audit(
    *, study: Study, manifest: dict, actor, trigger: str, copy: SiteCopy | None = None
) -> None:
    """SITE_COPY_GENERATED: which site, how it was asked for, and every file's hash (blinded
    content: the copy is the same whatever the allocation)."""
    audit_record(
        action=AuditAction.SITE_COPY_GENERATED,
        actor=actor,
        study=study,
        obj=copy,
        details={
            "site": manifest["site"],
            "trigger": trigger,
            "participants": manifest["participants"],
            "files": manifest["files"],
        },
    )


def site_copy_to_folder(
    *, site: Site, actor: AbstractBaseUser, out_dir: Path, now: datetime | None = None
) -> dict:
    """`manage.py site_copy`: the same files and manifest as the page's copy, written to
    `out_dir` for `actor`, audited. Raises PermissionDenied unless she holds diary.site_copy
    at the site (nothing is written then)."""
    _check_may(actor, site)
    manifest = site_copy_write(
        study=site.study,
        site=site,
        out_dir=out_dir,
        generated_by=actor.get_username(),
        now=now or timezone.now(),
    )
    with transaction.atomic():
        site_copy_audit(study=site.study, manifest=manifest, actor=actor, trigger="command")
    return manifest


def site_copy_download(*, copy: SiteCopy, actor: AbstractBaseUser) -> tuple[str, Iterator[bytes]]:
    """The copy's files and manifest as one zip (file name, bytes in chunks), audited as
    SITE_COPY_DOWNLOADED. Raises PermissionDenied unless she holds diary.site_copy at its
    site, ValidationError when it is not ready."""
    _check_may(actor, copy.site)
    if copy.status != SiteCopyStatus.DONE:
        raise ValidationError("This copy is not ready.")
    folder = site_copy_folder(copy)
    names = [entry["name"] for entry in copy.manifest["files"]] + [MANIFEST]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name in names:
            bundle.write(folder / name, arcname=name)
    with transaction.atomic():
        audit_record(
            action=AuditAction.SITE_COPY_DOWNLOADED,
            actor=actor,
            study=copy.study,
            obj=copy,
            details={"site": copy.site.code, "copy": copy.pk, "files": len(names)},
        )
    stamp = copy.requested_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"{copy.study.code}_{copy.site.code}_copy_{stamp}.zip"
    data = buffer.getvalue()
    return name, iter([data])
