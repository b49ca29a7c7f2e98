"""Answers saved as the participant goes, before she submits."""

from __future__ import annotations

from django.db import models

from diary.models.clinical import Assessment


class ResponseDraft(models.Model):
    """The work-in-progress answers of one assessment: nothing here counts as submitted.

    `answers` maps instrument key -> {item variable -> code or null}; `metadata` maps instrument
    key -> capture details (e.g. for the VAS: when the participant marked the line, viewport
    width, device pixel ratio). A submission copies them into Response rows and stamps
    `submitted_at`; the draft stays as a record of what was in progress, and a refused submission
    (closed window) leaves it untouched.
    """

    assessment = models.OneToOneField(Assessment, on_delete=models.PROTECT, related_name="draft")
    answers = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"draft of {self.assessment}"

    def answers_for(self, instrument_key: str) -> dict:
        return dict(self.answers.get(instrument_key, {}))
