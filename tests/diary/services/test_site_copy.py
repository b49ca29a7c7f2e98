"""The site's own copy (issue 17, item 5): a PDF casebook per participant, the site's blinded
CSV files and a manifest with SHA-256 of every file, made by a Celery task with progress on
the admin page, by the monthly schedule and by `manage.py site_copy`; downloadable by the
site's own staff only; every generation and download audited; nothing in it reveals the
allocation. PDFs are read back with pypdf, CSV files with the csv module."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from lxml import etree
from pypdf import PdfReader

from diary.models import (
    SIGNATURE_MEANING,
    Allocation,
    AuditAction,
    AuditEvent,
    CasebookSignature,
    LockLevel,
    SiteCopy,
    SiteCopyStatus,
    SiteCopyTrigger,
    StaffMembership,
    StaffRole,
)
from diary.rules import odm
from diary.selectors.casebook import casebook_hash_now, signature_state
from diary.services.corrections import response_correct
from diary.services.signatures import casebook_sign
from diary.services.site_copy import (
    site_copies_schedule,
    site_copy_request,
    site_copy_to_folder,
)
from diary.services.staff import staff_groups_sync
from diary.services.study_lock import study_lock_propose
from diary.tasks import site_copies_schedule_task, site_copy_build_task
from scoring.definitions import instrument_get
from scoring.services import scoring_sweep
from tests.conftest import PASSWORD, make_participant, make_staff
from tests.diary.exports.conftest import ehp30_answers as export_answers
from tests.diary.exports.conftest import submit_period
from tests.scoring.submitting import ehp30_answers, submit

pytestmark = pytest.mark.django_db

LEAKS = re.compile(r"Anakinra|Placebo|\b(?:AP|PA)\b|sequence|treatment", re.IGNORECASE)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ODM_NS = "{http://www.cdisc.org/ns/odm/v1.3}"
EHP30 = instrument_get("ehp30", "1.0")


@pytest.fixture
def copy_dir(settings, tmp_path):
    settings.SITE_COPY_DIR = tmp_path / "copies"
    return settings.SITE_COPY_DIR


@pytest.fixture
def data(world):
    """Site 1 has two participants: A answered period 1 and had one answer corrected; the
    other answered nothing yet. Site 2's participant answered too (never in site 1's copy)."""
    world.participant_c = make_participant(world.study, world.site1, "S01-002", sequence=world.pa)
    vas = submit(world.participant_a, ehp30=ehp30_answers(pain=[3] * 11), vas=63)
    response_correct(
        response=vas["vas_dysmenorrhea"],
        answers={"vas_dysmenorrhea": 58},
        reason="Participant misread the scale, source form",
        actor=world.coordinator1,
    )
    submit(world.participant_b)
    scoring_sweep()
    return world


def pdf_text(path: Path) -> str:
    """The PDF's text as pypdf extracts it, with runs of white space as one space (a table
    cell wraps its text over lines)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_the_copy_has_her_casebook_csv_files_and_a_manifest_of_their_hashes(data, tmp_path):
    out = tmp_path / "copy"
    manifest = site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=out, now=NOW)
    names = set(files_of(out))
    assert {"casebooks/S01-001.pdf", "casebooks/S01-002.pdf", "manifest.json"} <= names
    assert not any("S02-001" in name for name in names)
    assert {n for n in names if n.startswith("csv/")} == {
        "csv/TEST-1_long_blinded.csv",
        "csv/TEST-1_wide_blinded.csv",
        "csv/TEST-1_dictionary_blinded.csv",
    }
    assert {n for n in names if n.startswith("odm/")} == {"odm/TEST-1_odm_blinded.xml"}
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    assert on_disk["site"] == "S01" and on_disk["blinded"] is True
    assert on_disk["participants"] == 2 and on_disk["data_status"] == "interim"
    assert {entry["name"] for entry in on_disk["files"]} == names - {"manifest.json"}
    for entry in on_disk["files"]:
        data_bytes = (out / entry["name"]).read_bytes()
        assert hashlib.sha256(data_bytes).hexdigest() == entry["sha256"]
        assert len(data_bytes) == entry["bytes"]
    rows = list(csv.DictReader(io.StringIO((out / "csv/TEST-1_wide_blinded.csv").read_text())))
    assert {row["study_id"] for row in rows} == {"S01-001", "S01-002"}  # her site only
    event = AuditEvent.objects.get(action=AuditAction.SITE_COPY_GENERATED)
    assert event.actor == data.coordinator1 and event.unblinded is False
    assert event.details["files"] == on_disk["files"]
    assert event.details["trigger"] == "command"


