"""Reads of a participant's casebook: exactly what an investigator signs, its hash, whether
her signature still holds, and the change requests of a site.

Selectors read and never write. Nothing here is read from the allocation: the casebook is her
blinded record (periods, questionnaires, every response and correction), so its hash is
blinded content too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from diary import access
from diary.models import (
    Assessment,
    CasebookSignature,
    ChangeRequestStatus,
    ClosingPeriodStart,
    DataChangeRequest,
    MenstrualPeriod,
    Participant,
    Response,
)
from diary.rules.casebook import (
    CASEBOOK_FORMAT,
    casebook_hash,
    late_by,
    late_label,
    milestone_content,
    milestone_reached,
)
from diary.rules.local_time import utc_iso


def _instant(value: datetime | None) -> str | None:
    return utc_iso(value) if value is not None else None


def casebook_content(*, participant: Participant) -> dict[str, Any]:
    """Her casebook as plain values, in a fixed shape (CASEBOOK_FORMAT): who she is in the
    study, every period she reported (and the start that closes the last one), every
    questionnaire's window and status, and every response with its answers, source, reason
    and what it supersedes. Scores are left out: they are derived from the answers, which are
    in. Four queries whatever her number of periods."""
    return casebook_content_of(
        participant=participant,
        periods=participant.periods.order_by("number"),
        closing=ClosingPeriodStart.objects.filter(participant=participant).first(),
        assessments=participant.assessments.order_by("period_number"),
        responses=Response.objects.filter(assessment__participant=participant).select_related(
            "assessment", "submitted_by"
        ),
    )


def casebook_content_of(
    *,
    participant: Participant,
    periods: Iterable[MenstrualPeriod],
    closing: ClosingPeriodStart | None,
    assessments: Iterable[Assessment],
    responses: Iterable[Response],
) -> dict[str, Any]:
    """casebook_content from rows the caller has read already (the site copy reads them for
    the PDF: reading them twice was a third of its reading time, bench/bench_site_copy.py).
    Responses need their assessment and submitted_by loaded; any order."""
    return {
        "format": CASEBOOK_FORMAT,
        "study": participant.study.code,
        "site": participant.site.code,
        "participant": participant.subject_id,
        "status": participant.status,
        "withdrawal_reason": participant.withdrawal_reason,
        "periods": [
            {
                "number": p.number,
                "started_on": p.started_on.isoformat(),
                "ended_on": p.ended_on.isoformat() if p.ended_on else None,
                "start_reported_at": _instant(p.start_reported_at),
                "end_reported_at": _instant(p.end_reported_at),
            }
            for p in sorted(periods, key=lambda p: p.number)
        ],
        "closing_start": closing.started_on.isoformat() if closing else None,
        "assessments": [
            {
                "period_number": a.period_number,
                "status": a.status,
                "opens_at": _instant(a.opens_at),
                "closes_at": _instant(a.closes_at),
                "submitted_at": _instant(a.submitted_at),
                "excused_reason": a.excused_reason,
            }
            for a in sorted(assessments, key=lambda a: a.period_number)
        ],
        "responses": [
            {
                "id": r.pk,
                "period_number": r.assessment.period_number,
                "instrument": [r.instrument_key, r.instrument_version, r.instrument_hash],
                "answers": r.answers,
                "submitted_at": _instant(r.submitted_at),
                "submitted_by": r.submitted_by.get_username(),
                "source": r.source,
                "reason": r.reason,
                "supersedes": r.supersedes_id,
            }
            for r in sorted(responses, key=lambda r: r.pk)
        ],
    }


def casebook_hash_now(*, participant: Participant) -> str:
    """The SHA-256 of her casebook as it is now."""
    return casebook_hash(casebook_content(participant=participant))


@dataclass(frozen=True)
class SignatureState:
    """Where one signable part of her casebook stands (her whole casebook, `milestone` None;
    or her data up to a milestone of the study): never signed, signed and unchanged since, or
    changed since the latest signature (which is then void and asks for a new one)."""

    current_hash: str
    latest: CasebookSignature | None
    signatures: tuple[CasebookSignature, ...]
    milestone: int | None = None
    label: str = "Her whole casebook"
    reached: bool = True  # a milestone: every period up to it submitted, missed or excused
    defined: bool = True  # False: signed at a milestone the study has since removed

    @property
    def signed(self) -> bool:
        return self.latest is not None and self.latest.content_hash == self.current_hash

    @property
    def void(self) -> bool:
        """Her data changed after the latest signature: computed from the hashes, never a
        flag someone must remember to set."""
        return self.latest is not None and self.latest.content_hash != self.current_hash

    @property
    def scope(self) -> str:
        """What a signature here covers, in words."""
        if self.milestone is None:
            return "all her periods"
        return "period 1" if self.milestone == 1 else f"periods 1 to {self.milestone}"

    def holds(self, signature: CasebookSignature) -> bool:
        return signature.content_hash == self.current_hash


def signature_states(
    *, participant: Participant, content: dict[str, Any] | None = None
) -> list[SignatureState]:
    """Her whole casebook's state, then one per milestone of her study in period order, from
    one read of her casebook (`content`, casebook_content, when the caller has it) and one of
    her signatures."""
    content = content if content is not None else casebook_content(participant=participant)
    signatures = tuple(
        CasebookSignature.objects.filter(participant=participant)
        .select_related("signed_by")
        .order_by("-signed_at", "-id")
    )

    def state(milestone: int | None, hashed: dict[str, Any], **extra: Any) -> SignatureState:
        mine = tuple(s for s in signatures if s.milestone == milestone)
        return SignatureState(
            current_hash=casebook_hash(hashed),
            latest=mine[0] if mine else None,
            signatures=mine,
            milestone=milestone,
            **extra,
        )

    defined = {m.after_period: m.label for m in participant.study.milestones}
    # A milestone the study no longer defines keeps showing the signatures made at it.
    dropped = {
        s.milestone: s.milestone_label
        for s in reversed(signatures)
        if s.milestone is not None and s.milestone not in defined
    }
    states = [state(None, content)]
    for period in sorted({*defined, *dropped}):
        states.append(
            state(
                period,
                milestone_content(content, after_period=period),
                label=defined.get(period) or dropped[period],
                reached=milestone_reached(content, after_period=period),
                defined=period in defined,
            )
        )
    return states


def signature_state(*, participant: Participant, milestone: int | None = None) -> SignatureState:
    """The state of her whole casebook (`milestone` None) or of one milestone of her study.
    Raises LookupError for a milestone her study does not define (now)."""
    for state in signature_states(participant=participant):
        if state.milestone == milestone and state.defined:
            return state
    raise LookupError(f"The study defines no milestone after period {milestone}.")


# --- Change requests ------------------------------------------------------------------------
def change_requests_visible_to(user: Any) -> QuerySet[DataChangeRequest]:
    """The change requests of the participants whose record she may read, pending first."""
    return (
        DataChangeRequest.objects.filter(
            participant__in=access.participants_visible_to(user).values("pk")
        )
        .select_related(
            "participant",
            "site",
            "response__assessment",
            "correction",
            "decided_by",
        )
        .order_by("status", "-requested_at", "-id")
    )


def change_requests_of(*, participant: Participant) -> list[DataChangeRequest]:
    """Hers, newest first, each with `late` (how long after the window its correction was
    made, '' when not late or not accepted)."""
    requests = list(
        DataChangeRequest.objects.filter(participant=participant)
        .select_related("response__assessment", "correction")
        .order_by("-requested_at", "-id")
    )
    for request in requests:
        request.late = change_late_label(request)
    return requests


def change_late_label(request: DataChangeRequest) -> str:
    """How long after her questionnaire's window the accepted change was made ('' if not)."""
    if request.status != ChangeRequestStatus.ACCEPTED or request.correction is None:
        return ""
    return late_label(
        late_by(
            closes_at=request.response.assessment.closes_at,
            changed_at=request.correction.submitted_at,
        )
    )


def current_response(*, response: Response) -> Response:
    """The response that now stands for `response`: the last correction in its chain (itself
    when never corrected)."""
    current = response
    while True:
        following = Response.objects.filter(supersedes=current).first()
        if following is None:
            return current
        current = following
