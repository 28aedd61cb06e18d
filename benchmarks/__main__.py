"""Runs every `bench_*.py` module here in turn; each has `main() -> list[Figure]`."""
from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks.report import print_figures


def main(argv: list[str]) -> int:
    only = set(argv)
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if only:
        names = [n for n in names if n in only or n.removeprefix("bench_") in only]
    if not names:
        print("benchmarks/: 还没有基准测试。")
        return 0
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        figures = importlib.import_module(f"benchmarks.{name}").main()
        print_figures(figures)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
