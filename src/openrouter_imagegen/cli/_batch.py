"""Batch generation with a SQLite manifest that makes reruns resume.

Crash safety comes from the order of two steps: an item's images are
written atomically under names derived from the item's key, and only then
is the item marked done in the manifest, in one transaction. A process
killed at any moment leaves each item either done (its files all there) or
not done (rerun: regenerated into the same names, so never duplicated).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ImagegenError
from openrouter_imagegen.images._files import safe_filename

__all__ = ["BatchItem", "BatchReport", "Manifest", "read_prompts", "run_batch"]

_OPTION_KEYS = {"model", "size", "aspect_ratio", "format", "quality", "background", "n", "endpoint"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    line INTEGER NOT NULL,
    prompt TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | running | done | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    files TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    usage TEXT,
    cost REAL,
    generation_id TEXT,
    updated_at REAL
)
"""


@dataclass
class BatchItem:
    key: str
    line: int
    prompt: str | None
    options: dict[str, Any]
    error: str | None = None  # the line itself is invalid


def _item(number: int, raw: str) -> BatchItem:
    fallback = hashlib.sha256(f"{number}:{raw}".encode()).hexdigest()[:16]
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return BatchItem(
            fallback, number, None, {}, f"line {number}: not JSON ({exc.msg} at column {exc.colno})"
        )
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, dict):
        return BatchItem(
            fallback, number, None, {}, f"line {number}: expected a string or an object"
        )
    prompt = value.get("prompt")
    key = value.get("id")
    key = str(key) if isinstance(key, str | int) and str(key) else fallback
    unknown = set(value) - _OPTION_KEYS - {"prompt", "id"}
    options = {k: v for k, v in value.items() if k in _OPTION_KEYS}
    if not isinstance(prompt, str) or not prompt.strip():
        return BatchItem(
            key, number, None, options, f"line {number}: 'prompt' must be a non-empty string"
        )
    if unknown:
        return BatchItem(
            key, number, prompt, options, f"line {number}: unknown field(s) {sorted(unknown)}"
        )
    return BatchItem(key, number, prompt, options)


def read_prompts(path: Path) -> list[BatchItem]:
    """Each non-blank line of a JSONL file as an item; a bad line is an item that failed."""
    items = [
        _item(number, line)
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip()
    ]
    seen: dict[str, int] = {}
    for item in items:  # keys must be unique: a repeated id is made distinct by its line
        if item.key in seen:
            item.key = f"{item.key}-line{item.line}"
        seen[item.key] = item.line
    return items


def _create_database(path: Path) -> None:
    """Make the manifest whole under a temporary name, then link it into place.

    A reader (a second run, a progress monitor) that finds `path` therefore
    always finds its table; a crash leaves no half-made manifest behind.
    """
    fd, temporary = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file itself
            db.execute(_SCHEMA)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


