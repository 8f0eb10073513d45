"""The `batch` command: many prompts, resumable, through `run_batch`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen.cli._app import DEFAULT_MODEL, _stderr

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from openrouter_imagegen.cli._batch import BatchItem, BatchPlan, BatchReport

__all__ = ["batch"]

_PLAIN_PROGRESS_SECONDS = 2.0
_SHOWN = 20  # failures, warnings and changed items listed in the summary


def _batch_progress(console: Console) -> Progress:
    """A bar with done/total, failures, concurrency, rate and ETA (only on a terminal)."""
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
        TextColumn("concurrency {task.fields[concurrency]}"),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    )


def _estimator(client: Any) -> Callable[[BatchItem], float | None] | None:
    """The client's cost estimate per item, when the client has one."""
    estimate_cost = getattr(client, "estimate_cost", None)
    if estimate_cost is None:
        return None

    def estimate(item: BatchItem) -> float | None:
        value = estimate_cost(item.prompt or "", model=item.model, **item.options)
        return None if value is None else float(value)

    return estimate


def _finished(report: BatchReport) -> int:
    return report.done + report.before + report.adopted + report.duplicates + report.failed


def _summary(report: BatchReport, output: Path) -> None:
    rate = f" ({report.images / report.seconds:.1f} images/s)" if report.seconds else ""
    click.echo(
        f"{report.total} items: {report.done} done now, {report.before} done before, "
        f"{report.adopted} adopted, {report.changed_count} changed, "
        f"{report.duplicates} duplicate, {report.failed} failed, "
        f"{report.not_started} not started; "
        f"{report.images} images in {report.seconds:.1f}s{rate}; "
        f"tokens {report.tokens:,}, cost ${report.cost:.4f}"
    )
    for key in report.changed:
        click.echo(f"  changed {key}: its inputs differ from the manifest's; regenerated")
    for key, reason in report.failures:
        click.echo(f"  failed {key}: {reason}")
    if report.failed > len(report.failures):
        more = report.failed - len(report.failures)
        click.echo(f"  … and {more} more failed (see {output / 'index.jsonl'})")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


def _print_plan(plan: BatchPlan, estimated: bool) -> None:
    click.echo(
        f"{plan.total} items: {plan.to_generate} to generate, {plan.before} done before, "
        f"{plan.invalid} invalid, {plan.duplicates} duplicate"
    )
    if not estimated:
        click.echo("cost: unknown (no estimate available)")
    elif plan.unestimated:
        click.echo(
            f"estimated cost: ${plan.cost:.4f} for {plan.to_generate - plan.unestimated} items; "
            f"{plan.unestimated} items have no estimate"
        )
    else:
        click.echo(f"estimated cost: ${plan.cost:.4f}")


