"""The admin benchmark's verdicts: a page's query count GROWS only when the larger study runs
more queries than the smaller one, never when it runs as many or fewer."""

from __future__ import annotations

import pytest

from bench.bench_admin import query_verdict


@pytest.mark.parametrize(
    ("small", "large", "verdict"),
    [(13, 13, "constant"), (16, 15, "fewer"), (13, 14, "GROWS"), (11, 40, "GROWS")],
)
def test_only_more_queries_at_the_larger_size_is_growth(small, large, verdict):
    assert query_verdict(small, large) == verdict
