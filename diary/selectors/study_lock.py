"""Reads for the study lock page: each study's level, its pending change and its history."""

from __future__ import annotations

from dataclasses import dataclass, field

from diary.models import LockChangeStatus, Study, StudyLockChange


@dataclass
class StudyLockState:
    study: Study
    pending: StudyLockChange | None = None
    history: list[StudyLockChange] = field(default_factory=list)


def study_lock_states(*, study_ids: list[int]) -> list[StudyLockState]:
    """The studies' lock states, in code order: two queries whatever the number of studies
    and changes."""
    states = {
        study.pk: StudyLockState(study=study)
        for study in Study.objects.filter(pk__in=study_ids).order_by("code")
    }
    changes = StudyLockChange.objects.filter(study__in=study_ids).select_related(
        "proposed_by", "decided_by"
    )
    for change in changes:
        state = states[change.study_id]
        if change.status == LockChangeStatus.PENDING:
            state.pending = change
        else:
            state.history.append(change)
    return list(states.values())