def test_the_copy_holds_the_sites_odm_archive_with_every_values_audit_records(data, tmp_path):
    responses = submit_period(
        data.participant_c, number=1, answers=export_answers(2), vas=40, days_ago=1
    )
    vas = next(r for r in responses if r.instrument_key == "vas_dysmenorrhea")
    response_correct(
        response=vas,
        answers={"vas_dysmenorrhea": 45},
        reason="Transcribed from her paper diary",
        actor=data.coordinator1,
    )
    out = tmp_path / "copy"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=out, now=NOW)
    tree = etree.parse(str(out / "odm/TEST-1_odm_blinded.xml"))
    assert etree.XMLSchema(etree.parse(str(odm.schema_path()))).validate(tree)
    root = tree.getroot()
    assert root.get("Archival") == "Yes"
    subjects = {s.get("SubjectKey") for s in root.iter(f"{ODM_NS}SubjectData")}
    assert subjects == {"S01-001", "S01-002"}  # her site only
    items = list(root.iter(f"{ODM_NS}ItemData"))
    assert len(items) > 30  # her period's dates, 30 EHP-30 items (some not answered), the VAS
    assert all(i.find(f"{ODM_NS}AuditRecord") is not None for i in items)
    reasons = {r.text for r in root.iter(f"{ODM_NS}ReasonForChange")}
    assert "Transcribed from her paper diary" in reasons


def test_her_casebook_shows_the_investigators_signature_and_that_a_change_voids_it(data, tmp_path):
    device = TOTPDevice.objects.create(user=data.investigator1, name="app", confirmed=True)
    participant = data.participant_a
    casebook_sign(
        participant=participant,
        actor=data.investigator1,
        password=PASSWORD,
        token=f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}",
        hash_seen=casebook_hash_now(participant=participant),
        time_zone="Europe/Copenhagen",
    )
    signed = CasebookSignature.objects.get(participant=participant)
    out = tmp_path / "copy"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=out, now=NOW)
    text = pdf_text(out / "casebooks/S01-001.pdf")
    assert f"Signed by {signed.printed_name}" in text
    assert SIGNATURE_MEANING in text and signed.content_hash in text
    assert "Holds: the data are as signed." in text
    assert "Not signed." in pdf_text(out / "casebooks/S01-002.pdf")
    response_correct(
        response=participant.assessments.get(period_number=1)
        .responses.filter(instrument_key="vas_dysmenorrhea")
        .latest("pk"),
        answers={"vas_dysmenorrhea": 55},
        reason="Second look at the source form",
        actor=data.coordinator1,
    )
    later = tmp_path / "later"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=later, now=NOW)
    voided = pdf_text(later / "casebooks/S01-001.pdf")
    assert "Void: the data changed after this signature" in voided


def test_her_casebook_reads_as_she_answered_on_her_clock_with_scores_and_changes(data, tmp_path):
    out = tmp_path / "copy"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=out, now=NOW)
    text = pdf_text(out / "casebooks/S01-001.pdf")
    assert "Casebook S01-001" in text
    # The questions in the wording she answered (the demo labels here), and her answers.
    assert EHP30.item("ehp30_q01").label in text
    assert "3 Often" in text
    assert "63 mm" in text and "58 mm" in text
    assert "superseded by a correction" in text
    assert "Demo wording" in text
    # Times on her clock (Europe/Copenhagen) and in UTC in the audit extract.
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", text)
    assert "UTC" in text
    # Scores (blinded: computed from her answers) and the data change history.
    assert "pain" in text and "75.0" in text
    assert "Data change history" in text
    assert "Participant misread the scale, source form" in text
    assert "Audit trail extract" in text and "Questionnaire submitted" in text
    empty = pdf_text(out / "casebooks/S01-002.pdf")
    assert "Casebook S01-002" in empty and "63 mm" not in empty


