"""Files of clinical data loaded by `manage.py import_study_data` (paper forms, a study migrated
from another system): what was loaded, from which file, by whom and when."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models


class ImportFormat(models.TextChoices):
    ODM = "odm", "CDISC ODM 1.3.2 clinical data"
    WIDE_CSV = "wide_csv", "The project's own wide CSV"


class ImportBatch(models.Model):
    """One imported file. Append-only: a file is imported once per study (its SHA-256), so
    importing the same file again finds this row and changes nothing.

    The periods and responses it created carry its id: a response in metadata["import_batch"]
    (source "import"), a period in the details of its IMPORTED audit event. Not a column on
    those tables: they are chained by the audit chain, whose digests are of each row's text
    form, and a new column would change every earlier row's (README, "Audit chain").
    """

    study = models.ForeignKey("diary.Study", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=12, choices=ImportFormat.choices)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(help_text="The real time of the import (server, UTC).")
    periods_created = models.PositiveIntegerField()
    responses_created = models.PositiveIntegerField()

    class Meta:
        ordering = ["-imported_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["study", "file_sha256"], name="import_batch_file_once_per_study"
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="import_batch_append_only", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.file_sha256[:12]})"
