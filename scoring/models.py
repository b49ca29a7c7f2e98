"""Scores (derived from responses, rebuildable) and stored licensed instrument wording."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from diary.models.history import tracked
from scoring.engine import MISSING_RULES

# The same answers under the same algorithm version and missing-item rule always give the same
# result, so a stored result changes only when the study's rule changes (the sweep rescores
# then); any other change in place is refused. Which response, scale, algorithm and instrument
# a row is for never changes: another algorithm version is a new row.
_SCORE_UPDATE = """
    IF NEW.response_id IS DISTINCT FROM OLD.response_id
        OR NEW.scale IS DISTINCT FROM OLD.scale
        OR NEW.algorithm_version IS DISTINCT FROM OLD.algorithm_version
        OR NEW.instrument_key IS DISTINCT FROM OLD.instrument_key
        OR NEW.instrument_version IS DISTINCT FROM OLD.instrument_version
        OR NEW.instrument_hash IS DISTINCT FROM OLD.instrument_hash THEN
        RAISE EXCEPTION 'score %: its response, scale, algorithm and instrument are fixed', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.missing_rule = OLD.missing_rule
        AND (NEW.value, NEW.items_answered, NEW.items_in_scale, NEW.applicable)
            IS DISTINCT FROM (OLD.value, OLD.items_answered, OLD.items_in_scale, OLD.applicable)
    THEN
        RAISE EXCEPTION 'score %: changed without a change of missing-item rule; a new result '
            'needs a new ALGORITHM_VERSION', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
"""


@tracked(unrecorded=("scored_at",))
class Score(models.Model):
    """One scale of one response under one algorithm version.

    Derived data: always rebuildable from Response.answers with the pure engine. Rows are
    upserted on (response, scale, algorithm version): a rescore under the same version leaves
    the result as it was (the database refuses anything else, see _SCORE_UPDATE) unless the
    study changed its missing-item rule, which row history records. A new algorithm version
    adds rows next to the old ones for comparison. Rows are never deleted. `value` is null when
    the scale could not be scored (too many missing items, or a module that does not apply):
    null is never 0.
    """

    response = models.ForeignKey("diary.Response", on_delete=models.PROTECT, related_name="scores")
    scale = models.CharField(max_length=40)
    algorithm_version = models.CharField(max_length=16)
    value = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    items_answered = models.PositiveSmallIntegerField()
    items_in_scale = models.PositiveSmallIntegerField()
    # False only for a module whose gate says it does not apply: not missing data.
    applicable = models.BooleanField(default=True)
    # The study's missing-item rule that produced this row (the spec wants it per response).
    missing_rule = models.CharField(max_length=20)
    # Copied from the response so a score row reads on its own in exports and audits.
    instrument_key = models.CharField(max_length=40)
    instrument_version = models.CharField(max_length=20)
    instrument_hash = models.CharField(max_length=64)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["response", "scale"]
        constraints = [
            # Its index (response, scale, algorithm_version) also serves "the scores of these
            # responses" (exports, summaries) and the sweep's NOT EXISTS on (response,
            # algorithm_version): both use its leading column(s).
            models.UniqueConstraint(
                fields=["response", "scale", "algorithm_version"],
                name="score_unique_per_response_scale_algorithm",
            ),
            models.CheckConstraint(
                name="score_answered_within_scale",
                condition=Q(items_answered__lte=models.F("items_in_scale")),
            ),
            models.CheckConstraint(
                name="score_not_applicable_has_no_value",
                condition=Q(applicable=True) | Q(value__isnull=True),
            ),
            models.CheckConstraint(
                name="score_missing_rule_known", condition=Q(missing_rule__in=MISSING_RULES)
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="score_never_deleted", operation=pgtrigger.Delete),
            pgtrigger.Trigger(
                name="score_result_fixed",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func=_SCORE_UPDATE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} {self.scale}={self.value} alg {self.algorithm_version}"


class InstrumentVersion(models.Model):
    """Licensed wording or an official translation applied to a shipped structure.

    Stored by `manage.py load_instrument_text`. A released version is frozen: PostgreSQL rejects
    UPDATE and DELETE. The Instrument is rebuilt from the structure file and `wording`, and must
    hash to `content_hash` (checked by scoring.selectors.instrument_for).
    """

    key = models.CharField(max_length=40)
    version = models.CharField(max_length=20)
    language = models.CharField(max_length=16)
    structure_version = models.CharField(max_length=20)
    structure_hash = models.CharField(max_length=64)
    wording = models.JSONField(help_text="The wording file as loaded (TOML as JSON).")
    content_hash = models.CharField(max_length=64)
    source_name = models.CharField(max_length=255, help_text="File name it was loaded from.")
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["key", "language", "-loaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "version", "language"], name="instrument_version_unique"
            ),
        ]
        indexes = [
            # instrument_for(key, language): the newest version loaded for a key and language.
            models.Index(fields=["key", "language", "loaded_at"], name="instrument_version_lookup"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="instrument_version_frozen", operation=pgtrigger.Update | pgtrigger.Delete
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.version} ({self.language})"
