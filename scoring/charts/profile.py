"""The crossover profile plot: each participant's two treatment-block means joined by a line,
one panel per sequence, with the sequence's mean profile on top."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

from matplotlib.collections import LineCollection
from matplotlib.ticker import MaxNLocator

from scoring.charts._render import (
    Chart,
    axis_range,
    check_element_id,
    display,
    figure,
    series_style,
    svg_of,
)
from scoring.statistics.design import CrossoverDesign, ParticipantBlocks


def _mean(values: list[Fraction]) -> float | None:
    return float(sum(values, Fraction(0)) / len(values)) if values else None


def profile_chart(
    blocks: Iterable[ParticipantBlocks],
    *,
    design: CrossoverDesign,
    title: str,
    y_label: str,
    element_id: str,
    y_range: tuple[object, object] = (0, 100),
    treatment_labels: Mapping[str, str] | None = None,
) -> Chart:
    """Two panels (sequence_a_first, then sequence_b_first); x: first block, second block,
    labelled with the treatment given; one thin line per participant with both block means, an
    open marker for a participant with one block only (she is in the mixed model, not in the
    paired analyses), and the sequence mean of the complete participants as a thick line.

    `blocks` come from scoring.statistics.block_means (exact means). treatment_labels maps a
    treatment code to its display name (default the code). The table has one row per
    participant: participant, sequence, block 1 and block 2 treatment and mean, and how many
    period values each mean used. ValueError for a participant of another sequence, a bad
    y_range or element_id.
    """
    title, y_label = str(title), str(y_label)
    check_element_id(element_id)
    low, high = axis_range(y_range)
    names = dict(treatment_labels or {})
    rows = sorted(blocks, key=lambda r: (r.sequence != design.sequence_a_first, r.participant))
    sequences = (design.sequence_a_first, design.sequence_b_first)
    for row in rows:
        if row.sequence not in sequences:
            raise ValueError(f"participant {row.participant!r}: unknown sequence {row.sequence!r}")

    def treatment_in(sequence: str, block: int) -> str:
        a_first = sequence == design.sequence_a_first
        code = design.treatment_a if (block == 1) == a_first else design.treatment_b
        return names.get(code, code)

    table: list[dict[str, Any]] = [
        {
            "participant": r.participant,
            "sequence": r.sequence,
            "block_1_treatment": treatment_in(r.sequence, 1),
            "block_1_mean": None if r.first is None else float(r.first),
            "block_1_n": r.n_first,
            "block_2_treatment": treatment_in(r.sequence, 2),
            "block_2_mean": None if r.second is None else float(r.second),
            "block_2_n": r.n_second,
        }
        for r in rows
    ]
    counts = {
        s: (
            sum(1 for r in rows if r.sequence == s and r.complete),
            sum(1 for r in rows if r.sequence == s and not r.complete),
        )
        for s in sequences
    }
    values = [float(v) for r in rows for v in (r.first, r.second) if v is not None]
    notes: list[str] = []
    if values and (min(values) < low or max(values) > high):
        span = high - low
        low, high = min(low, min(values) - 0.05 * span), max(high, max(values) + 0.05 * span)
        notes.append("Some means lie outside the expected range, so the axis was widened.")
    description = (
        f"Profile plot of {y_label}: one panel per sequence ("
        + "; ".join(
            f"{s}: {treatment_in(s, 1)} then {treatment_in(s, 2)}, {counts[s][0]} participants "
            f"with both blocks and {counts[s][1]} with one block only"
            for s in sequences
        )
        + "). Each thin line joins one participant's mean in the first block to her mean in "
        "the second; an open circle is a participant with one block only; the thick line is "
        f"the sequence mean of the participants with both blocks. The y axis runs from "
        f"{display(low, 0)} to {display(high, 0)}. "
        + " ".join(notes)
        + " The same numbers are in the table that accompanies this chart."
    ).replace("  ", " ")
    with figure(element_id, 7.2, 4.4) as fig:
        fig.subplots_adjust(left=0.1, right=0.98, top=0.8, bottom=0.16, wspace=0.12)
        fig.suptitle(title, x=0.02, y=0.98, ha="left", va="top", fontsize=12, fontweight="bold")
        axes = fig.subplots(1, 2, sharey=True)
        for index, (ax, sequence) in enumerate(zip(axes, sequences, strict=True)):
            style = series_style(index)
            mine = [r for r in rows if r.sequence == sequence]
            complete = [r for r in mine if r.complete]
            ax.set_xlim(0.7, 2.3)
            ax.set_ylim(low, high)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
            ax.set_xticks(
                [1, 2],
                [f"Block 1\n{treatment_in(sequence, 1)}", f"Block 2\n{treatment_in(sequence, 2)}"],
            )
            both, one = counts[sequence]
            ax.set_title(
                f"Sequence {sequence}: n = {both}" + (f" (+{one} with one block)" if one else ""),
                fontsize=10,
                loc="left",
            )
            if index == 0:
                ax.set_ylabel(y_label)
            segments = [[(1, float(r.first)), (2, float(r.second))] for r in complete]  # type: ignore[arg-type]
            if segments:
                lines = LineCollection(segments, colors="#444444", linewidths=0.8, alpha=0.45)
                lines.set_gid(f"participants-{index}")
                ax.add_collection(lines)
            lonely = [
                (
                    1 if r.first is not None else 2,
                    float(r.first if r.first is not None else r.second),
                )
                for r in mine
                if not r.complete
            ]  # type: ignore[arg-type]
            if lonely:
                ax.plot(
                    [x for x, _ in lonely],
                    [y for _, y in lonely],
                    linestyle="none",
                    marker="o",
                    markerfacecolor="#ffffff",
                    markeredgecolor="#444444",
                    markersize=5,
                    gid=f"one-block-{index}",
                )
            first = _mean([r.first for r in complete])  # type: ignore[misc]
            second = _mean([r.second for r in complete])  # type: ignore[misc]
            if first is not None and second is not None:
                ax.plot(
                    [1, 2],
                    [first, second],
                    zorder=3,
                    gid=f"sequence-mean-{index}",
                    **{**style, "linewidth": 3},
                )
            if not mine:
                ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center")
        svg = svg_of(fig, element_id=element_id, title=title, description=description)
    return Chart(svg, table, title, description, element_id, tuple(notes))
