"""The round trip on the embedded server: back up, restore into an empty database, and the
application runs on it as before (diary/services/restore.py). Refusals of damaged backups,
backups of newer code and non-empty targets, with nothing written.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from psycopg import errors, sql

from diary.enforcement import append_only_tables
from diary.models import AuditAction, AuditChainLink, AuditEvent, Participant, Response
from diary.services.audit_chain import audit_chain_check
from diary.services.backups import DUMP, MANIFEST, backup_create
from diary.services.restore import RestoreRefused, backup_restore, backup_verify, database_url
from scoring.services import responses_score
from tests.conftest import PASSWORD
from tests.diary.backing_up import app_on, django_on, empty_database, owner_on, table_digests
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


def restore(path: Path, url: str) -> None:
    backup_restore(path=path, database_url=url, app_role=settings.DATABASE_APP_ROLE)


@pytest.fixture
def backed_up(world, tmp_path):
    """A study with a scored submission, backed up; the backup and every table's digest."""
    responses = submit(world.participant_a)
    responses_score(response_ids=[r.pk for r in responses.values()])
    backup = backup_create(root=tmp_path / "backups", now=NOW)
    return backup, table_digests(settings.DATABASES["default"]["NAME"])


def test_a_restored_database_holds_every_row_as_it_was_and_the_application_runs_on_it(
    world, backed_up
) -> None:
    backup, before = backed_up
    with empty_database() as (name, url):
        restore(backup.path, url)

        # Every table, audit events, responses, scores and row history included, row for row.
        restored = table_digests(name)
        assert restored == before
        assert before["diary_auditevent"][0] > 0 and before["diary_response"][0] == 2
        assert before["scoring_score"][0] > 0

        # The owner owns everything; the application role logs in and submits.
        with owner_on(name) as conn:
            foreign = conn.execute(
                "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                "AND relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            ).fetchone()[0]
        assert foreign == 0
        with django_on(name):
            client = Client()
            response = client.post(
                reverse("diary:login"), {"username": "S02-001", "password": PASSWORD}
            )
            # Logged in: the login answers with the page she lands on (diary/views/login.py).
            assert response.status_code == 200, response.content[:300]
            assert response["Content-Location"].startswith("/diary/")
            assert AuditEvent.objects.filter(action=AuditAction.LOGIN).exists()
            participant = Participant.objects.get(subject_id="S02-001")
            # The restored chain verifies under the same key and ends where the dumped one did.
            chain = backup.manifest["audit_chain"]
            assert chain["links"] > 0
            # The dumped head is in the restored chain, unchanged (migrate may add links after).
            head = AuditChainLink.objects.filter(seq=chain["head_seq"])
            assert list(head.values_list("hash", flat=True)) == [chain["head_hash"]]
            report = audit_chain_check()
            assert report.passed, report.problems
            submit(participant)
            assert Response.objects.count() == 4
            assert audit_chain_check().passed  # and goes on after new writes
        assert Response.objects.count() == 2  # the test database, untouched

        # The append-only guards hold in the restored database, for the application role...
        for table in ("diary_auditevent", "diary_response", "diary_participantevent"):
            assert table in append_only_tables()
            for statement in ("UPDATE {} SET id = id", "DELETE FROM {}", "TRUNCATE {}"):
                with app_on(name) as conn, pytest.raises(errors.InsufficientPrivilege):
                    conn.execute(sql.SQL(statement).format(sql.Identifier(table)))
        # ... and for the owner: the triggers came back with the tables.
        with owner_on(name) as conn, pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("DELETE FROM diary_auditevent")
        with owner_on(name) as conn, pytest.raises(psycopg.Error, match="TRUNCATE of"):
            conn.execute("TRUNCATE diary_auditevent")
        assert table_digests(name)["diary_auditevent"][0] > before["diary_auditevent"][0]


def test_a_dump_altered_by_one_byte_is_refused_and_nothing_is_written(backed_up) -> None:
    backup, _ = backed_up
    dump = backup.path / DUMP
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    with empty_database() as (name, url):
        with pytest.raises(RestoreRefused) as refused:
            restore(backup.path, url)
        assert table_digests(name) == {}
    message = str(refused.value)
    assert "\n" not in message
    assert f"{dump}: SHA-256 " in message
    assert "does not match the manifest" in message and "refusing to restore" in message


def test_a_cut_short_dump_is_refused_by_its_size(backed_up) -> None:
    backup, _ = backed_up
    dump = backup.path / DUMP
    dump.write_bytes(dump.read_bytes()[:-10])

    with pytest.raises(RestoreRefused, match="bytes, the manifest says"):
        backup_verify(backup.path)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda path: (path / MANIFEST).unlink(), "no manifest.json"),
        (lambda path: (path / MANIFEST).write_text("{not json"), "not valid JSON"),
        (lambda path: (path / DUMP).unlink(), "database.dump is missing"),
    ],
)
def test_an_incomplete_backup_is_refused(backed_up, damage, match) -> None:
    backup, _ = backed_up
    damage(backup.path)
    with pytest.raises(RestoreRefused, match=match):
        backup_verify(backup.path)


def test_a_backup_of_a_newer_version_is_refused(backed_up) -> None:
    backup, _ = backed_up
    manifest = json.loads((backup.path / MANIFEST).read_text())
    manifest["migration_heads"]["diary"] = "0099_from_the_future"
    (backup.path / MANIFEST).write_text(json.dumps(manifest))

    with empty_database() as (name, url):
        with pytest.raises(RestoreRefused, match=r"diary\.0099_from_the_future .* newer one"):
            restore(backup.path, url)
        assert table_digests(name) == {}


def test_a_database_that_is_not_empty_is_refused_and_left_as_it_was(backed_up) -> None:
    backup, before = backed_up
    test_database = settings.DATABASES["default"]["NAME"]
    url = database_url({**settings.DATABASE_OWNER, "NAME": test_database})

    with pytest.raises(RestoreRefused, match=f"database '{test_database}' is not empty"):
        restore(backup.path, url)
    assert table_digests(test_database) == before
