"""Export columns carry their own SQL: every file's header is its dictionary's variable list."""

import csv
import io

import pytest

from diary.exports import queries
from diary.exports.columns import (
    ALLOCATION_COLUMNS,
    KINDS,
    TREATMENT,
    UNBLINDED_ONLY_KINDS,
    dictionary_columns,
    kind_columns,
)
from diary.models import (
    Sequence,
    SequenceBlock,
    Site,
    StaffMembership,
    StaffRole,
    Treatment,
)
from diary.selectors.allocation import period_treatments
from diary.selectors.questionnaire import instruments_collected
from scoring.services import scoring_sweep
from tests.conftest import make_participant, make_study
from tests.diary.exports.test_export_service import download

pytestmark = pytest.mark.django_db

EXPORTS = [
    (kind, blinded)
    for kind in KINDS
    for blinded in (True, False)
    if not (blinded and kind in UNBLINDED_ONLY_KINDS)
]


def rows_of(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


@pytest.fixture
def scored(submitted):
    submitted.study.instrument_modules = {"ehp30": ["ehp30_work"]}
    submitted.study.save(update_fields=["instrument_modules"])
    scoring_sweep()
    return submitted


@pytest.mark.parametrize(("kind", "blinded"), EXPORTS)
def test_each_file_header_is_the_variable_list_of_the_dictionary(scored, kind, blinded):
    collected = instruments_collected(study=scored.study)
    content, _ = download(scored.statistician, study=scored.study, kinds=(kind,), blinded=blinded)
    header, *rows = rows_of(content)
    dictionary_content, _ = download(
        scored.statistician, study=scored.study, kinds=("dictionary",), blinded=blinded
    )
    entries = {row[0]: row for row in rows_of(dictionary_content)[1:]}
    if kind == "dictionary":
        # The dictionary lists the headers of the files this user may take, in their order.
        names: list[str] = []
        for other in ("long", "wide", "treatment_means", "flow"):
            if (other, blinded) in EXPORTS:
                names += [c.name for c in kind_columns(other, collected, blinded=blinded)]
        assert [row[0] for row in rows] == list(dict.fromkeys(names))
        listed = [row[0] for row in rows]
    else:
        columns = kind_columns(kind, collected, blinded=blinded)
        assert header == [c.name for c in columns]
        assert rows, "the test data fill every kind"
        # Each header variable is described by the dictionary the same user downloads.
        assert set(header) <= set(entries)
        first = {c.name: c for c in dictionary_columns(collected, blinded=blinded)}
        assert [entries[name][1:3] for name in header] == [
            [first[name].label, first[name].type] for name in header
        ]
        listed = header
    if blinded:
        assert not ALLOCATION_COLUMNS & set(listed)
        assert not any(name.startswith("mean_") for name in listed)
        assert b"Anakinra" not in content and b"treatment" not in content
    else:
        assert kind == "dictionary" or ALLOCATION_COLUMNS & set(header)


def test_a_blinded_query_cannot_be_built_with_an_allocation_column(scored, monkeypatch):
    def leaky(kind, collected, *, blinded):
        return [*kind_columns(kind, collected, blinded=blinded), TREATMENT]

    monkeypatch.setattr(queries, "kind_columns", leaky)
    with pytest.raises(KeyError, match="treatment"):
        queries.wide_query(scored.study, queries.Scope(study_id=scored.study.pk), blinded=True)


@pytest.mark.parametrize("periods_per_block", [1, 2, 3, 6])
def test_the_sql_and_the_python_allocated_treatment_agree(world, periods_per_block):
    study = make_study("BLOCKS", periods_per_block=periods_per_block)
    site = Site.objects.create(study=study, code="S01", name="North")
    drug = Treatment.objects.create(study=study, code="D", name="Drug")
    placebo = Treatment.objects.create(study=study, code="P", name="Placebo")
    participants = []
    for number, (code, first) in enumerate((("DP", drug), ("PD", placebo)), start=1):
        sequence = Sequence.objects.create(study=study, code=code)
        for block in range(1, study.number_of_blocks + 1):
            treatment = first if block % 2 else ({drug, placebo} - {first}).pop()
            SequenceBlock.objects.create(sequence=sequence, block=block, treatment=treatment)
        participants.append(make_participant(study, site, f"S01-{900 + number}", sequence=sequence))
    StaffMembership.objects.create(
        user=world.statistician, study=study, role=StaffRole.STATISTICIAN
    )
    content, _ = download(world.statistician, study=study, kinds=("wide",), blinded=False)
    header, *rows = rows_of(content)
    at = {name: header.index(name) for name in ("study_id", "period", "treatment")}
    exported = {(r[at["study_id"]], int(r[at["period"]])): r[at["treatment"]] for r in rows}
    expected = {
        (participant.subject_id, period): treatment.code
        for participant in participants
        for period, treatment in period_treatments(
            study=study, sequence=participant.allocation.sequence
        ).items()
    }
    assert exported == expected
    assert len(expected) == 2 * study.number_of_periods
