"""The flow of participants on the per-arm summary, against a hand-built study, and cycle
length as a full outcome once the last cycle closes."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest
from django.core.cache import cache
from django.urls import reverse
from scipy import stats

from scoring.summaries import arm_summary
from tests.conftest import make_participant
from tests.scoring.flow_study import FIRST, diary, flow_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow_summary(world):
    cache.clear()
    _, day = flow_world(world)
    return arm_summary(study=world.study), day


def test_flow_counts_enrolment_allocation_periods_and_withdrawal(flow_summary):
    summary, withdrawal_day = flow_summary
    flow = summary.flow
    assert flow.sequences == ("AP", "PA")
    assert flow.count("enrolled") == 7 and flow.count("not_randomised") == 2
    assert (flow.count("randomised", "AP"), flow.count("randomised", "PA")) == (3, 2)
    started = {k: (flow.count("period_started", "AP", period=k),
                   flow.count("period_started", "PA", period=k)) for k in range(1, 7)}  # fmt: skip
    assert started == {1: (2, 1), 2: (2, 1), 3: (1, 1), 4: (1, 1), 5: (1, 1), 6: (1, 1)}
    completed = {
        k: (flow.count("period_completed", "AP", period=k),
            flow.count("period_completed", "PA", period=k))
        for k in range(1, 7)
    }  # fmt: skip
    assert completed == {1: (2, 1), 2: (1, 0), 3: (1, 1), 4: (1, 1), 5: (1, 1), 6: (1, 1)}
    withdrawn = [row for row in flow.rows if row.stage == "withdrawn" and row.participants]
    assert [(r.sequence, r.period, r.participants, r.dates) for r in withdrawn] == [
        ("AP", 2, 1, (withdrawal_day,))
    ]
    assert [tuple(w) for w in flow.withdrawals] == [("S01-020", "AP", 2, withdrawal_day)]
    assert (flow.count("cycle_closed", "AP", period=6),
            flow.count("cycle_closed", "PA", period=6)) == (1, 1)  # fmt: skip


@pytest.mark.parametrize("outcome", ["pain", "vas_dysmenorrhea", "cycle_length_days"])
def test_flow_says_who_is_analysed_per_outcome_and_why_not(flow_summary, outcome):
    flow = flow_summary[0].flow
    assert flow.count("analysed", "AP", outcome=outcome) == 1  # S01-030
    assert flow.count("analysed", "PA", outcome=outcome) == 1  # S02-020, period 2 missing
    assert flow.count("analysed_mixed_model", "AP", outcome=outcome) == 2
    second = "no value in the second treatment block"
    assert flow.count("not_analysed", "AP", outcome=outcome, reason=second) == 1  # S01-020
    assert flow.count("not_analysed", "AP", outcome=outcome,
                      reason="no value of this outcome") == 1  # S01-001  # fmt: skip
    assert flow.count("not_analysed", "PA", outcome=outcome,
                      reason="no value of this outcome") == 1  # S02-001  # fmt: skip
    # The same people the analysis itself excluded.
    analysis = next(o for o in flow_summary[0].outcomes if o.key == outcome).analysis
    assert [(e.participant, e.reason) for e in analysis.excluded] == [("S01-020", second)]


def test_the_closed_last_cycle_gives_both_blocks_three_cycles(flow_summary):
    cycle = next(o for o in flow_summary[0].outcomes if o.key == "cycle_length_days")
    blocks = {b.participant: b for b in cycle.analysis.blocks}
    assert (blocks["S01-030"].n_first, blocks["S01-030"].n_second) == (3, 3)
    assert (blocks["S02-020"].first, blocks["S02-020"].second) == (28, 29)  # 27,29,28 | 30,26,31
    assert blocks["S01-030"].second == Fraction(27 + 28 + 26, 3)


def test_page_shows_the_flow_and_the_json_carries_it(client, world, flow_summary):
    summary, day = flow_summary
    data = json.loads(json.dumps(summary.as_dict(), allow_nan=False))
    assert data["flow"]["withdrawals"] == [
        {"participant": "S01-020", "sequence": "AP", "period": 2, "withdrawn_on": day.isoformat()}
    ]
    client.force_login(world.statistician)
    text = client.get(reverse("admin:arm_summary_study", args=[world.study.code])).content.decode()
    assert "Flow of participants (CONSORT 2010 extension for randomised crossover trials)" in text
    assert re.search(r"Randomised</th><td>3</td><td>2</td><td>5</td>", text)
    assert re.search(r"Withdrew in period 2</th><td>1</td><td>0</td><td>1</td>", text)
    assert f'<th scope="row">S01-020</th><td>AP</td><td>2</td><td>{day.isoformat()}</td>' in text
    assert "2 enrolled participant(s) are not randomised" in text
    assert "Cycle length (days): analysed (values in both treatment blocks)" in text
    assert not re.search(r"\bnan\b|\binf\b", text, re.I)


def test_a_sequence_with_nobody_in_it_is_said_and_the_rest_is_shown(client, world):
    cache.clear()
    world.participant_b.allocation.delete()  # PA now has nobody
    summary = arm_summary(study=world.study)
    assert summary.flow.count("randomised", "PA") == 0
    assert "Nobody is randomised to sequence PA." in summary.flow.notes
    json.dumps(summary.as_dict(), allow_nan=False)
    client.force_login(world.statistician)
    text = client.get(reverse("admin:arm_summary_study", args=[world.study.code])).content.decode()
    assert "Nobody is randomised to sequence PA." in text
    assert not re.search(r"\bnan\b|\binf\b", text, re.I)


# --- cycle length, a full outcome -----------------------------------------------------------

CYCLES = {  # participant -> (sequence, six cycle lengths: periods 1-3 | 4-6)
    "S01-101": ("AP", [29, 31, 30, 27, 28, 26]),
    "S01-102": ("AP", [28, 30, 29, 28, 29, 27]),
    "S01-103": ("AP", [31, 29, 30, 29, 27, 28]),
    "S02-101": ("PA", [27, 28, 26, 30, 29, 31]),
    "S02-102": ("PA", [28, 27, 29, 29, 30, 28]),
    "S02-103": ("PA", [26, 29, 27, 31, 30, 29]),
}


def test_cycle_length_is_analysed_like_the_other_outcomes_and_matches_scipy(world):
    cache.clear()
    for subject, (sequence, cycles) in CYCLES.items():
        site = world.site1 if subject.startswith("S01") else world.site2
        seq = world.ap if sequence == "AP" else world.pa
        diary(make_participant(world.study, site, subject, sequence=seq), cycles, first=FIRST)
    cycle = next(o for o in arm_summary(study=world.study).outcomes
                 if o.key == "cycle_length_days")  # fmt: skip
    analysis = cycle.analysis
    assert analysis.n_complete == 6 and analysis.n_observations == 36
    means = {s: (sum(c[:3]) / 3, sum(c[3:]) / 3) for s, (_, c) in CYCLES.items()}
    half = {s: (b1 - b2) / 2 for s, (b1, b2) in means.items()}
    d_ap = [half[s] for s, (q, _) in CYCLES.items() if q == "AP"]
    d_pa = [half[s] for s, (q, _) in CYCLES.items() if q == "PA"]
    pooled = stats.ttest_ind(d_ap, d_pa, equal_var=True)
    effect = analysis.two_sequence.treatment
    assert effect.estimate == pytest.approx(sum(d_ap) / 3 - sum(d_pa) / 3, abs=1e-12)
    assert effect.t_statistic == pytest.approx(pooled.statistic, abs=1e-9)
    assert effect.p_value == pytest.approx(pooled.pvalue, abs=1e-9)
    # The paired comparison on per-participant treatment means (A first in AP).
    on_a = [means[s][0] if q == "AP" else means[s][1] for s, (q, _) in CYCLES.items()]
    on_p = [means[s][1] if q == "AP" else means[s][0] for s, (q, _) in CYCLES.items()]
    paired = stats.ttest_rel(on_a, on_p)
    assert analysis.paired.t_p_value == pytest.approx(paired.pvalue, abs=1e-9)
    assert analysis.paired.mean_a == pytest.approx(sum(on_a) / 6, abs=1e-12)
    # Descriptives by treatment use all 18 cycles of each.
    assert cycle.overall["A"]["n"] == 18 and cycle.overall["P"]["n"] == 18
    assert analysis.mixed.n_observations == 36
