"""Formula neutralising: one rule, whose Python and SQL forms agree on every start."""

import pytest
from django.db import connection

from diary.rules.spreadsheet import FORMULA_STARTS, formula_neutralise, formula_neutralise_sql

SAMPLES = [
    *(f"{start}1+1" for start in FORMULA_STARTS),
    "S01-004",
    "a=b",
    " =SUM(A1)",  # a leading space is not a formula start
    "'=already",
    "",
    "é=",
    "[x]",
    "^x",
    "\\x",
]


@pytest.mark.parametrize("value", SAMPLES)
def test_the_python_rule_prefixes_exactly_the_formula_starts(value):
    expected = "'" + value if value[:1] in FORMULA_STARTS else value
    assert formula_neutralise(value) == expected


@pytest.mark.django_db
def test_the_sql_rule_gives_what_the_python_rule_gives():
    # The expression is built from a constant and a fixed alias; the values are parameters.
    sql = f"SELECT {formula_neutralise_sql('v')} FROM unnest(%s::text[])"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql + " WITH ORDINALITY AS t(v, n) ORDER BY n", [SAMPLES])
        assert [row[0] for row in cursor.fetchall()] == [formula_neutralise(v) for v in SAMPLES]
        cursor.execute(f"SELECT {formula_neutralise_sql('NULL::text')}")
        assert cursor.fetchone() == (None,)
