"""Study configuration changes: saved with an audit event naming each changed setting."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from diary.models import AuditAction, Study
from diary.services.audit import audit_record


def _plain(value: Any) -> Any:
    return (
        value
        if isinstance(value, int | float | bool | str | list | dict | type(None))
        else str(value)
    )


@transaction.atomic
def study_settings_save(
    *, study: Study, changed: list[str], actor: AbstractBaseUser, reason: str = ""
) -> Study:
    """Save a study created or edited in the admin; audit old and new value of each setting.

    `changed` names the fields the form changed; the old values are read from the database
    (row history keeps them too, this event says who and why in one place).
    """
    before = Study.objects.filter(pk=study.pk).values(*changed).first() if study.pk else None
    study.full_clean()
    study.save()
    changes = {
        field: [_plain(before.get(field)) if before else None, _plain(getattr(study, field))]
        for field in changed
    }
    # Forms may flag a field whose value did not change (array fields do): record real changes.
    changes = {field: old_new for field, old_new in changes.items() if old_new[0] != old_new[1]}
    audit_record(
        action=AuditAction.STUDY_CHANGED,
        actor=actor,
        study=study,
        obj=study,
        reason=reason,
        details={"created": before is None, "changes": changes},
    )
    return study
