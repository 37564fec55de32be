"""`make bench`: run every benchmark module in bench/ one after another.

Each benchmark is also runnable alone (`python -m bench.<name>`) and appends nothing by
itself to docs: copy the figures it prints into docs/benchmarks.md with the command.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "run_all", "common"}


def main() -> int:
    names = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in SKIP)
    wanted = set(sys.argv[1:])
    failures = []
    for name in names:
        if wanted and name not in wanted:
            continue
        print(f"\n=== bench.{name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
        elapsed = time.perf_counter() - started
        print(f"=== bench.{name}: exit {result.returncode} in {elapsed:.0f} s")
        if result.returncode:
            failures.append(name)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
