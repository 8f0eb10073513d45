"""`compare`: the command line of `compare_models` — a batch of its own lines, then a gallery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from openrouter_imagegen.cli._batch_command import batch
from openrouter_imagegen.cli._compare import write_comparison

__all__ = ["compare"]


def _seeds(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int]:
    if not value:
        return []
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers") from None


def _run(prompt: str, models: tuple[str, ...], seeds: list[int], **options: Any) -> None:
    from openrouter_imagegen.cli._options import read_prompt

    output: Path = options["output"]
    source = write_comparison(output, read_prompt(prompt), models, seeds)
    options.pop("seed", None)  # each line names its own
    click.get_current_context().invoke(batch, prompts=source, model=models[0], **options)


_OWN = [
    click.Argument(["prompt"]),
    click.Option(
        ["-m", "--model", "models"],
        multiple=True,
        required=True,
        help="A model to compare; repeat for each (at least one).",
    ),
    click.Option(
        ["--seeds"],
        callback=_seeds,
        help="Comma-separated seeds, e.g. 1,2,3: each model makes one image per seed.",
    ),
]
_TAKEN = {"prompts", "model", "seed"}  # the batch's, that a comparison sets itself

compare = click.Command(
    "compare",
    callback=_run,
    params=[*_OWN, *(p for p in batch.params if p.name not in _TAKEN)],
    help="Generate PROMPT with each model (-m, repeatable) and each of --seeds into "
    "OUTPUT, resumably like `batch`, then write OUTPUT/index.html to compare them. "
    "It takes batch's options (--budget, --dry-run, --concurrency, sizes, ...).",
)
