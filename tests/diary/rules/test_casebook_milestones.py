"""The study's signing milestones as data: parsed and checked, and what a signature at a
milestone covers (her data up to that period only) and when it is reached."""

import pytest

from diary.rules.casebook import (
    Milestone,
    casebook_hash,
    milestone_content,
    milestone_reached,
    milestones_parse,
)


def test_milestones_are_parsed_in_period_order():
    value = [
        {"after_period": 6, "label": "End of study"},
        {"after_period": 3, "label": "After period 3"},
    ]
    assert milestones_parse(value, number_of_periods=6) == (
        Milestone(3, "After period 3"),
        Milestone(6, "End of study"),
    )
    assert milestones_parse([], number_of_periods=6) == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"after_period": 3}, "a list"),
        ([{"after_period": 7, "label": "Later"}], "between 1 and 6"),
        ([{"after_period": 0, "label": "Before"}], "between 1 and 6"),
        ([{"after_period": "3", "label": "After 3"}], "whole number"),
        ([{"after_period": True, "label": "After 1"}], "whole number"),
        ([{"after_period": 3, "label": "  "}], "label"),
        ([{"after_period": 3}], "label"),
        ([{"after_period": 3, "label": "A", "extra": 1}], "only after_period and label"),
        (
            [{"after_period": 3, "label": "A"}, {"after_period": 3, "label": "B"}],
            "twice",
        ),
        (
            [{"after_period": 2, "label": "Same"}, {"after_period": 3, "label": "same"}],
            "twice",
        ),
    ],
)
def test_bad_milestones_are_refused_saying_why(value, message):
    with pytest.raises(ValueError, match=message):
        milestones_parse(value, number_of_periods=6)


def content(statuses: list[str]) -> dict:
    return {
        "format": "casebook-1",
        "study": "ENDO",
        "site": "S01",
        "participant": "S01-001",
        "status": "active",
        "withdrawal_reason": "",
        "periods": [{"number": n, "started_on": f"2026-0{n}-01"} for n in (1, 2, 3)],
        "closing_start": None,
        "assessments": [{"period_number": n, "status": s} for n, s in enumerate(statuses, start=1)],
        "responses": [
            {"id": n, "period_number": n, "answers": {"vas": n}}
            for n, s in enumerate(statuses, start=1)
            if s == "submitted"
        ],
    }


def test_a_milestone_covers_her_data_up_to_its_period_only():
    whole = content(["submitted", "submitted", "open"])
    up_to_2 = milestone_content(whole, after_period=2)
    assert up_to_2["milestone"] == 2 and up_to_2["format"] == "casebook-milestone-1"
    assert [p["number"] for p in up_to_2["periods"]] == [1, 2]
    assert [a["period_number"] for a in up_to_2["assessments"]] == [1, 2]
    assert [r["period_number"] for r in up_to_2["responses"]] == [1, 2]
    # Later data, or her status, do not change what was signed at the milestone ...
    later = content(["submitted", "submitted", "submitted"])
    later["status"] = "completed"
    assert casebook_hash(milestone_content(later, after_period=2)) == casebook_hash(up_to_2)
    # ... a change to period 2's data does.
    changed = content(["submitted", "submitted", "open"])
    changed["responses"][1]["answers"] = {"vas": 99}
    assert casebook_hash(milestone_content(changed, after_period=2)) != casebook_hash(up_to_2)


@pytest.mark.parametrize(
    ("statuses", "reached"),
    [
        (["submitted", "missed"], True),
        (["excused", "submitted"], True),
        (["submitted", "open"], False),
        (["submitted", "scheduled"], False),
        (["submitted"], False),  # period 2 not reported yet
    ],
)
def test_a_milestone_is_reached_when_every_period_up_to_it_is_submitted_or_closed(
    statuses, reached
):
    assert milestone_reached(content(statuses), after_period=2) is reached