@click.command()
@click.argument("prompts", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the images, manifest.sqlite and index.jsonl (created if needed).",
)
@click.option(
    "-m",
    "--model",
    default=lambda: os.environ.get("OPENROUTER_IMAGEGEN_MODEL", DEFAULT_MODEL),
    show_default=DEFAULT_MODEL,
    help="Model for lines that name none (env OPENROUTER_IMAGEGEN_MODEL).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Requests at once at most; halved on a rate limit, regained one per success.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(0, 20),
    default=3,
    show_default=True,
    help="Retries of one request after a transient error.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    show_default="unlimited",
    help="At most this many requests per second.",
)
@click.option(
    "--budget",
    type=click.FloatRange(min=0),
    default=None,
    show_default="none",
    help="Start no item that could take this run's spending past this many USD (an item "
    "with no estimate counts as the dearest one so far); reaching it is no error.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    default=False,
    show_default=True,
    help="Print the item count and estimated cost; send no request, write nothing.",
)
@click.option(
    "--retry-unsafe",
    is_flag=True,
    default=False,
    show_default=True,
    help="Also retry a request that may have reached the server (it may be paid twice).",
)
@click.option(
    "--base-url",
    envvar="OPENROUTER_BASE_URL",
    default=None,
    show_default="https://openrouter.ai/api/v1",
    help="API base URL (env OPENROUTER_BASE_URL).",
)
@click.option(
    "--timeout",
    type=float,
    default=None,
    show_default="180 s to read",
    help="Seconds to wait for an answer.",
)
def batch(
    prompts: Path,
    output: Path,
    model: str,
    concurrency: int,
    max_retries: int,
    rate: float | None,
    budget: float | None,
    dry_run: bool,
    retry_unsafe: bool,
    base_url: str | None,
    timeout: float | None,
) -> None:
    """Generate one image set per line of PROMPTS.jsonl into OUTPUT; rerun to resume.

    Each line is a JSON string (the prompt) or an object with "prompt" and
    optionally "id", "model", "size", "aspect_ratio", "format", "quality",
    "background", "n", "endpoint". An item is known by its "id", else by its
    content: reordering lines regenerates nothing, an edited line is a new
    item, and an item whose "id" stays but whose inputs change is
    regenerated (the manifest keeps the old inputs in its history table).
    Progress is kept in OUTPUT/manifest.sqlite; OUTPUT/index.jsonl lists
    every line with its files, status and cost.

    \b
    Exit status:
      0    every item done, or --budget stopped the batch before an item failed
      1    an item failed, or the batch stopped on an error (key refused,
           no credits, disk full, unusable manifest)
      2    a usage error, or OUTPUT is in use by another batch
      130  interrupted (Ctrl-C); the summary is printed first
    """
    import asyncio

    from openrouter_imagegen.cli._batch import BatchReport, plan_batch, run_batch
    from openrouter_imagegen.client import AsyncImageClient

    client_options: dict[str, Any] = {
        "base_url": base_url,
        "max_retries": max_retries,
        "timeout": timeout,
        "app_name": "openrouter-imagegen",
    }
    if retry_unsafe:
        client_options["retry_unsafe"] = True

    if dry_run:

        async def plan() -> tuple[BatchPlan, bool]:
            async with AsyncImageClient(**client_options) as client:
                estimate = _estimator(client)
                found = plan_batch(prompts, output, default_model=model, estimate=estimate)
                return found, estimate is not None

        _print_plan(*asyncio.run(plan()))
        return

    console = _stderr()
    progress = _batch_progress(console) if console.is_terminal else None
    task = None
    if progress is not None:
        task = progress.add_task("batch", total=None, failed=0, concurrency=concurrency, rate="")
    started = last_line = time.monotonic()

    def on_progress(report: BatchReport) -> None:
        nonlocal last_line
        now = time.monotonic()
        rate = report.images / max(now - started, 1e-6)
        if progress is not None and task is not None:
            progress.update(
                task, total=report.total, completed=_finished(report), failed=report.failed,
                concurrency=report.concurrency, rate=f"{rate:.1f} images/s",
            )  # fmt: skip
        elif now - last_line >= _PLAIN_PROGRESS_SECONDS:
            last_line = now
            click.echo(
                f"batch: {_finished(report)}/{report.total} done, {report.failed} failed, "
                f"concurrency {report.concurrency}, {rate:.1f} images/s",
                err=True,
            )

    async def run(report: BatchReport) -> None:
        async with AsyncImageClient(**client_options) as client:
            await run_batch(
                prompts, output, client=client, default_model=model, concurrency=concurrency,
                report=report, on_progress=on_progress, rate=rate, budget=budget,
                estimate=_estimator(client),
            )  # fmt: skip

    report = BatchReport()
    if progress is not None:
        progress.start()
    try:
        asyncio.run(run(report))
    except BlockingIOError as exc:
        click.echo(f"error: {exc.strerror}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        if progress is not None:
            progress.stop()
        _summary(report, output)
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"error: {exc.strerror or exc}{where}", err=True)
        sys.exit(1)
    finally:
        if progress is not None:
            progress.stop()
    _summary(report, output)
    if report.stopped is not None:
        prefix = "error: " if report.fatal else ""
        click.echo(
            f"{prefix}stopped: {report.stopped}; {report.not_started} items not attempted",
            err=True,
        )
    if report.failed or report.fatal:
        sys.exit(1)
