"""Everything blinded staff never see: treatments, sequences and their blocks, each
participant's allocation, and the concealed allocation list with its slots.

Readable by unblinded roles only. The list is uploaded by, or generated for, the unblinded
statistician; activation takes the next free slot of the participant's stratum, and the slot
then names her sequence.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from diary.models.history import tracked
from diary.models.participant import Participant
from diary.models.study import Study


@tracked()
class Treatment(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="treatments")
    code = models.CharField(max_length=8)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "code"], name="treatment_code_unique_in_study"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


@tracked()
class Sequence(models.Model):
    """A crossover sequence such as AP: the treatment given in each block, in order."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sequences")
    code = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="sequence_code_unique_in_study"),
        ]

    def __str__(self) -> str:
        return self.code


@tracked()
class SequenceBlock(models.Model):
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="blocks")
    block = models.PositiveSmallIntegerField()
    treatment = models.ForeignKey(Treatment, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["sequence", "block"]
        constraints = [
            # A sequence names exactly one treatment per block.
            models.UniqueConstraint(fields=["sequence", "block"], name="sequence_block_unique"),
            models.CheckConstraint(name="sequence_block_positive", condition=Q(block__gte=1)),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} block {self.block}: {self.treatment.code}"


class AllocationSource(models.TextChoices):
    UPLOADED_LIST = "uploaded_list", "Uploaded concealed list"
    RANDOMIZER = "randomizer", "Permuted-block randomizer"
    DEMO = "demo", "Demo data"


@tracked()
class Allocation(models.Model):
    """Which sequence a participant follows. Readable by unblinded roles only."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    sequence = models.ForeignKey(Sequence, on_delete=models.PROTECT, related_name="allocations")
    source = models.CharField(max_length=20, choices=AllocationSource.choices)
    slot_number = models.PositiveIntegerField(null=True, blank=True)
    allocated_at = models.DateTimeField()
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"allocation of {self.participant}"


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
