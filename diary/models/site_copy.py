"""The investigator's own copy of her site: one generation of its casebooks, CSV files and
manifest, with its progress (diary.services.site_copy)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SiteCopyStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being built"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class SiteCopyTrigger(models.TextChoices):
    ON_DEMAND = "on_demand", "On demand"
    SCHEDULED = "scheduled", "Scheduled"
    AT_LOCK = "at_lock", "At the hard lock"


class SiteCopy(models.Model):
    study = models.ForeignKey("diary.Study", on_delete=models.PROTECT, related_name="site_copies")
    site = models.ForeignKey("diary.Site", on_delete=models.PROTECT, related_name="site_copies")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a scheduled copy.",
    )
    trigger = models.CharField(max_length=10, choices=SiteCopyTrigger.choices)
    status = models.CharField(
        max_length=8, choices=SiteCopyStatus.choices, default=SiteCopyStatus.QUEUED
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress: casebooks written of the site's participants (the CSV files and the manifest
    # follow the last one).
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Where its files are, under settings.SITE_COPY_DIR, and their manifest.
    folder = models.CharField(max_length=200, blank=True)
    manifest = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            # The page lists a site's copies, newest first.
            models.Index(fields=["site", "requested_at"], name="site_copy_site_time"),
        ]

    def __str__(self) -> str:
        return f"copy of {self.site} ({self.get_status_display()})"
