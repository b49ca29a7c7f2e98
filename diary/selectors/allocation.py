"""What an allocation means period by period. Unblinded content: callers check access.

Selectors read and never write."""

from __future__ import annotations

from diary.models import Sequence, Study, Treatment


def period_treatments(*, study: Study, sequence: Sequence) -> dict[int, Treatment]:
    """The treatment given in each period of the study under `sequence`, one query.

    Period -> treatment block ((period - 1) // periods per block + 1) -> the sequence's
    treatment for that block: the Python twin of diary.exports.sql.allocated_treatment, which
    the exports and summaries use; a test holds the two equal.
    """
    blocks = {b.block: b.treatment for b in sequence.blocks.select_related("treatment")}
    return {
        period: blocks[(period - 1) // study.periods_per_block + 1]
        for period in range(1, study.number_of_periods + 1)
    }
