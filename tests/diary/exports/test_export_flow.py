"""The flow export: one row per stage x sequence, the same counts as the summary, unblinded
only, site-scoped."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied

from diary.exports.columns import FLOW_COLUMNS
from diary.models import StaffMembership, StaffRole
from diary.services.exports import ExportRequest, export_start
from diary.services.staff import staff_groups_sync
from scoring.summaries import arm_summary
from tests.conftest import make_staff
from tests.diary.exports.test_export_service import download
from tests.scoring.flow_study import flow_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow_study(world):
    cache.clear()
    flow_world(world)
    return world


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_flow_file_has_the_summarys_counts_one_row_per_stage_and_sequence(flow_study):
    world = flow_study
    content, export = download(world.statistician, study=world.study, kinds=("flow",),
                               blinded=False)  # fmt: skip
    assert export.filename == "TEST-1_flow_unblinded.csv"
    table = rows(content)
    assert list(table[0]) == [c.name for c in FLOW_COLUMNS]
    flow = arm_summary(study=world.study).flow
    assert len(table) == len(flow.rows) == export.files[0].rows
    for line, row in zip(table, flow.rows, strict=True):
        assert (line["stage"], line["sequence"], int(line["participants"])) == (
            row.stage, row.sequence, row.participants)  # fmt: skip
        assert line["period"] == ("" if row.period is None else str(row.period))
    withdrawn = [r for r in table if r["stage"] == "withdrawn" and r["participants"] != "0"]
    assert withdrawn == [{"stage": "withdrawn", "sequence": "AP", "period": "2", "outcome": "",
                          "reason": "", "participants": "1", "dates": "2026-02-08"}]  # fmt: skip
    enrolled = next(r for r in table if r["stage"] == "enrolled")
    assert (enrolled["sequence"], enrolled["participants"]) == ("", "7")
    assert {"nan", "inf"}.isdisjoint({v.lower() for r in table for v in r.values()})


def test_the_dictionary_describes_the_flow_columns_only_when_unblinded(flow_study):
    world = flow_study
    unblinded, _ = download(world.statistician, study=world.study, kinds=("dictionary",),
                            blinded=False)  # fmt: skip
    names = [r["variable"] for r in rows(unblinded)]
    assert {"stage", "participants", "dates", "reason"} <= set(names)
    stage = next(r for r in rows(unblinded) if r["variable"] == "stage")
    assert "withdrawn:" in stage["unit"] and "cycle_closed:" in stage["unit"]
    blinded, _ = download(world.statistician, study=world.study, kinds=("dictionary",))
    assert "stage" not in [r["variable"] for r in rows(blinded)]


@pytest.mark.parametrize("who", ["coordinator1", "monitor", "admin"])
def test_blinded_staff_cannot_export_the_flow(flow_study, who):
    world = flow_study
    with pytest.raises(PermissionDenied):
        export_start(user=getattr(world, who), request=ExportRequest(
            study=world.study, kinds=("flow",), blinded=False))  # fmt: skip
    with pytest.raises(PermissionDenied, match="only as an unblinded export"):
        export_start(user=world.statistician,
                     request=ExportRequest(study=world.study, kinds=("flow",)))  # fmt: skip


def test_a_site_statistician_exports_the_flow_of_her_site_only(flow_study):
    world = flow_study
    local = make_staff("statistician-s02")
    StaffMembership.objects.create(user=local, study=world.study, site=world.site2,
                                   role=StaffRole.STATISTICIAN)  # fmt: skip
    staff_groups_sync(user=local)
    content, _ = download(local, study=world.study, kinds=("flow",), blinded=False)
    table = {(r["stage"], r["sequence"], r["period"], r["outcome"], r["reason"]):
             r["participants"] for r in rows(content)}  # fmt: skip
    assert table[("enrolled", "", "", "", "")] == "2"  # S02-001 and S02-020
    assert table[("randomised", "AP", "", "", "")] == "0"
    assert table[("randomised", "PA", "", "", "")] == "2"
    assert table[("analysed", "PA", "", "pain", "")] == "1"
