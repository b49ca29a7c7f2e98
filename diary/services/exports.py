"""Exports: who may export what, and one code path for the admin page and the command.

Every export writes one audit event when its stream ends, with user, kinds, filters, row
counts and SHA-256 of each file; an export interrupted half-way is audited as incomplete. The
event of an unblinded export is itself unblinded (only unblinded staff read it): its files'
fingerprints would let a blinded reader match candidate allocations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from diary import access
from diary.exports.columns import (
    EXPORT_KINDS,
    FLOW_COLUMNS,
    UNBLINDED_ONLY_KINDS,
    dictionary_columns,
    flow_rows,
    version_text,
)
from diary.exports.formats import CONTENT_TYPES
from diary.exports.odm import odm_stream
from diary.exports.queries import Scope, kind_query
from diary.exports.writer import ExportFile, copy_csv, rows_csv, zip_stream
from diary.models import AuditAction, LockLevel, Study
from diary.rules.local_time import utc_iso
from diary.selectors.questionnaire import instruments_collected
from diary.services.audit import audit_record
from diary.services.export_formats import (
    define_part,
    formats_check,
    kind_format,
    sdtm_parts,
    stat_part,
)
from scoring.engine import ALGORITHM_VERSION
from scoring.summaries import arm_summary, participant_flow


@dataclass(frozen=True)
class ExportRequest:
    study: Study
    kinds: tuple[str, ...]
    blinded: bool = True
    site_codes: tuple[str, ...] = ()
    periods: tuple[int, ...] = ()
    statuses: tuple[str, ...] = ()
    # csv, or json / xpt / sav / dta for the kinds that can be written so
    # (diary.services.export_formats.KIND_FORMATS); the others keep their own format.
    format: str = "csv"

    def filters(self) -> dict:
        return {
            "sites": list(self.site_codes),
            "periods": list(self.periods),
            "statuses": list(self.statuses),
        }


@dataclass
class Export:
    filename: str
    content_type: str
    chunks: Iterator[bytes]
    files: list[ExportFile] = field(default_factory=list)


def export_scope(*, user: AbstractBaseUser, request: ExportRequest) -> Scope:
    """The rows this user may export for this request; PermissionDenied says why not.

    Who may export what is the access policy's answer (diary.export_data at the sites of her
    memberships; unblinded, diary.export_unblinded where she is unblinded). The refusal never
    mentions treatments or allocation beyond the kind that was asked for.
    """
    if not user.is_authenticated or not user.is_active or not user.is_staff:
        raise PermissionDenied("Only study staff can export data.")
    unknown = set(request.kinds) - set(EXPORT_KINDS)
    if not request.kinds or unknown:
        raise PermissionDenied(f"Unknown export kind: {', '.join(sorted(unknown)) or 'none'}.")
    formats_check(kinds=request.kinds, fmt=request.format)
    memberships = list(
        access.memberships_granting(user, access.EXPORT)
        .filter(study=request.study)
        .select_related("site")
    )
    if not memberships:
        raise PermissionDenied("You have no role in this study that allows exports.")
    unblinded = access.may_export_unblinded(user, request.study)
    if not request.blinded and not unblinded:
        raise PermissionDenied("Unblinded exports need an unblinded role.")
    if UNBLINDED_ONLY_KINDS & set(request.kinds) and (request.blinded or not unblinded):
        raise PermissionDenied("That export kind is available only as an unblinded export.")
    all_sites = any(m.site_id is None for m in memberships)
    allowed = (
        {site.code: site.pk for site in request.study.sites.all()}
        if all_sites
        else {m.site.code: m.site.pk for m in memberships}
    )
    if set(request.site_codes) - set(allowed):
        raise PermissionDenied("You can export only the sites you are assigned to.")
    codes = request.site_codes or tuple(allowed)
    site_ids = None if all_sites and not request.site_codes else tuple(allowed[c] for c in codes)
    return Scope(
        study_id=request.study.pk,
        site_ids=site_ids,
        periods=request.periods or None,
        statuses=request.statuses or None,
    )


def _dictionary_rows(study: Study, *, blinded: bool) -> list[list[str]]:
    return [
        [
            v.name,
            v.label,
            v.type,
            "; ".join(f"{value}={label}" for value, label in v.codes),
            v.unit,
            v.instrument,
            version_text(v.version),
        ]
        for v in dictionary_columns(instruments_collected(study=study), blinded=blinded)
    ]


def _flow_rows(study: Study, scope: Scope) -> list[list[str]]:
    """The flow of the scope's sites, "analysed" from the per-arm summary's analyses (cached
    by the data's last change). Every period and status: the flow counts whole periods, so
    the period and status filters do not apply to it."""
    flow = participant_flow(study=study, summary=arm_summary(study=study), site_ids=scope.site_ids)
    return flow_rows(flow)


def export_parts(
    study: Study, request: ExportRequest, scope: Scope, now: datetime
) -> list[tuple[ExportFile, Iterator]]:
    """One (file, chunks) per kind of the request, over the rows of `scope`; each file's hash,
    size and rows are filled in as its chunks are read."""
    suffix = "blinded" if request.blinded else "unblinded"
    blinded = request.blinded
    parts = []
    for kind in request.kinds:
        fmt = kind_format(kind, request.format)
        name = f"{study.code}_{kind}_{suffix}.{fmt}"
        if kind == "sdtm":
            parts += sdtm_parts(study=study, scope=scope, blinded=blinded, fmt=fmt, now=now)
            continue
        if kind == "define":
            dataset_format = kind_format("sdtm", request.format)
            parts.append(define_part(study=study, scope=scope, blinded=blinded,
                                     dataset_format=dataset_format, now=now))  # fmt: skip
            continue
        if kind == "odm":
            # XML whatever the format asked; no allocation, blinded or not (diary.exports.odm).
            out = ExportFile(name)
            parts.append((out, odm_stream(study, scope, out, now=now)))
            continue
        if fmt != "csv":
            parts.append(stat_part(kind, study=study, scope=scope, blinded=blinded, fmt=fmt,
                                   name=name, now=now))  # fmt: skip
            continue
        out = ExportFile(name)
        if kind == "dictionary":
            header = ["variable", "label", "type", "codes", "unit", "instrument", "version"]
            chunks = rows_csv(header, _dictionary_rows(study, blinded=request.blinded), out)
        elif kind == "flow":
            chunks = rows_csv([c.name for c in FLOW_COLUMNS], _flow_rows(study, scope), out)
        else:
            chunks = copy_csv(*kind_query(kind, study, scope, blinded=request.blinded), out)
        parts.append((out, chunks))
    return parts


def manifest_build(
    *, user: AbstractBaseUser, request: ExportRequest, files: list[ExportFile], now: datetime
) -> dict:
    study = request.study
    return {
        "generated_by": user.get_username(),
        "generated_at": utc_iso(now),
        "study": study.code,
        "blinded": request.blinded,
        "kinds": list(request.kinds),
        "format": request.format,
        "filters": request.filters(),
        "files": [f.as_dict() for f in files],
        "instruments": [
            {"key": i.key, "version": i.version, "content_hash": i.content_hash, "modules": list(m)}
            for i, m in instruments_collected(study=study)
        ],
        "scoring_algorithm_version": ALGORITHM_VERSION,
        "missing_item_rule": study.missing_item_rule,
        # Made before the hard lock, the data may still change: interim (issue 17, item 4).
        "data_status": "final" if study.lock_level == LockLevel.HARD else "interim",
        "study_lock": {
            "level": study.lock_level,
            "since": utc_iso(study.lock_changed_at) if study.lock_changed_at else None,
        },
    }


def export_start(
    *, user: AbstractBaseUser, request: ExportRequest, now: datetime | None = None
) -> Export:
    """Check permission now, then return a lazy stream; it audits itself when it ends.

    One file gives that file (a CSV, or the format asked for); several files (several kinds,
    or the SDTM datasets) give a zip with a manifest.json.
    """
    now = now or timezone.now()
    scope = export_scope(user=user, request=request)
    parts = export_parts(request.study, request, scope, now)
    files = [out for out, _ in parts]

    def manifest() -> str:
        return json.dumps(
            manifest_build(user=user, request=request, files=files, now=now), indent=2
        )

    def audited(chunks: Iterator[bytes]) -> Iterator[bytes]:
        complete = False
        try:
            yield from chunks
            complete = True
        finally:
            with transaction.atomic():
                audit_record(
                    action=AuditAction.EXPORTED,
                    actor=user,
                    study=request.study,
                    details={
                        **asdict_request(request),
                        "complete": complete,
                        "files": [f.as_dict() for f in files],
                    },
                    # The files' hashes, sizes and row counts are computed from what they
                    # hold: an unblinded file's are unblinded content (diary.access).
                    unblinded=not request.blinded,
                )

    if len(parts) == 1:
        out, chunks = parts[0]
        extension = out.name.rsplit(".", 1)[-1]
        content_type = CONTENT_TYPES.get(extension, "application/xml")
        return Export(out.name, content_type, audited(chunks), files)
    suffix = "blinded" if request.blinded else "unblinded"
    name = f"{request.study.code}_export_{suffix}_{now:%Y%m%dT%H%M%SZ}.zip"
    return Export(name, "application/zip", audited(zip_stream(parts, manifest)), files)


def asdict_request(request: ExportRequest) -> dict:
    data = asdict(request)
    data["study"] = request.study.code
    data["kinds"] = list(request.kinds)
    data["filters"] = request.filters()
    for key in ("site_codes", "periods", "statuses"):
        data.pop(key)
    return data
