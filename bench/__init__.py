"""Benchmarks: `python -m bench <name> [args]` runs bench/bench_<name>.py's main(argv).

Each benchmark measures a baseline in the same run and prints ratios against it, so results
compare across machines; none of them is a test.
"""
