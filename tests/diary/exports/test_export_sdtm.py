"""SDTM datasets (SDTMIG 3.4) of a study: what each domain holds, blinded and unblinded, and
that a blinded file is the same whatever the allocation."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from diary.exports.sdtm.domains import DATASETS
from diary.models import Allocation, AuditAction, AuditEvent, Treatment
from diary.services.exports import ExportRequest, export_start
from scoring.services import scoring_sweep
from tests.conftest import make_participant
from tests.diary.exports.conftest import ehp30_answers, submit_period

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def export_files(user, study, *, kinds=("sdtm",), blinded=True, fmt="csv", **request):
    export = export_start(
        user=user,
        request=ExportRequest(study=study, kinds=kinds, blinded=blinded, format=fmt, **request),
        now=NOW,
    )
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(export.chunks)))
    return {name: bundle.read(name) for name in bundle.namelist()}


def frame(files: dict[str, bytes], name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(files[f"{name.lower()}.csv"]), dtype=str, keep_default_na=False)


@pytest.fixture
def scored(submitted):
    scoring_sweep()
    return submitted


def test_every_dataset_is_a_file_with_its_variables_in_order(scored):
    files = export_files(scored.statistician, scored.study)
    names = [f"{d.name.lower()}.csv" for d in DATASETS]
    assert sorted(files) == sorted([*names, "manifest.json"])
    for d in DATASETS:
        assert list(frame(files, d.name).columns) == [v.name for v in d.variables]


def test_qs_has_one_record_per_item_with_its_label_code_and_status(scored):
    qs = frame(export_files(scored.statistician, scored.study), "QS")
    a = qs[(qs.USUBJID == "TEST-1-S01-001") & (qs.QSDRVFL == "")]
    assert len(a) == 30 and a.QSTESTCD.tolist()[:2] == ["EHP3001", "EHP3002"]
    first = a.iloc[0]
    assert (first.QSTEST, first.QSCAT, first.QSSCAT) == ("EHP30-Item 01", "EHP-30", "PAIN")
    assert (first.QSORRES, first.QSSTRESC, first.QSSTRESN) == ("Sometimes", "2", "2")
    assert (first.VISITNUM, first.VISIT, first.EPOCH, first.QSEVLINT) == (
        "1", "PERIOD 1", "BLOCK 1", "-P4W"
    )  # fmt: skip
    assert first.QSDTC.startswith(
        str(scored.participant_a.assessments.get(period_number=1).submitted_at.date())
    )
    # Not answered: a record NOT DONE with the reason, no result, never 0.
    skipped = a[a.QSTESTCD == "EHP3003"].iloc[0]
    assert (skipped.QSORRES, skipped.QSSTRESC, skipped.QSSTRESN) == ("", "", "")
    assert (skipped.QSSTAT, skipped.QSREASND) == ("NOT DONE", "NOT ANSWERED")
    assert (a.QSSTAT == "NOT DONE").sum() == 2
    # QSSEQ is unique within the subject, in item order.
    assert qs[qs.USUBJID == "TEST-1-S01-001"].QSSEQ.astype(int).tolist() == list(range(1, 36))


def test_qs_has_the_derived_scale_scores_flagged(scored):
    qs = frame(export_files(scored.statistician, scored.study), "QS")
    scores = qs[qs.QSDRVFL == "Y"]
    assert len(scores) == 2 * 5
    b = scores[scores.USUBJID == "TEST-1-S02-001"].set_index("QSTESTCD")
    assert b.loc["EHP30PN", ["QSTEST", "QSSCAT", "QSORRES", "QSSTRESN"]].tolist() == [
        "EHP30-Pain Score", "PAIN", "25", "25"
    ]  # fmt: skip
    assert set(scores.QSSTAT) == {""}


def test_a_scale_with_too_few_items_is_a_score_record_not_done(submitted):
    submit_period(
        make_participant(submitted.study, submitted.site1, "S01-002", sequence=submitted.ap),
        number=1,
        answers=ehp30_answers(3, missing=("ehp30_q28", "ehp30_q29")),
        vas=10,
        days_ago=1,
    )
    scoring_sweep()
    qs = frame(export_files(submitted.statistician, submitted.study), "QS")
    row = qs[(qs.USUBJID == "TEST-1-S01-002") & (qs.QSTESTCD == "EHP30SI")].iloc[0]
    assert (row.QSDRVFL, row.QSSTAT, row.QSREASND, row.QSORRES) == (
        "Y", "NOT DONE", "TOO FEW ITEMS ANSWERED", ""
    )  # fmt: skip


def test_a_module_that_does_not_apply_is_not_applicable_not_missing(submitted):
    submitted.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    submitted.study.save(update_fields=["instrument_modules"])
    answers = {**ehp30_answers(1), "ehp30_work_applies": 0}
    answers |= {f"ehp30_work_q{n}": None for n in range(1, 6)}
    submit_period(
        make_participant(submitted.study, submitted.site1, "S01-003", sequence=submitted.ap),
        number=1, answers=answers, vas=20, days_ago=1,
    )  # fmt: skip
    scoring_sweep()
    qs = frame(export_files(submitted.statistician, submitted.study), "QS")
    mine = qs[qs.USUBJID == "TEST-1-S01-003"].set_index("QSTESTCD")
    assert mine.loc["EHP30WG", ["QSORRES", "QSSTRESN", "QSSCAT"]].tolist() == ["No", "0", "WORK"]
    assert mine.loc["EHP30W1", ["QSSTAT", "QSREASND"]].tolist() == ["NOT DONE", "NOT APPLICABLE"]
    assert mine.loc["EHP30WK", ["QSDRVFL", "QSSTAT", "QSREASND"]].tolist() == [
        "Y", "NOT DONE", "NOT APPLICABLE"
    ]  # fmt: skip


def test_the_vas_is_a_finding_about_dysmenorrhea_with_method_and_unit(scored):
    fa = frame(export_files(scored.statistician, scored.study), "FA").set_index("USUBJID")
    a = fa.loc["TEST-1-S01-001"]
    assert a[["FATESTCD", "FATEST", "FAOBJ", "FACAT"]].tolist() == [
        "VASPAIN", "Dysmenorrhea Pain VAS", "DYSMENORRHEA", "DYSMENORRHEA VAS"
    ]  # fmt: skip
    assert a[["FAORRES", "FAORRESU", "FASTRESN", "FASTRESU", "FAMETHOD"]].tolist() == [
        "63", "mm", "63", "mm", "VISUAL ANALOG SCALE"
    ]  # fmt: skip
    assert a.FAEVINTX == "LAST MENSTRUAL PERIOD"
    b = fa.loc["TEST-1-S02-001"]  # an untouched VAS: not done, never 50 or 0
    assert b[["FAORRES", "FASTRESN", "FASTAT", "FAREASND"]].tolist() == [
        "", "", "NOT DONE", "NOT ANSWERED"
    ]  # fmt: skip


def test_unblinded_dm_ta_te_se_name_the_arm_and_the_treatment_of_each_cycle(scored):
    files = export_files(scored.statistician, scored.study, blinded=False)
    dm = frame(files, "DM").set_index("USUBJID")
    assert dm.loc["TEST-1-S01-001", ["ARMCD", "ARM", "ACTARMCD", "ACTARM"]].tolist() == [
        "AP", "Anakinra 100 mg / Placebo", "AP", "Anakinra 100 mg / Placebo"
    ]  # fmt: skip
    assert dm.loc["TEST-1-S02-001", "ARMCD"] == "PA"
    assert dm.loc["TEST-1-S01-001", "SITEID"] == "S01"
    ta = frame(files, "TA")
    ap = ta[ta.ARMCD == "AP"]
    assert ap.ETCD.tolist() == ["A", "A", "A", "P", "P", "P"]
    assert ap.EPOCH.tolist() == ["BLOCK 1"] * 3 + ["BLOCK 2"] * 3
    assert ap.TAETORD.tolist() == [str(n) for n in range(1, 7)]
    te = frame(files, "TE").set_index("ETCD")
    assert te.loc["P", "ELEMENT"] == "Placebo"
    se = frame(files, "SE").set_index("USUBJID")
    assert se.loc["TEST-1-S02-001", ["ETCD", "ELEMENT", "EPOCH", "TAETORD"]].tolist() == [
        "P", "Placebo", "BLOCK 1", "1"
    ]  # fmt: skip
    period = scored.participant_b.periods.get()
    assert se.loc["TEST-1-S02-001", "SESTDTC"] == period.started_on.isoformat()


def test_blinded_files_name_no_arm_sequence_or_treatment(scored):
    files = export_files(scored.coordinator1, scored.study)
    dm = frame(files, "DM")
    assert set(dm.ARMCD) == {"BLINDED"} and set(dm.ARM) == {"Blinded"}
    assert frame(files, "SE").ETCD.tolist() == ["BLK1"]
    assert set(frame(files, "TA").ARMCD) == {"BLINDED"}
    everything = b"".join(files.values())
    for name in (b"Anakinra", b"Placebo", b",AP,", b",PA,", b",A,", b",P,"):
        assert name not in everything
    # Site-scoped like every export: coordinator1 sees her site only.
    assert set(dm.SITEID) == {"S01"}


def test_a_participant_not_randomised_has_no_arm_and_the_reason(scored):
    make_participant(scored.study, scored.site1, "S01-009")
    for blinded in (True, False):
        dm = frame(export_files(scored.statistician, scored.study, blinded=blinded), "DM")
        row = dm.set_index("USUBJID").loc["TEST-1-S01-009"]
        assert row[["ARMCD", "ARM", "ARMNRS"]].tolist() == ["", "", "NOT ASSIGNED"]


def test_sv_has_a_visit_per_submitted_or_missed_assessment(scored):
    sv = frame(export_files(scored.statistician, scored.study), "SV")
    assert sv[["USUBJID", "VISITNUM", "VISIT", "SVOCCUR", "EPOCH"]].values.tolist() == [
        ["TEST-1-S01-001", "1", "PERIOD 1", "Y", "BLOCK 1"],
        ["TEST-1-S02-001", "1", "PERIOD 1", "Y", "BLOCK 1"],
    ]


@pytest.mark.parametrize("fmt", ["csv", "json", "xpt"])
def test_blinded_sdtm_files_are_byte_identical_whatever_the_allocation(scored, fmt):
    """Nothing of a blinded file comes from the allocation: swapping every participant's
    sequence and renaming the treatments changes no byte of any dataset or of define.xml."""
    kinds = ("sdtm", "define")
    before = export_files(scored.monitor, scored.study, kinds=kinds, fmt=fmt)
    unblinded = export_files(scored.statistician, scored.study, kinds=kinds, fmt=fmt,
                             blinded=False)  # fmt: skip
    Allocation.objects.filter(participant=scored.participant_a).update(sequence=scored.pa)
    Allocation.objects.filter(participant=scored.participant_b).update(sequence=scored.ap)
    Treatment.objects.filter(pk=scored.active.pk).update(name="Drug X 5 mg")
    after = export_files(scored.monitor, scored.study, kinds=kinds, fmt=fmt)
    assert sorted(before) == sorted(after)
    for name in before:
        if name != "manifest.json":  # it names the user and the time of the export only
            assert before[name] == after[name], name
    # The same files unblinded do change: the check can fail.
    unblinded_after = export_files(scored.statistician, scored.study, kinds=kinds, fmt=fmt,
                                   blinded=False)  # fmt: skip
    changed = [n for n in unblinded if n != "manifest.json" and unblinded[n] != unblinded_after[n]]
    assert {f"dm.{fmt}", f"se.{fmt}", f"ta.{fmt}", f"te.{fmt}", "define.xml"} <= set(changed)


def test_the_query_count_does_not_grow_with_the_participants(scored):
    """Django's queries; each dataset's own SELECT is one COPY or one server-side cursor
    (diary.exports.formats.rows_read), which the count does not see, one per file."""

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            export_files(scored.statistician, scored.study, blinded=False, fmt="json")
        return len(queries)

    count()  # the first export fills the caches (permissions, instrument versions)
    few = count()
    for n in range(2, 6):
        participant = make_participant(scored.study, scored.site1, f"S01-00{n}",
                                       sequence=scored.ap)  # fmt: skip
        submit_period(participant, number=1, answers=ehp30_answers(n % 5), vas=n, days_ago=1)
    scoring_sweep()
    assert count() == few


def test_a_blinded_role_cannot_take_unblinded_sdtm_and_nothing_is_audited(scored):
    with pytest.raises(PermissionDenied, match="need an unblinded role"):
        export_start(
            user=scored.coordinator1,
            request=ExportRequest(study=scored.study, kinds=("sdtm",), blinded=False),
        )
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORTED).exists()


def test_a_format_no_asked_kind_has_is_refused(scored):
    with pytest.raises(PermissionDenied, match="sav format is for these kinds"):
        export_start(
            user=scored.statistician,
            request=ExportRequest(study=scored.study, kinds=("sdtm",), format="sav"),
        )


def test_the_export_is_audited_with_every_file_hashed_in_the_manifest(scored):
    import hashlib
    import json

    files = export_files(scored.statistician, scored.study, kinds=("sdtm", "define"), fmt="xpt")
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "xpt" and manifest["kinds"] == ["sdtm", "define"]
    listed = {entry["name"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, entry in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == entry["sha256"]
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert event.details["complete"] is True and event.details["format"] == "xpt"
    assert event.details["files"] == manifest["files"]
    assert event.unblinded is False
