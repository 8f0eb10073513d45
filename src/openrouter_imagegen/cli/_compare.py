"""A comparison: one prompt across models and seeds, on the batch engine, ending in a gallery.

A comparison is a batch whose lines are written for it (`DIR/compare.jsonl`,
one per model and seed, each with an `id` naming both), so it is resumable,
locked and budgeted exactly like `batch`, and running it again pays for
nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openrouter_imagegen._public import publish
from openrouter_imagegen.cli._batch import BatchItem, BatchReport, run_batch

__all__ = ["COMPARE_FILE", "compare_models", "write_comparison"]

COMPARE_FILE = "compare.jsonl"


def write_comparison(
    directory: Path, prompt: str, models: Sequence[str], seeds: Sequence[int]
) -> Path:
    """Write `DIR/compare.jsonl`: one batch line per model and seed (or per model)."""
    lines = []
    for model in models:
        for seed in seeds or (None,):
            line: dict[str, Any] = {"id": model if seed is None else f"{model}@{seed}"}
            line |= {"prompt": prompt, "model": model}
            if seed is not None:
                line["seed"] = seed
            lines.append(json.dumps(line, ensure_ascii=False))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / COMPARE_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def compare_models(
    prompt: str,
    models: Sequence[str],
    directory: str | Path,
    *,
    client: Any,
    seeds: Sequence[int] = (),
    concurrency: int = 8,
    budget: float | None = None,
    estimate: Callable[[BatchItem], float | None] | None = None,
    gallery: bool = True,
    **options: Any,
) -> BatchReport:
    """Generate `prompt` with each of `models` and each of `seeds` into `directory`.

    `client` is an open `AsyncImageClient`; `options` (`size`, `quality`, ...)
    apply to every image. Resumable: images already made are not made again.
    With `gallery`, `directory/index.html` shows the results side by side.
    """
    if not models:
        raise ValueError("compare_models needs at least one model")
    folder = Path(directory)
    source = write_comparison(folder, prompt, models, seeds)
    report = BatchReport()
    await run_batch(
        source, folder, client=client, default_model=models[0], default_options=options,
        concurrency=concurrency, report=report, budget=budget, estimate=estimate,
    )  # fmt: skip
    if gallery:
        from openrouter_imagegen.gallery import write_gallery

        write_gallery(folder, title=f"{prompt} — {len(models)} model(s)")
    return report


# Imported as `openrouter_imagegen.cli.compare_models`.
publish(globals(), ["compare_models"], "openrouter_imagegen.cli")
