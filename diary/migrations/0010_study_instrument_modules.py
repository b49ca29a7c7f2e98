"""Study.ehp30_modules becomes Study.instrument_modules (instrument key -> module keys), and
the unused Study.vas_question goes.

Values are carried over (ehp30_modules [...] -> {"ehp30": [...]}) and back (the "ehp30" entry;
no other instrument has optional modules today). Reversing restores vas_question with its old
default: nothing read it.

The study's row history (diary_studyevent) is append-only, so no column of it is dropped in
either direction: the snapshots taken before this migration keep the ehp30_modules and
vas_question they recorded (the columns stay in the table, nullable, unknown to the models),
and their instrument_modules is NULL (not recorded then), never a made-up empty mapping.
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

import diary.models.study

HELP = (
    'Optional modules collected of each instrument, e.g. {"ehp30": ["ehp30_work"]}; an '
    "instrument not named collects none."
)
INSTRUMENT_MODULES = models.JSONField(
    blank=True,
    default=dict,
    help_text=HELP,
    validators=[diary.models.study.validate_instrument_modules],
)

_LEGACY_HISTORY = """
    ALTER TABLE diary_studyevent ALTER COLUMN ehp30_modules DROP NOT NULL;
    ALTER TABLE diary_studyevent ALTER COLUMN vas_question DROP NOT NULL;
    COMMENT ON COLUMN diary_studyevent.ehp30_modules IS
        'Recorded until migration diary 0010; later snapshots use instrument_modules.';
    COMMENT ON COLUMN diary_studyevent.vas_question IS
        'Recorded until migration diary 0010 (the setting was never used).';
"""
# Nullable: snapshots taken before this migration did not record it. IF NOT EXISTS: reversing
# keeps the column (history), so migrating forward again finds it there.
_HISTORY_COLUMN = """
    ALTER TABLE diary_studyevent ADD COLUMN IF NOT EXISTS instrument_modules jsonb NULL;
    COMMENT ON COLUMN diary_studyevent.instrument_modules IS
        'Recorded from migration diary 0010; NULL in snapshots taken before it.';
