"""One participant's casebook, as her site reads it: her periods, her questionnaires with the
answers in the wording she answered, the scores of each response, the changes made to her data
and the blinded extract of her audit trail. Times are on her own clock (her time zone) and in
UTC.

Selectors read and never write. Nothing here is read from the allocation: no treatment, no
sequence, no unblinded audit event (AuditEvent.unblinded), so a casebook is the same whatever
she was allocated to (tests/diary/services/test_site_copy.py proves it byte for byte).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Prefetch

from diary.models import AuditAction, AuditEvent, ClosingPeriodStart, Participant, Response
from diary.rules.local_time import wall_clock_label
from diary.selectors.casebook import casebook_content_of, signature_states
from diary.selectors.responses import ResponseRead, response_read
from scoring.engine import ALGORITHM_VERSION, display_round
from scoring.models import Score

# The events whose details are a change of her data (the data change history).
CHANGE_ACTIONS = (AuditAction.CORRECTED, AuditAction.PERIOD_CORRECTED, AuditAction.EXCUSED)


@dataclass(frozen=True)
class ScoreRow:
    scale: str
    value: str  # rounded for display, "not scored" when null
    items: str  # "11 of 11"


@dataclass(frozen=True)
class ResponseEntry:
    instrument: str
    submitted: str  # on her clock
    source: str
    superseded: bool
    reason: str
    read: ResponseRead
    scores: tuple[ScoreRow, ...]


@dataclass(frozen=True)
class AssessmentEntry:
    period: int
    status: str
    opens: str
    closes: str
    responses: tuple[ResponseEntry, ...]


@dataclass(frozen=True)
class PeriodEntry:
    number: int
    started_on: date
    ended_on: date | None
    reported: str


@dataclass(frozen=True)
class TrailEntry:
    when: str  # on her clock
    when_utc: str
    action: str
    actor: str
    reason: str
    details: str


@dataclass(frozen=True)
class SignatureEntry:
    """An investigator's signature of this casebook (of all of it, or of her data up to a
    milestone of the study: `signed_for`), and whether it still holds (the hash of that data
    now is the one signed) or was voided by a later change."""

    signed_for: str  # "Her whole casebook (all her periods)", "After period 3 (periods 1 to 3)"
    printed_name: str
    signed_utc: str
    signed_local: str  # on the signer's clock
    meaning: str
    content_hash: str
    holds: bool


@dataclass
class Casebook:
    study_code: str
    study_name: str
    site: str
    subject_id: str
    time_zone: str
    status: str
    enrolled: str
    demo_wording: bool
    periods: list[PeriodEntry] = field(default_factory=list)
    assessments: list[AssessmentEntry] = field(default_factory=list)
    changes: list[TrailEntry] = field(default_factory=list)
    trail: list[TrailEntry] = field(default_factory=list)
    signatures: list[SignatureEntry] = field(default_factory=list)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _clock(instant: datetime | None, zone: ZoneInfo) -> str:
    return wall_clock_label(instant, zone) if instant is not None else "—"


def _details(details: dict) -> str:
    """The event's details as one line, keys in order (the client's request id left out: it
    says nothing about her data)."""
    shown = {k: v for k, v in details.items() if k != "client_request_id"}
    return "; ".join(f"{key}: {shown[key]}" for key in sorted(shown))


def _response_entry(response: Response, superseded: bool, zone: ZoneInfo) -> ResponseEntry:
    scores = tuple(
        ScoreRow(
            s.scale,
            "not scored" if s.value is None else str(display_round(s.value, 1)),
            f"{s.items_answered} of {s.items_in_scale}",
        )
        for s in response.scores.all()
        if s.applicable
    )
    return ResponseEntry(
        instrument=response.instrument_key,
        submitted=_clock(response.submitted_at, zone),
        source=response.get_source_display(),
        superseded=superseded,
        reason=response.reason,
        read=response_read(response=response),
        scores=scores,
    )


def casebook_read(*, participant: Participant) -> Casebook:
    """Her casebook (seven queries: periods, the start closing her last period, assessments,
    responses, scores, audit events, signatures), with her signatures and whether each holds,
    hashed from the same rows (diary.selectors.casebook.casebook_content_of)."""
    zone = _zone(participant.time_zone)
    study = participant.study
    scores = Score.objects.filter(
        algorithm_version=ALGORITHM_VERSION, missing_rule=study.missing_item_rule
    ).order_by("scale", "pk")
    assessments = list(
        participant.assessments.order_by("period_number").prefetch_related(
            Prefetch(
                "responses",
                queryset=Response.objects.order_by("submitted_at", "pk")
                .select_related("submitted_by")
                .prefetch_related(Prefetch("scores", queryset=scores)),
            )
        )
    )
    superseded = {r.supersedes_id for a in assessments for r in a.responses.all()}
    events = list(
        AuditEvent.objects.filter(participant=participant, unblinded=False).order_by(
            "occurred_at", "pk"
        )
    )
    trail = [
        TrailEntry(
            when=_clock(e.occurred_at, zone),
            when_utc=wall_clock_label(e.occurred_at, ZoneInfo("UTC")),
            action=e.get_action_display(),
            actor=e.actor_label or "system",
            reason=e.reason,
            details=_details(e.details),
        )
        for e in events
    ]
    entries = [
        AssessmentEntry(
            period=a.period_number,
            status=a.get_status_display(),
            opens=_clock(a.opens_at, zone),
            closes=_clock(a.closes_at, zone),
            responses=tuple(
                _response_entry(r, r.pk in superseded, zone) for r in a.responses.all()
            ),
        )
        for a in assessments
    ]
    reads = [r.read for a in entries for r in a.responses]
    periods = list(participant.periods.order_by("number"))
    content = casebook_content_of(
        participant=participant,
        periods=periods,
        closing=ClosingPeriodStart.objects.filter(participant=participant).first(),
        assessments=assessments,
        responses=[r for a in assessments for r in a.responses.all()],
    )
    return Casebook(
        study_code=study.code,
        study_name=study.name,
        site=participant.site.code,
        subject_id=participant.subject_id,
        time_zone=participant.time_zone,
        status=participant.get_status_display(),
        enrolled=_clock(participant.enrolled_at, zone),
        demo_wording=any(read.demo for read in reads),
        periods=[
            PeriodEntry(p.number, p.started_on, p.ended_on, _clock(p.start_reported_at, zone))
            for p in periods
        ],
        assessments=entries,
        changes=[t for t, e in zip(trail, events, strict=True) if e.action in CHANGE_ACTIONS],
        trail=trail,
        signatures=_signatures(participant, content),
    )


def _signatures(participant: Participant, content: dict) -> list[SignatureEntry]:
    """Per signable part (her whole casebook, then each milestone), newest first."""
    return [
        SignatureEntry(
            signed_for=f"{state.label} ({state.scope})",
            printed_name=signature.printed_name,
            signed_utc=wall_clock_label(signature.signed_at, ZoneInfo("UTC")),
            signed_local=_clock(signature.signed_at, _zone(signature.signer_time_zone)),
            meaning=signature.meaning,
            content_hash=signature.content_hash,
            holds=state.holds(signature),
        )
        for state in signature_states(participant=participant, content=content)
        for signature in state.signatures
    ]
