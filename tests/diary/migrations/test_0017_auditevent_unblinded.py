"""Migration diary 0017: past audit events are classified as the column is added, fail closed,
without an UPDATE on the append-only table (its guards stay in place)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.migrating import migrate_as_owner

pytestmark = pytest.mark.django_db(transaction=True)

MIGRATION = ("diary", "0017_auditevent_unblinded")


@pytest.fixture
def before():
    """The schema just before the migration (its own diary parent), then back to the latest."""
    loader = MigrationExecutor(connection).loader
    parents = [d for d in loader.get_migration(*MIGRATION).dependencies if d[0] == "diary"]
    yield migrate_as_owner(parents)
    migrate_as_owner(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_past_events_are_classified_fail_closed(before):
    AuditEvent = before.get_model("diary", "AuditEvent")
    Study = before.get_model("diary", "Study")
    study = Study.objects.create(code="PAST", name="Past")
    files = [{"name": "PAST_wide_unblinded.csv", "rows": 3, "bytes": 2048, "sha256": "a" * 64}]
    made = {
        "unblinded export": {
            "action": "exported",
            "study": study,
            "details": {"blinded": False, "files": files},
        },
        "blinded export": {"action": "exported", "study": study, "details": {"blinded": True}},
        "audit-trail download": {
            "action": "exported",
            "details": {"kind": "audit_trail", "rows": 9},
        },
        "summary": {"action": "summary_viewed", "study": study},
        "list": {"action": "allocation_generated", "study": study},
        "login": {"action": "login"},
        "enrolment": {"action": "enrolled", "study": study},
    }
    pks = {
        name: AuditEvent.objects.create(occurred_at=timezone.now(), **fields).pk
        for name, fields in made.items()
    }
    after = migrate_as_owner([MIGRATION])
    AuditEvent = after.get_model("diary", "AuditEvent")
    unblinded = {name: AuditEvent.objects.get(pk=pk).unblinded for name, pk in pks.items()}
    assert unblinded == {
        "unblinded export": True,
        "blinded export": False,
        "audit-trail download": True,  # its count may have included unblinded events
        "summary": True,
        "list": True,
        "login": False,
        "enrolment": False,
    }
    # The table is still append-only for the application.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'diary_auditevent'::regclass "
            "AND tgname = 'epro_append_only' AND tgenabled <> 'D'"
        )
        assert cursor.fetchone()[0] == 1