class Manifest:
    """`DIR/manifest.sqlite`: one row per item, committed after every change."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            _create_database(path)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self.db.close()

    def add(self, items: list[BatchItem]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            for item in items:
                self.db.execute(
                    "INSERT OR IGNORE INTO items (key, line, prompt, options, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (item.key, item.line, item.prompt, json.dumps(item.options), time.time()),
                )

    def state(self, key: str) -> str:
        row = self.db.execute("SELECT state FROM items WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else "pending"

    def start(self, key: str) -> None:
        self.db.execute(
            "UPDATE items SET state = 'running', attempts = attempts + 1, updated_at = ? "
            "WHERE key = ?",
            (time.time(), key),
        )

    def done(
        self, key: str, files: list[str], usage: Any, cost: float | None, generation_id: str | None
    ) -> None:
        self.db.execute(
            "UPDATE items SET state = 'done', files = ?, usage = ?, cost = ?, error = NULL, "
            "generation_id = ?, updated_at = ? WHERE key = ?",
            (json.dumps(files), json.dumps(usage), cost, generation_id, time.time(), key),
        )

    def failed(self, key: str, error: str) -> None:
        self.db.execute(
            "UPDATE items SET state = 'failed', error = ?, updated_at = ? WHERE key = ?",
            (error, time.time(), key),
        )

    def rows(self) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        try:
            return list(self.db.execute("SELECT * FROM items ORDER BY line"))
        finally:
            self.db.row_factory = None


@dataclass
class BatchReport:
    total: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0  # already done before this run
    images: int = 0
    seconds: float = 0.0
    cost: float = 0.0
    tokens: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


class _RateLimiter:
    """At most `rate` request starts per second (None: unlimited)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            delay = self.next_start - now
            self.next_start = max(now, self.next_start) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def _remove_stale_temporaries(directory: Path) -> None:
    # A kill during an atomic write leaves its temporary file; the image itself is not lost.
    for pattern in (".imagegen-*.tmp", ".manifest-*.tmp"):
        for stale in directory.glob(pattern):
            with contextlib.suppress(OSError):
                stale.unlink()


async def run_batch(
    items: list[BatchItem],
    directory: Path,
    *,
    client_options: dict[str, Any],
    default_model: str,
    concurrency: int,
    rate: float | None,
    on_progress: Callable[[BatchReport], None],
) -> BatchReport:
    """Generate every item not yet done; returns what happened."""
    from openrouter_imagegen.client import AsyncImageClient

    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(directory)
    manifest = Manifest(directory / "manifest.sqlite")
    report = BatchReport(total=len(items))
    started = time.monotonic()
    try:
        manifest.add(items)
        todo = []
        for item in items:
            if manifest.state(item.key) == "done":
                report.skipped += 1
            elif item.error is not None:
                manifest.failed(item.key, item.error)
                report.failed += 1
                report.failures.append((item.key, item.error))
            else:
                todo.append(item)
        on_progress(report)
        gate = asyncio.Semaphore(concurrency)
        limiter = _RateLimiter(rate)
        async with AsyncImageClient(**client_options) as client:

            async def one(item: BatchItem) -> None:
                async with gate:
                    await limiter.wait()
                    manifest.start(item.key)
                    try:
                        files, response = await _generate(client, item, directory, default_model)
                    except (ImagegenError, OSError) as exc:
                        message = f"{type(exc).__name__}: {exc}"
                        manifest.failed(item.key, message)
                        report.failed += 1
                        report.failures.append((item.key, message))
                    else:
                        usage = response.usage.to_dict() if response.usage else None
                        cost = response.usage.cost if response.usage else None
                        manifest.done(item.key, files, usage, cost, response.id)
                        report.done += 1
                        report.images += len(files)
                    on_progress(report)

            await asyncio.gather(*(one(item) for item in todo))
        for row in manifest.rows():
            if row["state"] == "done":
                report.cost += row["cost"] or 0.0
                usage = json.loads(row["usage"] or "null") or {}
                report.tokens += usage.get("total_tokens") or 0
    finally:
        manifest.close()
        report.seconds = time.monotonic() - started
    return report


async def _generate(
    client: Any, item: BatchItem, directory: Path, default_model: str
) -> tuple[list[str], Any]:
    options = dict(item.options)
    model = options.pop("model", None) or default_model
    output_format = options.pop("format", None)
    endpoint = options.pop("endpoint", "responses")
    assert item.prompt is not None
    response = await client.generate(
        item.prompt, model=model, output_format=output_format, endpoint=endpoint, **options
    )
    images = response.images(strict=True)
    if not images:
        raise ImagegenError("the response held no image")
    files = []
    for index, image in enumerate(images):
        # Deterministic names: a regenerated item replaces its own files, never adds more.
        name = safe_filename(f"{item.key}-{index}", image.extension)
        path = image.save(directory / name, overwrite=True)
        files.append(path.name)
    return files, response
