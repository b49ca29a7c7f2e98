"""The access policy's blinding of audit events: every event type is classified, the writer
stamps the classification at insert, and the database refuses an event that claims to be
blinded when it cannot be (issue 13, item 1: a future event type cannot repeat the leak)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from diary import access
from diary.models import UNBLINDED_ACTIONS, AuditAction, AuditEvent
from diary.services.audit import audit_event, audit_record

pytestmark = pytest.mark.django_db


def test_every_audit_action_is_classified():
    assert set(access.AUDIT_ACTION_BLINDING) == set(AuditAction.values)


def test_the_always_unblinded_actions_are_those_the_database_holds_unblinded():
    always = {
        action
        for action, blinding in access.AUDIT_ACTION_BLINDING.items()
        if blinding == access.AUDIT_UNBLINDED
    }
    assert always == set(UNBLINDED_ACTIONS)


def test_an_export_must_declare_what_it_was_computed_from():
    with pytest.raises(ValueError, match="must declare"):
        audit_event(action=AuditAction.EXPORTED, details={"blinded": True})
    assert audit_event(action=AuditAction.EXPORTED, unblinded=True).unblinded is True
    assert audit_event(action=AuditAction.EXPORTED, unblinded=False).unblinded is False


def test_an_allocation_event_cannot_be_declared_blinded():
    with pytest.raises(ValueError, match="always unblinded"):
        audit_event(action=AuditAction.ALLOCATION_GENERATED, unblinded=False)
    assert audit_event(action=AuditAction.UNBLINDED).unblinded is True


def test_an_unknown_event_type_fails_closed():
    assert access.audit_event_unblinded("something_new") is True


def test_a_blinded_event_may_be_declared_unblinded():
    assert audit_event(action=AuditAction.STUDY_CHANGED).unblinded is False
    assert audit_event(action=AuditAction.STUDY_CHANGED, unblinded=True).unblinded is True


def insert(**fields) -> None:
    with transaction.atomic():
        AuditEvent.objects.create(**fields)


def test_the_database_requires_a_classification(world):
    with pytest.raises(IntegrityError, match="unblinded"):
        insert(action=AuditAction.LOGIN)


def test_the_database_refuses_a_blinded_allocation_event(world):
    with pytest.raises(IntegrityError, match="audit_unblinded_actions"):
        insert(action=AuditAction.SUMMARY_VIEWED, study=world.study, unblinded=False)


def test_the_database_refuses_a_blinded_export_that_does_not_say_it_was(world):
    for details in ({}, {"blinded": False}, {"files": [{"sha256": "0" * 64}]}):
        with pytest.raises(IntegrityError, match="audit_export_blinded_declared"):
            insert(action=AuditAction.EXPORTED, study=world.study, details=details, unblinded=False)
    insert(
        action=AuditAction.EXPORTED, study=world.study, details={"blinded": True}, unblinded=False
    )
    insert(action=AuditAction.EXPORTED, study=world.study, details={}, unblinded=True)


def test_readers_filter_on_the_column_not_on_the_action(world):
    """A blinded event type recorded unblinded (as an export of unblinded content is) stays
    away from blinded readers of the trail."""
    audit_record(action=AuditAction.STUDY_CHANGED, study=world.study, unblinded=True)
    audit_record(action=AuditAction.STUDY_CHANGED, study=world.study, reason="visible")
    for user in (world.monitor, world.coordinator1, world.admin):
        changes = access.audit_events_where(user).filter(action=AuditAction.STUDY_CHANGED)
        assert list(changes.values_list("reason", flat=True)) == ["visible"]
    changes = access.audit_events_where(world.statistician).filter(action="study_changed")
    assert changes.count() == 2
