"""The `batch` command: many prompts, resumable, through `run_batch`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from openrouter_imagegen.cli._app import DEFAULT_MODEL, _stderr

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["batch"]


def _batch_progress(console: Console) -> Progress:
    """A bar with done/total, failures, rate and ETA (only on a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    )


@click.command()
@click.argument("prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option(
    "-m",
    "--model",
    default=lambda: os.environ.get("OPENROUTER_IMAGEGEN_MODEL", DEFAULT_MODEL),
    show_default=DEFAULT_MODEL,
)
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True)
@click.option("--max-retries", type=click.IntRange(0, 20), default=3, show_default=True)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="At most this many requests per second.",
)
@click.option("--base-url", envvar="OPENROUTER_BASE_URL")
@click.option("--timeout", type=float, default=None)
def batch(
    prompts: Path,
    output: Path,
    model: str,
    concurrency: int,
    max_retries: int,
    rate: float | None,
    base_url: str | None,
    timeout: float | None,
) -> None:
    """Generate one image set per line of PROMPTS.jsonl; rerun to resume.

    Each line is a JSON string (the prompt) or an object with "prompt" and
    optionally "id", "model", "size", "aspect_ratio", "format", "quality",
    "background", "n". Progress is kept in OUTPUT/manifest.sqlite.
    """
    import asyncio
    import time

    from openrouter_imagegen.cli._batch import BatchReport, read_prompts, run_batch

    console = _stderr()
    items = read_prompts(prompts)
    progress = _batch_progress(console) if console.is_terminal else None
    task = progress.add_task("batch", total=len(items), failed=0, rate="") if progress else None
    started = time.monotonic()

    def on_progress(report: BatchReport) -> None:
        if progress is not None and task is not None:
            finished = report.done + report.failed + report.skipped
            rate = (report.done + report.failed) / max(time.monotonic() - started, 1e-6)
            progress.update(task, completed=finished, failed=report.failed, rate=f"{rate:.1f}/s")

    client_options = {
        "base_url": base_url,
        "max_retries": max_retries,
        "timeout": timeout,
        "app_name": "openrouter-imagegen",
    }
    if progress:
        progress.start()
    try:
        report = asyncio.run(
            run_batch(
                items,
                output,
                client_options=client_options,
                default_model=model,
                concurrency=concurrency,
                rate=rate,
                on_progress=on_progress,
            )
        )
    finally:
        if progress:
            progress.stop()
    rate_text = f"{report.images / report.seconds:.1f} images/s" if report.seconds else ""
    click.echo(
        f"{report.total} items: {report.done} done now, {report.skipped} done before, "
        f"{report.failed} failed; "
        f"{report.images} images in {report.seconds:.1f}s {rate_text}; "
        f"tokens {report.tokens:,}, cost {report.cost:.4f}"
    )
    for key, reason in report.failures[:20]:
        click.echo(f"  failed {key}: {reason}")
    if len(report.failures) > 20:
        click.echo(f"  … and {len(report.failures) - 20} more (see {output / 'manifest.sqlite'})")
    if report.failed:
        sys.exit(1)
