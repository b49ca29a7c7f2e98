"""Permuted blocks and the uploaded list format (pure functions)."""

import subprocess
import sys
from collections import Counter

import pytest

from diary.rules.allocation_lists import ListInvalid, allocation_csv_parse, permuted_blocks


def generate(seed: int = 7, **kw):
    args = {
        "sequence_codes": ["AP", "PA"],
        "block_sizes": [2, 4, 6],
        "strata": ["S01", "S02"],
        "slots_per_stratum": 50,
        "seed": seed,
    }
    return permuted_blocks(**{**args, **kw})


def test_same_seed_gives_the_same_list():
    assert generate(seed=123) == generate(seed=123)


def test_another_seed_gives_another_list():
    assert generate(seed=123) != generate(seed=124)


def test_each_stratum_is_numbered_from_one_and_covers_the_requested_slots():
    slots = generate()
    for stratum in ("S01", "S02"):
        numbers = [s.slot_number for s in slots if s.stratum == stratum]
        assert numbers == list(range(1, len(numbers) + 1))
        assert len(numbers) >= 50


@pytest.mark.parametrize("seed", range(20))
def test_sequences_never_drift_apart_by_more_than_half_the_largest_block(seed):
    for stratum in ("S01", "S02"):
        codes = [s.sequence_code for s in generate(seed=seed) if s.stratum == stratum]
        running = Counter()
        for code in codes:
            running[code] += 1
            assert abs(running["AP"] - running["PA"]) <= 3
        # Whole blocks are kept, so the stratum ends balanced.
        assert running["AP"] == running["PA"]


def test_block_sizes_must_be_multiples_of_the_number_of_sequences():
    with pytest.raises(ListInvalid) as exc:
        generate(block_sizes=[3, 4])
    assert exc.value.errors == ["block size 3 is not a positive multiple of the 2 sequences"]


def parse(text: str):
    return allocation_csv_parse(text, sequence_codes=["AP", "PA"], site_codes=["S01", "S02"])


def test_a_stratified_list_is_read():
    slots = parse("slot,sequence,stratum\n1,AP,S01\n2,PA,S01\n1,PA,S02\n")
    assert [(s.stratum, s.slot_number, s.sequence_code) for s in slots] == [
        ("S01", 1, "AP"),
        ("S01", 2, "PA"),
        ("S02", 1, "PA"),
    ]


def test_errors_name_their_line():
    text = "slot,sequence\n1,AP\n2,PA\nx,AP\n4,XY\n2,AP\n"
    with pytest.raises(ListInvalid) as exc:
        parse(text)
    assert exc.value.errors == [
        "line 4: slot 'x' is not a positive whole number",
        "line 5: unknown sequence 'XY'",
        "line 6: slot 2 repeats line 3",
    ]


def test_a_wrong_header_is_refused():
    with pytest.raises(ListInvalid) as exc:
        parse("number,arm\n1,AP\n")
    assert exc.value.errors[0].startswith("line 1: the header must be")


def test_unknown_site_and_mixed_strata_are_refused():
    with pytest.raises(ListInvalid) as exc:
        parse("slot,sequence,stratum\n1,AP,S09\n2,PA,\n")
    assert exc.value.errors == [
        "line 2: unknown site 'S09' as stratum",
        "the stratum must be given on every line or on none",
    ]


def test_the_module_imports_no_django():
    code = "import sys, diary.rules.allocation_lists; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
