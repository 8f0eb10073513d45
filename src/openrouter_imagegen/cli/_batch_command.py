"""The `batch` command: many prompts, resumable, through `run_batch`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen.cli._console import JSON_ERRORS, stderr
from openrouter_imagegen.cli._options import (
    client_options as connection_settings,
)
from openrouter_imagegen.cli._options import (
    connection_options,
    generation_options,
    to_generation_options,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from openrouter_imagegen.cli._batch import BatchItem, BatchPlan, BatchReport
    from openrouter_imagegen.client import ImageClient

__all__ = ["batch"]

_PLAIN_PROGRESS_SECONDS = 2.0
_NOT_PRICED = {"endpoint", "check_parameters"}  # how to send an item, not what it costs
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


def _estimator(client: ImageClient) -> Callable[[BatchItem], float | None]:
    """Each item's estimated cost in USD (the high bound: a budget must hold), or None.

    The catalogue behind it is fetched once per model and cached by the client.
    """

    def estimate(item: BatchItem) -> float | None:
        options = {k: v for k, v in item.options.items() if k not in _NOT_PRICED}
        return client.estimate_cost(item.prompt or "", model=item.model, **options).high

    return estimate


def _gallery(output: Path) -> None:
    """OUTPUT/index.html, to look at the results; a failure here costs no image."""
    from openrouter_imagegen._exceptions import ImagegenError
    from openrouter_imagegen.gallery import write_gallery

    try:
        page = write_gallery(output)
    except (ImagegenError, OSError) as exc:
        click.echo(f"warning: no gallery written: {exc}", err=True)
        return
    click.echo(f"gallery: {page}")


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
    "--concurrency",
    type=click.IntRange(1, 1024),
    default=8,
    show_default=True,
    help="Items at once at most (a request, then its images written); halved on a rate "
    "limit, regained one per success.",
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
    "--no-metadata",
    is_flag=True,
    help="Save the image bytes alone, without the provenance embedded by default.",
)
@click.option("--sidecar", is_flag=True, help="Also write each image's provenance to NAME.json.")
@click.option("--no-gallery", is_flag=True, help="Do not write OUTPUT/index.html at the end.")
@generation_options
@connection_options
def batch(
    prompts: Path,
    output: Path,
    concurrency: int,
    rate: float | None,
    budget: float | None,
    dry_run: bool,
    no_metadata: bool,
    sidecar: bool,
    no_gallery: bool,
    **kwargs: Any,
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
    from openrouter_imagegen.cli._session import make_async_client, make_client

    JSON_ERRORS["enabled"] = False
    settings = connection_settings(kwargs)
    model: str = kwargs.pop("model")
    defaults: dict[str, Any] = dict(to_generation_options(kwargs))
    endpoint = kwargs.pop("endpoint")
    if endpoint != "auto":
        defaults["endpoint"] = endpoint
    if kwargs.pop("no_check"):
        defaults["check_parameters"] = False

    if dry_run:
        with make_client(settings) as estimating:
            found = plan_batch(
                prompts, output, default_model=model, default_options=defaults,
                estimate=_estimator(estimating),
            )  # fmt: skip
        _print_plan(found, True)
        return

    console = stderr()
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
        import httpx

        from openrouter_imagegen.client._pool import ShardedTransport

        # One wide httpx pool spends most of a large batch's time on its own bookkeeping.
        transport = ShardedTransport(concurrency)
        with make_client(settings) as estimating:
            async with (
                httpx.AsyncClient(transport=transport, timeout=None) as http,
                make_async_client({**settings, "http_client": http}) as client,
            ):
                await run_batch(
                    prompts, output, client=client, default_model=model,
                    default_options=defaults, concurrency=concurrency, report=report,
                    on_progress=on_progress, rate=rate, budget=budget,
                    estimate=_estimator(estimating) if budget is not None else None,
                    metadata=not no_metadata, sidecar=sidecar,
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
    if not no_gallery:
        _gallery(output)
    if report.stopped is not None:
        prefix = "error: " if report.fatal else ""
        click.echo(
            f"{prefix}stopped: {report.stopped}; {report.not_started} items not attempted",
            err=True,
        )
    if report.failed or report.fatal:
        sys.exit(1)
