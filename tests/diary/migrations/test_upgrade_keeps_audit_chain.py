"""Upgrading keeps the audit chain verifiable: a deployment of the last release (diary 0019)
holds chained rows; after `migrate` to this release, `audit_verify` still passes.

The chain hashes each row as PostgreSQL writes it out, so a migration that adds a column to a
chained table (the audit events, any row-history table) changes every earlier row's digest and
the nightly check would report the whole history as altered (README, "The audit chain's known
limit"). This test is the guard: a release that does so fails here."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from diary.selectors.audit_chain import audit_chain_verify
from tests.migrating import migrate_as_owner

pytestmark = pytest.mark.django_db(transaction=True)

LAST_RELEASE = ("diary", "0019_auditevent_actions")


@pytest.fixture
def last_release():
    """The schema of the last release, then back to the latest."""
    yield migrate_as_owner([LAST_RELEASE])
    migrate_as_owner(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_rows_written_before_the_upgrade_still_verify_after_it(last_release):
    Study = last_release.get_model("diary", "Study")
    Site = last_release.get_model("diary", "Site")
    AuditEvent = last_release.get_model("diary", "AuditEvent")
    study = Study.objects.create(code="UPGRADE", name="Before the upgrade")
    study.name = "Renamed before the upgrade"
    study.save()
    Site.objects.create(study=study, code="S01", name="North")
    AuditEvent.objects.create(
        occurred_at=timezone.now(), action="enrolled", study=study, unblinded=False
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM diary_auditchainlink")
        (chained_before,) = cursor.fetchone()
    assert chained_before >= 5  # genesis, two study events, the site's, the audit event

    migrate_as_owner(MigrationExecutor(connection).loader.graph.leaf_nodes())

    after = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY)
    assert after.passed, after.problems
    assert after.links >= chained_before
