"""The tables of the tamper-evident audit chain (diary/rules/audit_chain.py says how a link is
made and checked; diary/enforcement.py installs the trigger that writes them)."""

from __future__ import annotations

import pgtrigger
from django.db import models
from django.utils import timezone


class AuditChainLink(models.Model):
    """One link. Append-only; written only by the chain trigger (the application may read)."""

    seq = models.BigIntegerField(primary_key=True)
    # The previous link's hash; '' for the genesis. Unique: no two links follow the same one.
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64)
    source_table = models.CharField(max_length=63)
    source_id = models.BigIntegerField()
    # sha256 of to_jsonb(row)::text when the row was written.
    row_digest = models.CharField(max_length=64)
    # For a content-checked table's history: the tracked row and its content digest then
    # ('deleted' for a delete event).
    object_table = models.CharField(max_length=63, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    content_digest = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        triggers = [
            pgtrigger.Protect(
                name="chain_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]
        indexes = [
            # audit_verify: the latest recorded content of each response and score.
            models.Index(
                fields=["object_table", "object_id", "seq"],
                name="chain_object_seq",
                condition=~models.Q(object_table=""),
            ),
        ]

    def __str__(self) -> str:
        return f"link {self.seq}: {self.source_table}#{self.source_id}"


class AuditChainCheck(models.Model):
    """One run of audit_verify (the nightly beat job or the command). Append-only."""

    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    passed = models.BooleanField()
    links = models.BigIntegerField()
    # The study the content checks were limited to ('' for all).
    study_code = models.CharField(max_length=32, blank=True)
    first_problem = models.TextField(blank=True)
    problems = models.PositiveIntegerField(default=0)
    seconds = models.FloatField()

    class Meta:
        ordering = ["-checked_at"]
        triggers = [
            pgtrigger.Protect(
                name="chain_check_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} {'passed' if self.passed else 'FAILED'}"