def test_the_copy_is_byte_for_byte_the_same_whatever_the_allocation(data, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=first, now=NOW)
    for allocation in Allocation.objects.filter(participant__study=data.study):
        allocation.sequence = data.pa if allocation.sequence == data.ap else data.ap
        allocation.save(update_fields=["sequence"])
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=second, now=NOW)
    assert files_of(first) == files_of(second)
    for name, content in files_of(first).items():
        text = pdf_text(first / name) if name.endswith(".pdf") else content.decode()
        assert not LEAKS.search(text), name


@pytest.mark.parametrize("who", ["coordinator2", "monitor", "statistician", "admin", "outsider"])
def test_a_copy_asked_for_by_anyone_but_the_sites_own_staff_is_refused(data, tmp_path, who):
    out = tmp_path / "copy"
    with pytest.raises(PermissionDenied):
        site_copy_to_folder(site=data.site1, actor=getattr(data, who), out_dir=out, now=NOW)
    with pytest.raises(PermissionDenied):
        site_copy_request(site=data.site1, actor=getattr(data, who))
    assert not out.exists()
    assert not SiteCopy.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SITE_COPY_GENERATED).exists()


def test_the_page_makes_a_copy_in_the_background_shows_progress_and_downloads_it(
    data, client, copy_dir, tasks_run_now, django_capture_on_commit_callbacks
):
    client.force_login(data.coordinator1)
    page = client.get(reverse("admin:site_copy")).content.decode()
    assert "S01" in page and "S02 " not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:site_copy"), {"site": data.site1.pk})
    copy = SiteCopy.objects.get()
    assert copy.status == SiteCopyStatus.DONE and copy.trigger == SiteCopyTrigger.ON_DEMAND
    assert (copy.done, copy.total) == (2, 2)
    page = client.get(reverse("admin:site_copy")).content.decode()
    assert "2 of 2 casebooks" in page and "Download (zip)" in page

    response = client.get(reverse("admin:site_copy_download", args=[copy.pk]))
    assert response.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(bundle.read("manifest.json"))
    for entry in manifest["files"]:
        assert hashlib.sha256(bundle.read(entry["name"])).hexdigest() == entry["sha256"]
    downloaded = AuditEvent.objects.get(action=AuditAction.SITE_COPY_DOWNLOADED)
    assert downloaded.actor == data.coordinator1 and downloaded.unblinded is False
    generated = AuditEvent.objects.get(action=AuditAction.SITE_COPY_GENERATED)
    assert generated.details["trigger"] == "on_demand"

    # Another site's coordinator: the copy and the page do not exist for her.
    client.force_login(data.coordinator2)
    assert client.get(reverse("admin:site_copy_download", args=[copy.pk])).status_code == 404
    assert AuditEvent.objects.filter(action=AuditAction.SITE_COPY_DOWNLOADED).count() == 1
    client.force_login(data.monitor)
    assert client.get(reverse("admin:site_copy")).status_code == 404


def test_a_second_request_while_one_is_being_made_is_refused(data, copy_dir):
    site_copy_request(site=data.site1, actor=data.coordinator1)
    with pytest.raises(Exception, match="already being made"):
        site_copy_request(site=data.site1, actor=data.coordinator1)
    assert SiteCopy.objects.count() == 1


def test_the_build_task_is_safe_to_run_twice(data, copy_dir):
    copy = site_copy_request(site=data.site1, actor=data.coordinator1)
    assert site_copy_build_task(copy.pk) == SiteCopyStatus.DONE
    assert site_copy_build_task(copy.pk) == SiteCopyStatus.DONE
    assert AuditEvent.objects.filter(action=AuditAction.SITE_COPY_GENERATED).count() == 1


