"""The keyed audit chain (diary/rules/audit_chain.py): every audit event and row-history event
is a link, and `audit_verify` finds what a database superuser changed with every trigger off
(`session_replication_role = replica`), naming the event or row, with a non-zero exit.

Transactional: each test commits a scored submission, then tampers on a connection of its own.
"""

from __future__ import annotations

import itertools
import os
import threading
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from psycopg import errors

from config.startup import audit_chain_key_check
from diary.chain_tables import chained_tables
from diary.models import AuditChainCheck, AuditChainLink, AuditEvent, Response
from diary.rules.chain_key import connection_options, key_problem
from diary.selectors.audit_chain import audit_chain_status, audit_chain_verify
from diary.services.audit_chain import UnknownStudy, audit_chain_check
from diary.tasks import audit_chain_verify_task
from scoring.models import Score
from scoring.services import responses_score
from tests.db_backend.base import owner_connect
from tests.scoring.submitting import submit

pytestmark = pytest.mark.django_db(transaction=True)


def superuser_connect() -> psycopg.Connection:
    """The cluster's superuser (the embedded server's and CI's `postgres`, trust), on the
    server and database the tests use."""
    owner = settings.DATABASE_OWNER
    return psycopg.connect(
        dbname=settings.DATABASES["default"]["NAME"],
        user=os.environ.get("DATABASE_SUPERUSER", "postgres"),
        host=owner.get("HOST") or None,
        port=owner.get("PORT") or None,
        autocommit=True,
    )


def tamper(*statements: str) -> None:
    """Run `statements` as the superuser with every trigger and foreign key off, no key."""
    with superuser_connect() as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def verify_fails() -> str:
    """audit_verify's failure: exit status 1 and the problems; returns all it said."""
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", stderr=err)
    assert failure.value.returncode == 1
    return f"{failure.value}\n{err.getvalue()}"


@pytest.fixture
def submitted(world) -> dict[str, Response]:
    responses = submit(world.participant_a)
    responses_score(response_ids=[r.pk for r in responses.values()])
    return responses


def test_a_scored_submission_is_chained_and_verifies(submitted):
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith("audit chain verified:")
    links = list(AuditChainLink.objects.order_by("seq"))
    assert [link.seq for link in links] == list(range(len(links)))
    assert links[0].source_table == "genesis"
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(links))
    chained = {(link.source_table, link.source_id) for link in links}
    assert {("diary_auditevent", pk) for pk in AuditEvent.objects.values_list("pk", flat=True)} <= (
        chained
    )
    recorded = {link.object_id for link in links if link.object_table == "diary_response"}
    assert recorded == {r.pk for r in submitted.values()}
    assert {link.object_id for link in links if link.object_table == "scoring_score"} == set(
        Score.objects.values_list("pk", flat=True)
    )
    check = AuditChainCheck.objects.get()
    assert check.passed and check.links == len(links)


def test_an_edited_audit_event_is_named(submitted):
    event = AuditEvent.objects.order_by("pk").first()
    tamper(f"UPDATE diary_auditevent SET reason = 'edited' WHERE id = {event.pk}")
    said = verify_fails()
    assert f"diary_auditevent#{event.pk}" in said and "altered after it was written" in said
    assert not AuditChainCheck.objects.get().passed


def test_a_deleted_audit_event_is_named(submitted):
    event = AuditEvent.objects.order_by("pk").last()
    tamper(f"DELETE FROM diary_auditevent WHERE id = {event.pk}")
    said = verify_fails()
    assert f"diary_auditevent#{event.pk}" in said and "the event was removed" in said


def test_an_event_removed_with_its_link_is_found(submitted):
    link = AuditChainLink.objects.filter(source_table="diary_auditevent").order_by("seq").first()
    tamper(
        f"DELETE FROM diary_auditevent WHERE id = {link.source_id}",
        f"DELETE FROM diary_auditchainlink WHERE seq = {link.seq}",
    )
    said = verify_fails()
    assert f"links {link.seq} to {link.seq} are missing" in said


def test_reordered_links_are_found(submitted):
    first, second = AuditChainLink.objects.filter(seq__gt=0).order_by("seq")[:2]
    tamper(
        f"UPDATE diary_auditchainlink SET seq = -1 WHERE seq = {first.seq}",
        f"UPDATE diary_auditchainlink SET seq = {first.seq} WHERE seq = {second.seq}",
        f"UPDATE diary_auditchainlink SET seq = {second.seq} WHERE seq = -1",
    )
    said = verify_fails()
    assert f"(link {first.seq}) does not follow link {first.seq - 1}" in said


def test_an_event_inserted_around_the_chain_is_named(submitted):
    tamper(
        "INSERT INTO diary_auditevent (occurred_at, actor_label, action, object_type, "
        "object_id, reason, details, request_id, unblinded) "
        "VALUES (now(), 'intruder', 'exported', '', '', '', '{}', '', true)"
    )
    forged = AuditEvent.objects.get(actor_label="intruder")
    said = verify_fails()
    assert f"diary_auditevent#{forged.pk}: the event is in no link" in said


def test_a_rewritten_answer_is_named(submitted):
    response = submitted["ehp30"]
    tamper(
        "UPDATE diary_response SET answers = answers || '{\"ehp30_01\": 4}' "
        f"WHERE id = {response.pk}"
    )
    said = verify_fails()
    assert f"response {response.pk}: its content no longer matches" in said
    # The chain and the row history themselves are intact: only the content check fails.
    assert "diary_responseevent" not in said


def test_a_rewritten_score_is_named(submitted):
    score = Score.objects.exclude(value=None).order_by("pk").first()
    tamper(f"UPDATE scoring_score SET value = value + 1 WHERE id = {score.pk}")
    said = verify_fails()
    assert f"score {score.pk}: its content no longer matches" in said


