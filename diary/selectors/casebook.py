"""Reads of a participant's casebook: exactly what an investigator signs, its hash, whether
her signature still holds, and the change requests of a site.

Selectors read and never write. Nothing here is read from the allocation: the casebook is her
blinded record (periods, questionnaires, every response and correction), so its hash is
blinded content too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from diary import access
from diary.models import (
    CasebookSignature,
    ChangeRequestStatus,
    ClosingPeriodStart,
    DataChangeRequest,
    Participant,
    Response,
)
from diary.rules.casebook import CASEBOOK_FORMAT, casebook_hash, late_by, late_label
from diary.rules.local_time import utc_iso


def _instant(value: datetime | None) -> str | None:
    return utc_iso(value) if value is not None else None


def casebook_content(*, participant: Participant) -> dict[str, Any]:
    """Her casebook as plain values, in a fixed shape (CASEBOOK_FORMAT): who she is in the
    study, every period she reported (and the start that closes the last one), every
    questionnaire's window and status, and every response with its answers, source, reason
    and what it supersedes. Scores are left out: they are derived from the answers, which are
    in. Four queries whatever her number of periods."""
    periods = [
        {
            "number": p.number,
            "started_on": p.started_on.isoformat(),
            "ended_on": p.ended_on.isoformat() if p.ended_on else None,
            "start_reported_at": _instant(p.start_reported_at),
            "end_reported_at": _instant(p.end_reported_at),
        }
        for p in participant.periods.order_by("number")
    ]
    closing = ClosingPeriodStart.objects.filter(participant=participant).first()
    assessments = [
        {
            "period_number": a.period_number,
            "status": a.status,
            "opens_at": _instant(a.opens_at),
            "closes_at": _instant(a.closes_at),
            "submitted_at": _instant(a.submitted_at),
            "excused_reason": a.excused_reason,
        }
        for a in participant.assessments.order_by("period_number")
    ]
    responses = [
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
        for r in Response.objects.filter(assessment__participant=participant)
        .select_related("assessment", "submitted_by")
        .order_by("pk")
    ]
    return {
        "format": CASEBOOK_FORMAT,
        "study": participant.study.code,
        "site": participant.site.code,
        "participant": participant.subject_id,
        "status": participant.status,
        "withdrawal_reason": participant.withdrawal_reason,
        "periods": periods,
        "closing_start": closing.started_on.isoformat() if closing else None,
        "assessments": assessments,
        "responses": responses,
    }


def casebook_hash_now(*, participant: Participant) -> str:
    """The SHA-256 of her casebook as it is now."""
    return casebook_hash(casebook_content(participant=participant))


@dataclass(frozen=True)
class SignatureState:
    """Where her casebook stands: never signed, signed and unchanged since, or changed since
    the latest signature (which is then void and asks for a new one)."""

    current_hash: str
    latest: CasebookSignature | None
    signatures: tuple[CasebookSignature, ...]

    @property
    def signed(self) -> bool:
        return self.latest is not None and self.latest.content_hash == self.current_hash

    @property
    def void(self) -> bool:
        """Her data changed after the latest signature: computed from the hashes, never a
        flag someone must remember to set."""
        return self.latest is not None and self.latest.content_hash != self.current_hash

    def holds(self, signature: CasebookSignature) -> bool:
        return signature.content_hash == self.current_hash


def signature_state(*, participant: Participant) -> SignatureState:
    signatures = tuple(
        CasebookSignature.objects.filter(participant=participant)
        .select_related("signed_by")
        .order_by("-signed_at", "-id")
    )
    return SignatureState(
        current_hash=casebook_hash_now(participant=participant),
        latest=signatures[0] if signatures else None,
        signatures=signatures,
    )


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