"""


def modules_forward(apps, schema_editor):
    Study = apps.get_model("diary", "Study")
    for study in Study.objects.exclude(ehp30_modules=[]).only("pk", "ehp30_modules"):
        study.instrument_modules = {"ehp30": list(study.ehp30_modules)}
        study.save(update_fields=["instrument_modules"])


def modules_backward(apps, schema_editor):
    Study = apps.get_model("diary", "Study")
    for study in Study.objects.exclude(instrument_modules={}).only("pk", "instrument_modules"):
        study.ehp30_modules = list(study.instrument_modules.get("ehp30", []))
        study.save(update_fields=["ehp30_modules"])


class Migration(migrations.Migration):
    dependencies = [("diary", "0009_access_permissions")]

    operations = [
        # The row-history triggers name every column; rebuilt below for the new set. The
        # values are carried while they are off, so the carry is not a settings change.
        pgtrigger.migrations.RemoveTrigger(
            model_name="study",
            name="insert_insert",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="study",
            name="update_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="study",
            name="delete_delete",
        ),
        migrations.AddField(
            model_name="study", name="instrument_modules", field=INSTRUMENT_MODULES
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="studyevent", name="instrument_modules", field=INSTRUMENT_MODULES
                ),
            ],
            database_operations=[
                migrations.RunSQL(_HISTORY_COLUMN, reverse_sql=migrations.RunSQL.noop),
            ],
        ),
        migrations.RunPython(modules_forward, modules_backward),
        migrations.RemoveField(model_name="study", name="ehp30_modules"),
        migrations.RemoveField(model_name="study", name="vas_question"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="studyevent", name="ehp30_modules"),
                migrations.RemoveField(model_name="studyevent", name="vas_question"),
            ],
            database_operations=[
                migrations.RunSQL(_LEGACY_HISTORY, reverse_sql=migrations.RunSQL.noop),
            ],
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="study",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "diary_studyevent" ("backdating_limit_days", "code", "created_at", "default_language", "expected_cycle_days", "id", "instrument_modules", "instruments", "is_demo", "missing_item_rule", "name", "number_of_periods", "period_correction_grace_hours", "period_nudge_days", "periods_per_block", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quiet_hours_end", "quiet_hours_start", "reminder_before_close_hours", "reminders_enabled", "time_zone", "window_close_time", "window_fallback_open_days", "window_length_days") VALUES (NEW."backdating_limit_days", NEW."code", NEW."created_at", NEW."default_language", NEW."expected_cycle_days", NEW."id", NEW."instrument_modules", NEW."instruments", NEW."is_demo", NEW."missing_item_rule", NEW."name", NEW."number_of_periods", NEW."period_correction_grace_hours", NEW."period_nudge_days", NEW."periods_per_block", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."quiet_hours_end", NEW."quiet_hours_start", NEW."reminder_before_close_hours", NEW."reminders_enabled", NEW."time_zone", NEW."window_close_time", NEW."window_fallback_open_days", NEW."window_length_days"); RETURN NULL;',
                    hash="159828c62223a476a0a9bf0e365a034b838e867d",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_7538b",
                    table="diary_study",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="study",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "diary_studyevent" ("backdating_limit_days", "code", "created_at", "default_language", "expected_cycle_days", "id", "instrument_modules", "instruments", "is_demo", "missing_item_rule", "name", "number_of_periods", "period_correction_grace_hours", "period_nudge_days", "periods_per_block", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quiet_hours_end", "quiet_hours_start", "reminder_before_close_hours", "reminders_enabled", "time_zone", "window_close_time", "window_fallback_open_days", "window_length_days") VALUES (NEW."backdating_limit_days", NEW."code", NEW."created_at", NEW."default_language", NEW."expected_cycle_days", NEW."id", NEW."instrument_modules", NEW."instruments", NEW."is_demo", NEW."missing_item_rule", NEW."name", NEW."number_of_periods", NEW."period_correction_grace_hours", NEW."period_nudge_days", NEW."periods_per_block", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."quiet_hours_end", NEW."quiet_hours_start", NEW."reminder_before_close_hours", NEW."reminders_enabled", NEW."time_zone", NEW."window_close_time", NEW."window_fallback_open_days", NEW."window_length_days"); RETURN NULL;',
                    hash="95862a1934ac149f6f30ae0aa162df74fcfd3b81",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_a2d5e",
                    table="diary_study",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="study",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "diary_studyevent" ("backdating_limit_days", "code", "created_at", "default_language", "expected_cycle_days", "id", "instrument_modules", "instruments", "is_demo", "missing_item_rule", "name", "number_of_periods", "period_correction_grace_hours", "period_nudge_days", "periods_per_block", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "quiet_hours_end", "quiet_hours_start", "reminder_before_close_hours", "reminders_enabled", "time_zone", "window_close_time", "window_fallback_open_days", "window_length_days") VALUES (OLD."backdating_limit_days", OLD."code", OLD."created_at", OLD."default_language", OLD."expected_cycle_days", OLD."id", OLD."instrument_modules", OLD."instruments", OLD."is_demo", OLD."missing_item_rule", OLD."name", OLD."number_of_periods", OLD."period_correction_grace_hours", OLD."period_nudge_days", OLD."periods_per_block", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."quiet_hours_end", OLD."quiet_hours_start", OLD."reminder_before_close_hours", OLD."reminders_enabled", OLD."time_zone", OLD."window_close_time", OLD."window_fallback_open_days", OLD."window_length_days"); RETURN NULL;',
                    hash="891bbec2535ad5bd5ae2b08555fdf894bdee5514",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_6c655",
                    table="diary_study",
                    when="AFTER",
                ),
            ),
        ),
    ]
