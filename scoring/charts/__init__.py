"""Charts of the unblinded summary, drawn with matplotlib as accessible SVG strings.

Pure (no Django, no clock, no I/O) and deterministic: the same input gives the same string.
Each chart returns a Chart: the SVG (role="img", <title> and <desc>) and the same numbers as a
table, the chart's text alternative.
"""

from scoring.charts._render import SERIES_STYLES, Chart
from scoring.charts.forest import ForestRow, forest_chart
from scoring.charts.means import ChartPoint, means_by_period_chart, points_parse
from scoring.charts.profile import profile_chart

__all__ = [
    "SERIES_STYLES",
    "Chart",
    "ChartPoint",
    "ForestRow",
    "forest_chart",
    "means_by_period_chart",
    "points_parse",
    "profile_chart",
]
