"""Timing and tables: medians of repeated runs, ratios against a baseline."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def median_seconds(run: Callable[[], Any], *, repeat: int, warmup: int = 1) -> float:
    """The median wall time of `run`, with the garbage collector paused while timing."""
    for _ in range(warmup):
        run()
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter_ns()
            run()
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return statistics.median(times) / 1e9


def human_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


@dataclass
class Row:
    case: str
    value: float
    shown: str
    ratio: str = ""
    target: str = ""
    ok: bool | None = None


@dataclass
class Table:
    """One suite's results, printed as plain text and kept for the JSON record."""

    title: str
    columns: tuple[str, str, str, str] = ("median", "ratio", "target", "ok")
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self,
        case: str,
        value: float,
        shown: str,
        ratio: str = "",
        target: str = "",
        ok: bool | None = None,
    ) -> None:
        self.rows.append(Row(case, value, shown, ratio, target, ok))

    def render(self) -> str:
        header = ("case", *self.columns)
        body = [
            (r.case, r.shown, r.ratio, r.target, "" if r.ok is None else ("yes" if r.ok else "NO"))
            for r in self.rows
        ]
        widths = [max(len(str(line[i])) for line in [header, *body]) for i in range(5)]
        lines = [f"## {self.title}", ""]
        for line in [header, *body]:
            lines.append(
                "  ".join(
                    str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
            )
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def record(self) -> dict[str, Any]:
        return {"title": self.title, "rows": [r.__dict__ for r in self.rows], "notes": self.notes}
