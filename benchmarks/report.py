"""One figure beside its baseline, measured in the same run."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    what: str
    value: float
    unit: str
    baseline: float | None = None  # the same measure of the baseline in the same run
    baseline_name: str = ""
    target: str = ""  # the DESIGN.md target, as text

    def ratio(self) -> str:
        if not self.baseline:
            return ""
        return f"{self.value / self.baseline:.2f}× of {self.baseline_name} ({self.baseline:.4g} {self.unit})"


def print_figures(figures: list[Figure]) -> None:
    for f in figures:
        line = f"   {f.what}: {f.value:.4g} {f.unit}"
        if f.baseline is not None:
            line += f"  | {f.ratio()}"
        if f.target:
            line += f"  | target {f.target}"
        print(line, flush=True)