def test_every_site_gets_a_copy_on_the_monthly_schedule(data, copy_dir, tasks_run_now):
    entry = django_settings.CELERY_BEAT_SCHEDULE["site-copies-monthly"]
    assert entry["task"] == site_copies_schedule_task.name
    assert site_copies_schedule_task() == 2
    copies = SiteCopy.objects.order_by("site__code")
    assert [(c.site.code, c.status, c.trigger) for c in copies] == [
        ("S01", SiteCopyStatus.DONE, SiteCopyTrigger.SCHEDULED),
        ("S02", SiteCopyStatus.DONE, SiteCopyTrigger.SCHEDULED),
    ]
    # A site whose copy is still waiting is not queued twice.
    waiting = site_copy_request(site=data.site1, actor=data.coordinator1)
    assert [SiteCopy.objects.get(pk=pk).site.code for pk in site_copies_schedule()] == ["S02"]
    assert SiteCopy.objects.filter(site=data.site1, status=SiteCopyStatus.QUEUED).get() == waiting


def test_the_command_writes_the_same_files_and_manifest(data, tmp_path, copy_dir):
    out = tmp_path / "cli"
    call_command(
        "site_copy", "--study", "TEST-1", "--site", "S01", "--user", "coordinator1", "--out", out
    )
    manifest = json.loads((out / "manifest.json").read_text())
    copy = site_copy_request(site=data.site1, actor=data.coordinator1)
    site_copy_build_task(copy.pk)
    built = SiteCopy.objects.get(pk=copy.pk)
    assert [f["name"] for f in manifest["files"]] == [f["name"] for f in built.manifest["files"]]
    csv_hashes = {f["name"]: f["sha256"] for f in manifest["files"] if f["name"].endswith(".csv")}
    assert csv_hashes == {
        f["name"]: f["sha256"] for f in built.manifest["files"] if f["name"].endswith(".csv")
    }
    with pytest.raises(CommandError, match="site's own staff"):
        call_command(
            "site_copy",
            "--study",
            "TEST-1",
            "--site",
            "S01",
            "--user",
            "monitor",
            "--out",
            tmp_path / "refused",
        )
    assert not (tmp_path / "refused").exists()


def test_every_site_gets_a_final_copy_at_the_hard_lock(
    data, client, copy_dir, tasks_run_now, django_capture_on_commit_callbacks
):
    second = make_staff("statistician2")
    StaffMembership.objects.create(user=second, study=data.study, role=StaffRole.STATISTICIAN)
    staff_groups_sync(user=second)
    change = study_lock_propose(
        study=data.study,
        level=LockLevel.HARD,
        reason="Database lock before the final analysis",
        actor=data.statistician,
    )
    client.force_login(second)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:study_lock"), {"change": change.pk, "decision": "confirm"})
    copies = SiteCopy.objects.order_by("site__code")
    assert [(c.site.code, c.trigger, c.status) for c in copies] == [
        ("S01", SiteCopyTrigger.AT_LOCK, SiteCopyStatus.DONE),
        ("S02", SiteCopyTrigger.AT_LOCK, SiteCopyStatus.DONE),
    ]
    assert {c.manifest["data_status"] for c in copies} == {"final"}


def test_her_casebook_shows_each_signature_with_the_milestone_it_covers(data, tmp_path):
    study = data.study
    study.signing_milestones = [{"after_period": 1, "label": "After period 1"}]
    study.save()
    participant = data.participant_a
    participant.refresh_from_db()
    device = TOTPDevice.objects.create(user=data.investigator1, name="app", confirmed=True)

    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    casebook_sign(
        participant=participant,
        actor=data.investigator1,
        password=PASSWORD,
        token=f"{value:06d}",
        hash_seen=signature_state(participant=participant, milestone=1).current_hash,
        time_zone="Europe/Copenhagen",
        milestone=1,
    )
    out = tmp_path / "copy"
    site_copy_to_folder(site=data.site1, actor=data.coordinator1, out_dir=out, now=NOW)
    text = pdf_text(out / "casebooks/S01-001.pdf")
    signed = CasebookSignature.objects.get(participant=participant)
    assert f"After period 1 (period 1). Signed by {signed.printed_name}" in text
    assert signed.content_hash in text and "Holds: the data are as signed." in text
    assert "Her whole casebook (all her periods). Signed" not in text
