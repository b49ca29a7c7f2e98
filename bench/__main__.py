"""`python -m bench [name] [args]` (or `make bench BENCH_ARGS="name args"`).

Runs `main(argv)` of module bench.bench_<name>; with no name, lists the benchmarks available.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules([str(Path(__file__).parent)])
        if module.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] in {"-h", "--help", "list"}:
        print("usage: python -m bench <name> [args]   (make bench BENCH_ARGS='<name> [args]')")
        print("benchmarks: " + (", ".join(names) if names else "none"))
        return 0
    name = argv[0]
    if name not in names:
        print(f"bench: no benchmark {name!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.bench_{name}")
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
