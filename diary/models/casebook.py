"""The site's side of a participant's casebook: her requests to change an answer, and the
investigator's electronic signatures of the casebook.

A change request is decided once (accepted through a correction, or declined with a reason)
through diary.services.change_requests only, with row history, and is never deleted. A
signature is append-only, like the audit trail: PostgreSQL rejects UPDATE and DELETE, and
whether it still holds is computed (the casebook's hash now against the one signed,
diary.selectors.casebook), never stored.
"""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from diary.models.clinical import Response
from diary.models.history import tracked
from diary.models.participant import Participant
from diary.models.study import Site, Study, validate_time_zone


class ChangeRequestStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the site"
    ACCEPTED = "accepted", "Accepted: the answer was corrected"
    DECLINED = "declined", "Declined"


@tracked()
class DataChangeRequest(models.Model):
    """A participant's "this answer is wrong", about one answer of one of her responses, sent
    to her site; a coordinator or investigator there accepts it (entering a correction, which
    supersedes the response) or declines it with a reason."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="change_requests")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="change_requests"
    )
    # The response she saw when she asked (a later correction may have superseded it since).
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="+")
    item_key = models.CharField(max_length=40)
    value_seen = models.JSONField(null=True, blank=True, help_text="Her answer when she asked.")
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=ChangeRequestStatus.choices, default=ChangeRequestStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    correction = models.OneToOneField(
        Response,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_request",
        help_text="The correction that accepted it.",
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("decide_change_request", "Can accept or decline participants' change requests"),
        ]
        indexes = [
            # The site's list of requests, pending first, newest first.
            models.Index(fields=["site", "status", "requested_at"], name="change_request_site"),
        ]
        constraints = [
            models.CheckConstraint(name="change_request_has_reason", condition=~Q(reason="")),
            models.CheckConstraint(
                name="change_request_decision_complete",
                condition=(
                    Q(
                        status="pending",
                        decided_by__isnull=True,
                        decided_at__isnull=True,
                        decision_reason="",
                        correction__isnull=True,
                    )
                    | Q(
                        status="accepted",
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        correction__isnull=False,
                    )
                    | (
                        Q(
                            status="declined",
                            decided_by__isnull=False,
                            decided_at__isnull=False,
                            correction__isnull=True,
                        )
                        & ~Q(decision_reason="")
                    )
                ),
            ),
            # One open request per answer: asking twice adds nothing for the site to decide.
            models.UniqueConstraint(
                fields=["response", "item_key"],
                condition=Q(status="pending"),
                name="change_request_one_pending_per_answer",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="change_request_never_deleted", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"change request {self.pk} of {self.participant} ({self.status})"


SIGNATURE_MEANING = "I confirm that these data are accurate and complete"


# milestone and milestone_label came after the row history's digests were first chained (the
# CASEBOOK_SIGNED audit event carries them).
@tracked(untracked=("milestone", "milestone_label"))
class CasebookSignature(models.Model):
    """The investigator's electronic signature of a participant's whole casebook (21 CFR 11.50:
    printed name, date and time, meaning; 11.70: bound to a SHA-256 of exactly what was
    signed, diary.selectors.casebook.casebook_content). Append-only: PostgreSQL rejects UPDATE
    and DELETE; a later change of her data voids it by its hash, not by a flag."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="signatures"
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField(help_text="UTC, the server's clock.")
    signer_time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="The signer's own time zone, in which the record also shows the time.",
    )
    meaning = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of what was signed.")
    content_format = models.CharField(
        max_length=20, help_text="Version of the canonical casebook serialisation hashed."
    )
    milestone = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The study's milestone signed: her data up to this period (none: her whole "
        "casebook).",
    )
    milestone_label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        permissions = [("sign_casebook", "Can sign participants' casebooks (investigator)")]
        indexes = [
            # The latest signature of each participant on a page.
            models.Index(fields=["participant", "signed_at"], name="signature_latest"),
        ]
        constraints = [
            models.CheckConstraint(
                name="signature_hash_is_sha256", condition=Q(content_hash__regex=r"^[0-9a-f]{64}$")
            ),
            models.CheckConstraint(
                name="signature_has_printed_name", condition=~Q(printed_name="")
            ),
            models.CheckConstraint(name="signature_has_meaning", condition=~Q(meaning="")),
        ]
        triggers = [
            pgtrigger.Protect(
                name="signature_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} signed by {self.printed_name} ({self.content_hash[:12]})"