def test_a_forged_link_fails_its_hmac(submitted):
    link = AuditChainLink.objects.filter(object_table="diary_response").first()
    tamper(
        f"UPDATE diary_auditchainlink SET content_digest = repeat('0', 64) WHERE seq = {link.seq}"
    )
    said = verify_fails()
    assert f"(link {link.seq}): the link was altered" in said


def test_a_rescore_in_place_stays_verified(world, submitted):
    """A rewritten time stamp (no history event) is not a change of content."""
    Score.objects.update(scored_at="2030-01-01T00:00:00Z")
    assert audit_chain_verify(key=settings.AUDIT_CHAIN_KEY).passed


def test_study_limits_the_content_checks(world, submitted):
    score = Score.objects.order_by("pk").first()
    tamper(f"UPDATE scoring_score SET items_answered = 0 WHERE id = {score.pk}")
    assert not audit_chain_check(study_code=world.study.code).passed
    other = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY, study_code="NO-SUCH")
    assert other.scores == 0 and other.passed
    with pytest.raises(UnknownStudy):
        audit_chain_check(study_code="NO-SUCH")


def test_two_simultaneous_submissions_end_in_one_chain(world):
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(participant) -> None:
        try:
            start.wait(timeout=10)
            submit(participant)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(p,)) for p in (world.participant_a, world.participant_b)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert Response.objects.count() == 4
    report = audit_chain_verify(key=settings.AUDIT_CHAIN_KEY)
    assert report.passed, report.problems
    assert report.links == AuditChainLink.objects.count()


def test_a_fork_is_refused_by_the_database(submitted):
    head = AuditChainLink.objects.order_by("-seq").first()
    with pytest.raises(errors.UniqueViolation), superuser_connect() as conn:
        conn.execute(
            "INSERT INTO diary_auditchainlink (seq, prev_hash, hash, source_table, source_id, "
            "row_digest, object_table, content_digest) "
            f"VALUES ({head.seq + 100}, '{head.prev_hash}', 'x', 'diary_auditevent', 1, '', '', '')"
        )


def test_the_application_role_cannot_write_links(submitted):
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"] or None, port=db["PORT"] or None
    ) as conn:
        for statement in (
            "INSERT INTO diary_auditchainlink (seq, prev_hash, hash, source_table, source_id, "
            "row_digest, object_table, content_digest) VALUES (999, 'p', 'h', 't', 1, '', '', '')",
            "UPDATE diary_auditchainlink SET hash = 'x'",
            "DELETE FROM diary_auditchainlink",
            "TRUNCATE diary_auditchainlink",
        ):
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)


def test_a_write_without_the_key_or_with_another_is_refused(submitted):
    insert = (
        "INSERT INTO diary_auditevent (occurred_at, actor_label, action, object_type, "
        "object_id, reason, details, request_id, unblinded) VALUES (now(), 'x', 'exported', "
        "'', '', '', '{}', '', true)"
    )
    with owner_connect() as conn, pytest.raises(errors.InsufficientPrivilege, match="no AUDIT"):
        conn.execute(insert)
    other = connection_options("another-key-of-thirty-two-characters-or-more")
    with (
        owner_connect(options=other) as conn,
        pytest.raises(errors.InsufficientPrivilege, match="not the key this chain"),
    ):
        conn.execute(insert)


def test_a_wrong_key_is_recognised_at_start_and_by_the_verifier(submitted):
    wrong = "another-key-of-thirty-two-characters-or-more"
    with connection.cursor() as cursor:
        table = "diary_auditchainlink"
        assert key_problem(cursor, key=settings.AUDIT_CHAIN_KEY, table=table) is None
        problem = key_problem(cursor, key=wrong, table=table)
    assert problem.startswith("AUDIT_CHAIN_KEY: is not the key") and "\n" not in problem
    report = audit_chain_verify(key=wrong)
    assert not report.passed and report.problems[0].startswith("link 0:")


def test_a_serving_process_refuses_to_start_with_a_wrong_key(submitted, settings, capsys):
    audit_chain_key_check()  # the right key: starts
    settings.AUDIT_CHAIN_KEY = "another-key-of-thirty-two-characters-or-more"
    with pytest.raises(SystemExit) as refused:
        audit_chain_key_check()
    assert refused.value.code == 3
    said = capsys.readouterr().err.strip()
    assert said.startswith("AUDIT_CHAIN_KEY: is not the key") and "\n" not in said


def test_every_chained_table_is_keyed_as_the_trigger_reads_it():
    # The trigger reads NEW.id or NEW.pgh_id without to_jsonb (diary/rules/audit_chain.py).
    assert {arguments[0] for arguments in chained_tables().values()} == {"id", "pgh_id"}


def test_beat_runs_the_check_nightly():
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "diary.tasks.audit_chain_verify_task"
    )
    assert entry["schedule"].hour == {2}


def test_the_nightly_task_records_a_check(submitted):
    assert audit_chain_verify_task() == {
        "passed": True,
        "links": AuditChainLink.objects.count(),
        "problems": 0,
    }
    assert AuditChainCheck.objects.get().passed


def test_the_status_says_when_the_chain_last_passed(submitted):
    assert audit_chain_status().last_checked_at is None
    audit_chain_check()
    passed = audit_chain_status()
    assert passed.last_check_passed and passed.last_passed_at is not None
    tamper("UPDATE scoring_score SET items_answered = 0")
    audit_chain_check()
    failed = audit_chain_status()
    assert not failed.last_check_passed and failed.last_passed_at == passed.last_passed_at
