"""The concealed allocation list: uploaded by, or generated for, the unblinded statistician.

Readable by unblinded roles only. Activation takes the next free slot of the participant's
stratum; the slot then names her sequence.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from diary.models.history import tracked
from diary.models.participant import Participant
from diary.models.study import Sequence, Study


class AllocationListMethod(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded CSV"
    GENERATED = "generated", "Generated with permuted blocks"


@tracked()
class AllocationList(models.Model):
    """One per study: the slots are consumed in order, so a second list would be ambiguous."""

    study = models.OneToOneField(Study, on_delete=models.PROTECT, related_name="allocation_list")
    method = models.CharField(max_length=12, choices=AllocationListMethod.choices)
    stratified_by_site = models.BooleanField(default=False)
    # Generation parameters, recorded so the list can be reproduced and checked.
    seed = models.BigIntegerField(null=True, blank=True)
    block_sizes = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    strata = ArrayField(models.CharField(max_length=16), default=list, blank=True)
    source_sha256 = models.CharField("SHA-256 of the uploaded file", max_length=64, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="allocation_list_generated_has_seed",
                condition=~Q(method="generated") | Q(seed__isnull=False),
            ),
            models.CheckConstraint(
                name="allocation_list_uploaded_has_hash",
                condition=~Q(method="uploaded") | ~Q(source_sha256=""),
            ),
        ]

    def __str__(self) -> str:
        return f"allocation list of {self.study}"


@tracked()
class AllocationSlot(models.Model):
    allocation_list = models.ForeignKey(
        AllocationList, on_delete=models.PROTECT, related_name="slots"
    )
    # The site code when the list is stratified by site, else blank.
    stratum = models.CharField(max_length=16, blank=True)
    slot_number = models.PositiveIntegerField()
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="+")
    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocation_slot",
    )
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["allocation_list", "stratum", "slot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocation_list", "stratum", "slot_number"], name="slot_unique_in_list"
            ),
            models.CheckConstraint(name="slot_number_positive", condition=Q(slot_number__gte=1)),
            models.CheckConstraint(
                name="slot_used_has_participant_and_time",
                condition=Q(participant__isnull=True, used_at__isnull=True)
                | Q(participant__isnull=False, used_at__isnull=False),
            ),
        ]
        indexes = [
            # Randomization: the lowest free slot of a stratum.
            models.Index(
                fields=["allocation_list", "stratum", "slot_number"],
                condition=Q(participant__isnull=True),
                name="slot_free_by_stratum",
            ),
        ]

    def __str__(self) -> str:
        return f"slot {self.stratum or '-'}/{self.slot_number}"
