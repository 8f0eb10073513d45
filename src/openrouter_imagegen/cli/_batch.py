"""Batch generation: one image set per line of a JSONL file, resumable through a SQLite manifest.

Three rules keep money and images safe:

- An item is known by its key: its explicit `id`, else a hash of its prompt,
  model and options. Reordering lines regenerates nothing; changed inputs are new work.
- Paid, then recorded, then written: as soon as an answer arrives, its file
  names, cost and generation id are committed (state `writing`); then the
  images are written atomically; then the item is marked `done`. A run
  killed in between finds the files on resume and adopts them: never paid twice.
  One writer thread does those three steps for every answer waiting, in groups
  (one transaction per step), so that the event loop only sends and receives.
- One output directory, one run at a time: an exclusive lock on `DIR/.imagegen.lock`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import heapq
import json
import os
import re
import sqlite3
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from openrouter_imagegen._exceptions import (
    AuthenticationError,
    ImagegenError,
    InsufficientCreditsError,
    PermissionDeniedError,
    RateLimitError,
)
from openrouter_imagegen.images import GeneratedImage, safe_filename

__all__ = [
    "INDEX_NAME",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "BatchItem",
    "BatchPlan",
    "BatchReport",
    "Manifest",
    "count_items",
    "plan_batch",
    "run_batch",
    "scan_prompts",
]

MANIFEST_NAME = "manifest.sqlite"
INDEX_NAME = "index.jsonl"
LOCK_NAME = ".imagegen.lock"

# A line's field -> the keyword argument of `client.generate` it becomes.
_OPTION_FIELDS = {
    "size": "size",
    "aspect_ratio": "aspect_ratio",
    "format": "output_format",
    "quality": "quality",
    "background": "background",
    "n": "n",
    "endpoint": "endpoint",
    "seed": "seed",
    "resolution": "resolution",
    "compression": "output_compression",
    "provider": "provider",
    "references": "input_references",
}
_LINE_FIELDS = {"prompt", "id", "model", *_OPTION_FIELDS}
_NO_OPTIONS: Mapping[str, Any] = {}
_HOW_SENT = ("endpoint", "check_parameters")  # options of the request, not of the image
_SLUG_CHARS = 40
_RATE_LIMIT_RETRIES = 10  # per item, after the client's own retries gave up
_TICK_SECONDS = 1.0  # how often progress is reported while nothing finishes
_KEPT_MESSAGES = 20  # failures and warnings kept for the summary; the index has them all
_HELD_PER_SLOT = 4  # items read ahead or waiting for a retry, per unit of concurrency
_GROUP = 32  # answers at most made durable and recorded together by the writer thread
# Errors that every later item would hit too: the batch stops instead of paying for them.
_DIRECTORY_ERRNOS = {
    errno.ENOSPC,
    errno.EFBIG,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
}

_SCHEMA_VERSION = 2
_SCHEMA = f"""
PRAGMA user_version = {_SCHEMA_VERSION};
CREATE TABLE items (
    key TEXT PRIMARY KEY,
    line INTEGER NOT NULL,                 -- where it was last seen in the prompts file
    prompt TEXT,
    model TEXT,
    options TEXT NOT NULL DEFAULT '{{}}',
    inputs TEXT NOT NULL,                  -- digest of prompt, model and options
    state TEXT NOT NULL DEFAULT 'pending', -- pending | running | writing | done | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    files TEXT NOT NULL DEFAULT '[]',      -- planned from `writing` on, complete once `done`
    error TEXT,
    usage TEXT,
    cost REAL,
    generation_id TEXT,
    updated_at REAL
);
CREATE TABLE history (                     -- what an item was before its inputs changed
    key TEXT NOT NULL,
    replaced_at REAL NOT NULL,
    prompt TEXT,
    model TEXT,
    options TEXT,
    inputs TEXT,
    state TEXT,
    files TEXT,
    cost REAL,
    generation_id TEXT
);
CREATE INDEX history_by_key ON history (key);
"""


# -- the prompts file ---------------------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One non-blank line of the prompts file."""

    key: str
    line: int
    prompt: str | None
    model: str
    options: dict[str, Any]  # keyword arguments of `client.generate`
    inputs: str  # digest of prompt, model and options (of the raw line when it is invalid)
    error: str | None = None  # the line itself is invalid, or a conflicting duplicate
    duplicate_of: int | None = None  # the earlier line with the same key


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _canonical(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _parse_line(
    number: int, raw: bytes, default_model: str, default_options: Mapping[str, Any] = _NO_OPTIONS
) -> BatchItem:
    raw_digest = _digest(raw.strip())

    def invalid(reason: str, key: str | None = None) -> BatchItem:
        return BatchItem(
            key or raw_digest,
            number,
            None,
            default_model,
            {},
            raw_digest,
            f"line {number}: {reason}",
        )

    try:
        value = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return invalid(f"not UTF-8 (byte {exc.start} of the line)")
    except json.JSONDecodeError as exc:
        return invalid(f"not JSON ({exc.msg} at column {exc.colno})")
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, dict):
        return invalid("expected a JSON string or object")
    raw_id = value.get("id")
    explicit = None
    if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) and str(raw_id):
        explicit = str(raw_id)
    elif "id" in value:
        return invalid(f"'id' must be a non-empty string or an integer, got {raw_id!r}")
    prompt = value.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return invalid("'prompt' must be a non-empty string", explicit)
    unknown = set(value) - _LINE_FIELDS
    if unknown:
        return invalid(
            f"unknown field(s) {sorted(unknown)}; known: {sorted(_LINE_FIELDS)}", explicit
        )
    model = value.get("model", default_model)
    if not isinstance(model, str) or not model:
        return invalid("'model' must be a non-empty string", explicit)
    options = dict(default_options)
    options.update(
        (_OPTION_FIELDS[name], option)
        for name, option in value.items()
        if name in _OPTION_FIELDS and option is not None
    )
    inputs = _digest(_canonical({"prompt": prompt, "model": model, "options": options}))
    return BatchItem(explicit or inputs, number, prompt, model, options, inputs)


class _FirstLines:
    """The first line and inputs of each key, in a temporary database on disk: the keys of
    a file of millions of lines are not held in memory."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # "": a private file, deleted when closed
        self.db.execute("CREATE TABLE first (key TEXT PRIMARY KEY, line INTEGER, inputs TEXT)")

    def first(self, key: str, line: int, inputs: str) -> tuple[int, str]:
        """Where `key` was first seen, recording this `line` when that is here."""
        found: tuple[int, str] | None = self.db.execute(
            "SELECT line, inputs FROM first WHERE key = ?", (key,)
        ).fetchone()
        if found is not None:
            return found
        self.db.execute("INSERT INTO first VALUES (?, ?, ?)", (key, line, inputs))
        return line, inputs

    def close(self) -> None:
        self.db.close()


def scan_prompts(
    path: Path, default_model: str, default_options: Mapping[str, Any] | None = None
) -> Generator[BatchItem, None, None]:
    """Each non-blank line of a JSONL file as an item, read only as far as it is consumed.

    A line is a JSON string (the prompt) or an object with "prompt" and
    optionally "id", "model" (else `default_model`) and the options in
    `_OPTION_FIELDS` (over `default_options`, the command line's). An
    invalid line is an item with `error` set. A key seen before gives
    `duplicate_of` (the first line with it); when the inputs differ too, the
    item is a conflicting duplicate and gets an `error`.
    """
    seen = _FirstLines()
    with path.open("rb") as file, contextlib.closing(seen):
        for number, raw in enumerate(file, 1):
            if not raw.strip():
                continue
            item = _parse_line(number, raw, default_model, default_options or {})
            first = seen.first(item.key, number, item.inputs)
            if first[0] == number:
                yield item
            elif first[1] == item.inputs:
                yield replace(item, duplicate_of=first[0])
            else:
                conflict = f"line {number}: id {item.key!r} is already used by line {first[0]}"
                yield replace(item, duplicate_of=first[0], error=conflict + " with other inputs")


def count_items(path: Path) -> int:
    """The number of non-blank lines, read without keeping them."""
    with path.open("rb") as file:
        return sum(1 for raw in file if raw.strip())


def _slug(prompt: str) -> str:
    """The prompt's first words in lowercase ASCII, joined by dashes, at most ~40 characters."""
    ascii_text = unicodedata.normalize("NFKD", prompt).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = words[0][:_SLUG_CHARS] if words else "image"
    for word in words[1:]:
        if len(slug) + 1 + len(word) > _SLUG_CHARS:
            break
        slug = f"{slug}-{word}"
    return slug


def _file_name(item: BatchItem, index: int, extension: str) -> str:
    return safe_filename(f"{_slug(item.prompt or '')}-{item.key}-{index}", extension)


# -- the manifest -----------------------------------------------------------------------------


def _create_database(path: Path) -> None:
    """Make the manifest whole under a temporary name, then link it into place.

    A reader (a second run, a progress monitor) that finds `path` therefore
    always finds its tables; a crash leaves no half-made manifest behind.
    """
    fd, temporary = tempfile.mkstemp(prefix=".manifest-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(temporary, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file itself
            db.executescript(_SCHEMA)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


Admission = Literal["todo", "changed", "done", "adopted"]


class Manifest:
    """`DIR/manifest.sqlite`: one row per item, committed after every change.

    An unreadable file or one of another schema raises `ImagegenError`
    (nothing is migrated: images named by an older version cannot be matched).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            _create_database(path)
        try:
            # The writer thread has a Manifest of its own, made on the loop's thread.
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise ImagegenError(f"cannot open the manifest {path}: {exc}") from exc
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            self.db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            self.db.close()
            raise ImagegenError(
                f"cannot read the manifest {path} ({exc}); if it is damaged, move it away to "
                "start over (the images beside it are kept)"
            ) from exc
        if version != _SCHEMA_VERSION:
            self.db.close()
            raise ImagegenError(
                f"{path} has manifest schema {version}, this version of openrouter-imagegen "
                f"reads schema {_SCHEMA_VERSION} only; move it away to start over "
                "(the images beside it are kept)"
            )

    def close(self) -> None:
        self.db.close()

    def row(self, key: str) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        try:
            row: sqlite3.Row | None = self.db.execute(
                "SELECT * FROM items WHERE key = ?", (key,)
            ).fetchone()
            return row
        finally:
            self.db.row_factory = None

    def is_done(self, item: BatchItem) -> bool:
        row = self.row(item.key)
        return row is not None and row["inputs"] == item.inputs and row["state"] == "done"

    def admit(self, item: BatchItem) -> Admission:
        """Record `item` and say what it needs.

        `done`: nothing. `adopted`: its images were written but the run died
        before marking it done; now it is. `changed`: its id was kept but its
        inputs changed; the old row went to `history`. `todo`: generate it.
        """
        row = self.row(item.key)
        if row is None:
            self.db.execute(
                "INSERT INTO items (key, line, prompt, model, options, inputs, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item.key, item.line, item.prompt, item.model, _json(item.options), item.inputs,
                 time.time()),
            )  # fmt: skip
            return "todo"
        if row["inputs"] != item.inputs:
            with _transaction(self.db):
                self.db.execute(
                    "INSERT INTO history (key, replaced_at, prompt, model, options, inputs, "
                    "state, files, cost, generation_id) SELECT key, ?, prompt, model, options, "
                    "inputs, state, files, cost, generation_id FROM items WHERE key = ?",
                    (time.time(), item.key),
                )
                self.db.execute(
                    "UPDATE items SET line = ?, prompt = ?, model = ?, options = ?, inputs = ?, "
                    "state = 'pending', attempts = 0, files = '[]', error = NULL, usage = NULL, "
                    "cost = NULL, generation_id = NULL, updated_at = ? WHERE key = ?",
                    (item.line, item.prompt, item.model, _json(item.options), item.inputs,
                     time.time(), item.key),
                )  # fmt: skip
            return "changed"
        if row["state"] == "done":
            return "done"
        files = json.loads(row["files"])
        directory = self.path.parent
        if row["state"] == "writing" and all((directory / name).is_file() for name in files):
            self.done(item.key)
            return "adopted"
        self.db.execute("UPDATE items SET line = ? WHERE key = ?", (item.line, item.key))
        return "todo"

    def start(self, key: str) -> None:
        self.db.execute(
            "UPDATE items SET state = 'running', attempts = attempts + 1, updated_at = ? "
            "WHERE key = ?",
            (time.time(), key),
        )

    def writing(
        self, key: str, files: list[str], usage: Any, cost: float | None, generation_id: str | None
    ) -> None:
        """Paid for: what was bought and where it is about to be written."""
        self.db.execute(
            "UPDATE items SET state = 'writing', files = ?, usage = ?, cost = ?, "
            "generation_id = ?, updated_at = ? WHERE key = ?",
            (_json(files), _json(usage), cost, generation_id, time.time(), key),
        )

    def done(self, key: str) -> None:
        self.db.execute(
            "UPDATE items SET state = 'done', error = NULL, updated_at = ? WHERE key = ?",
            (time.time(), key),
        )

    def failed(self, key: str, error: str) -> None:
        self.db.execute(
            "UPDATE items SET state = 'failed', error = ?, updated_at = ? WHERE key = ?",
            (error, time.time(), key),
        )

    def release(self, key: str) -> None:
        """Back to pending: started, but neither done nor failed (a retry left for later)."""
        self.db.execute(
            "UPDATE items SET state = 'pending', updated_at = ? WHERE key = ?", (time.time(), key)
        )

    def superseded_files(self, key: str, current: list[str]) -> set[str]:
        """Files of earlier inputs of `key` that `current` did not overwrite."""
        rows = self.db.execute("SELECT files FROM history WHERE key = ?", (key,))
        return {name for (files,) in rows for name in json.loads(files or "[]")} - set(current)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One transaction, committed at the end or rolled back on an exception.

    IMMEDIATE takes the write lock at once: the loop's connection and the
    writer thread's both write, and a transaction that read first and then
    found the other's commit could not be retried.
    """
    db.execute("BEGIN IMMEDIATE")
    with db:
        yield


# -- the writer thread ---------------------------------------------------------------------------


@dataclass
class _Paid:
    """An answer paid for, to be made durable and recorded."""

    key: str
    files: list[str]
    images: list[GeneratedImage]  # with their provenance, embedded as they are written
    usage: Any
    cost: float | None
    generation_id: str | None


class _Writer:
    """One thread that writes images and records them, a group of answers at a time.

    For each group: the `writing` rows in one transaction (what was bought
    and where it goes), then every image written and fsynced, then the
    `done` rows of those written whole in one transaction. A row therefore
    says done only once its files are durable, and a `writing` row whose
    files are all there is adopted on resume.

    Each answer's outcome is appended to `settled`: its key and None, or the
    exception that failed it (an `OSError` for its files alone, a
    `sqlite3.Error` for its group); `notify` is called after each group.
    """

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        notify: Callable[[], None],
        *,
        metadata: bool,
        sidecar: bool,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.notify = notify
        self.metadata = metadata  # embed each image's provenance (else the bytes alone)
        self.sidecar = sidecar  # and also write it beside, as NAME.json
        self.settled: collections.deque[tuple[str, Exception | None]] = collections.deque()
        self.waiting: list[_Paid | None] = []  # None: stop once the rest is done
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="imagegen-batch-writer")

    def start(self) -> None:
        self.thread.start()

    def put(self, paid: _Paid) -> None:
        with self.changed:
            self.waiting.append(paid)
            self.changed.notify()

    def close(self) -> None:
        """Finish every answer put so far, then stop the thread (if it is running)."""
        if self.thread.is_alive():
            with self.changed:
                self.waiting.append(None)
                self.changed.notify()
            self.thread.join()

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: bool(self.waiting))
                group, self.waiting = self.waiting[:_GROUP], self.waiting[_GROUP:]
            answers = [paid for paid in group if paid is not None]
            if answers:
                self.settled.extend(self._store(answers))
                self.notify()
            if len(answers) < len(group):
                return

    def _store(self, group: Sequence[_Paid]) -> list[tuple[str, Exception | None]]:
        manifest = self.manifest
        try:
            with _transaction(manifest.db):
                for paid in group:
                    manifest.writing(
                        paid.key, paid.files, paid.usage, paid.cost, paid.generation_id
                    )
        except Exception as exc:  # sqlite3.Error, or a bug: no answer may go unsettled
            return [(paid.key, exc) for paid in group]
        outcomes: list[tuple[str, Exception | None]] = []
        written = []
        for paid in group:
            try:
                for name, image in zip(paid.files, paid.images, strict=True):
                    target = self.directory / name
                    if target.is_dir():  # `save` would write into it; this name is the file's
                        raise IsADirectoryError(
                            errno.EISDIR, "a directory stands where the image goes", str(target)
                        )
                    image.save(
                        target,
                        overwrite=True,
                        metadata=self.metadata,
                        sidecar=self.sidecar,
                    )
            except Exception as exc:  # that item's failure alone
                outcomes.append((paid.key, exc))
            else:
                written.append(paid)
        try:
            with _transaction(manifest.db):
                for paid in written:
                    manifest.done(paid.key)
            for paid in written:
                for stale in manifest.superseded_files(paid.key, paid.files):
                    with contextlib.suppress(OSError):  # the item is done: a stray is harmless
                        (self.directory / stale).unlink()
        except Exception as exc:
            return outcomes + [(paid.key, exc) for paid in written]
        return outcomes + [(paid.key, None) for paid in written]


# -- the lock ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold `DIR/.imagegen.lock` exclusively, with this process's pid in it.

    Raises `BlockingIOError` naming the holder when another process has it.
    The file stays after the run: removing it would let two runs lock two files.
    """
    fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise BlockingIOError(
                errno.EWOULDBLOCK, f"{directory} is in use by another batch (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _remove_stale_temporaries(directory: Path) -> None:
    # A kill during an atomic write leaves its temporary file; the image itself is not lost.
    for pattern in (".imagegen-*.tmp", ".manifest-*.tmp"):
        for stale in directory.glob(pattern):
            with contextlib.suppress(OSError):
                stale.unlink()


# -- the run ------------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a run did; filled in as it goes, so an interrupted caller still has it."""

    total: int = 0  # non-blank lines
    done: int = 0  # generated by this run
    before: int = 0  # done by an earlier run
    adopted: int = 0  # written by an earlier run that died before recording them
    duplicates: int = 0  # identical to an earlier line: skipped
    failed: int = 0
    images: int = 0
    cost: float = 0.0  # USD spent by this run
    tokens: int = 0
    seconds: float = 0.0
    concurrency: int = 0  # the current limit: lowered by rate limits, regained on success
    stopped: str | None = None  # why no more items were started
    fatal: bool = False  # the stop was an error (bad key, no credits, disk), not the budget
    failures: list[tuple[str, str]] = field(default_factory=list)  # the first few only
    changed: list[str] = field(default_factory=list)  # the first few only
    changed_count: int = 0
    warnings: list[str] = field(default_factory=list)  # the first few only

    @property
    def not_started(self) -> int:
        """Lines neither done, failed nor skipped (a stopped or interrupted run)."""
        accounted = self.done + self.before + self.adopted + self.duplicates + self.failed
        return max(self.total - accounted, 0)


def _keep(messages: list[Any], message: Any) -> None:
    if len(messages) < _KEPT_MESSAGES:
        messages.append(message)


class _RateLimiter:
    """At most `rate` request starts per second (None: unlimited)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_start = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        delay = self.next_start - now
        self.next_start = max(now, self.next_start) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


def _stop_reason(exc: Exception, directory: Path) -> str | None:
    """Why `exc` must stop the whole batch (every later item would fail the same way)."""
    if isinstance(exc, AuthenticationError):
        return f"the API key was refused ({exc})"
    if isinstance(exc, PermissionDeniedError):
        return f"permission denied ({exc})"
    if isinstance(exc, InsufficientCreditsError):
        return f"out of credits ({exc})"
    if isinstance(exc, OSError) and exc.errno in _DIRECTORY_ERRNOS:
        return f"cannot write to {directory}: {exc.strerror}"
    return None


def _estimate_of(
    estimate: Callable[[BatchItem], float | None] | None, item: BatchItem
) -> float | None:
    """The estimated cost of `item` in USD; None when unknown, also when estimating failed."""
    if estimate is None:
        return None
    try:
        return estimate(item)
    except Exception:  # an estimate is advice: its failure must not fail the item or the run
        return None


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Engine:
    """Starts items while there is room, budget and no reason to stop; records each outcome."""

    def __init__(
        self,
        source: Path,
        directory: Path,
        manifest: Manifest,
        *,
        client: Any,
        default_model: str,
        default_options: Mapping[str, Any],
        concurrency: int,
        rate: float | None,
        budget: float | None,
        estimate: Callable[[BatchItem], float | None] | None,
        report: BatchReport,
        on_progress: Callable[[BatchReport], None],
        metadata: bool,
        sidecar: bool,
    ) -> None:
        self.directory = directory
        self.manifest = manifest
        self.client = client
        self.concurrency = concurrency
        self.limiter = _RateLimiter(rate)
        self.budget = budget
        self.estimate = estimate
        self.report = report
        self.on_progress = on_progress
        self.items = scan_prompts(source, default_model, default_options)
        self.exhausted = False
        self.running: set[asyncio.Task[None]] = set()
        self.finished: list[asyncio.Task[None]] = []
        self.in_flight: dict[str, float] = {}  # requests awaiting their answer: cost estimates
        self.storing: dict[str, tuple[BatchItem, int]] = {}  # answers with the writer: images
        self.woken = asyncio.Event()  # an answer arrived, a task ended, or the writer wrote
        self.loop = asyncio.get_running_loop()
        self.writer = _Writer(
            directory,
            Manifest(manifest.path),
            self._wake_from_the_writer,
            metadata=metadata,
            sidecar=sidecar,
        )
        self.retries: list[tuple[float, int, BatchItem]] = []  # heap by due time, then line
        self.requeued: dict[str, int] = {}
        self.highest_cost = 0.0  # the estimate of an item with none of its own
        self.over_budget = False
        report.concurrency = concurrency

    async def run(self) -> None:
        try:
            self.writer.start()
            while True:
                await self._fill()
                wait = None
                if self._has_room() and self.retries:
                    wait = max(self.retries[0][0] - time.monotonic(), 0.0)
                if not self.running and not self.storing:
                    if wait is None or self.report.stopped:
                        break
                    await asyncio.sleep(wait)
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(
                        _TICK_SECONDS if wait is None else min(wait, _TICK_SECONDS)
                    ):
                        await self.woken.wait()
                self.woken.clear()
                finished, self.finished = self.finished, []
                for task in finished:
                    task.result()  # only a manifest error gets here: it ends the run
                self._collect()
                self.on_progress(self.report)
            if self.report.stopped:
                self._account_for_the_rest()
            if self.over_budget and not self.report.fatal:  # with what the last ones cost
                self.report.stopped = self._budget_reached()
        finally:
            left = list(self.running)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            self.writer.close()  # every answer paid for is made durable and recorded
            self.writer.manifest.close()
            self.items.close()
            self._collect()
        self.on_progress(self.report)

    def _wake_from_the_writer(self) -> None:
        self.loop.call_soon_threadsafe(self.woken.set)

    def _has_room(self) -> bool:
        """Whether another item may start: fewer than the concurrency sent or being written.

        An item's turn lasts until its images are durable: a full disk then stops the
        batch before it pays for answers it could not keep.
        """
        return (
            self.report.stopped is None
            and len(self.in_flight) + len(self.storing) < self.report.concurrency
        )

    async def _fill(self) -> None:
        while self._has_room():
            item = self._next()
            if item is None:
                return
            estimate = self._estimate(item)
            in_flight = sum(self.in_flight.values())
            if self.budget is not None and self.report.cost + in_flight + estimate > self.budget:
                self.over_budget = True
                self.report.stopped = self._budget_reached()
                return
            await self.limiter.wait()
            self.manifest.start(item.key)
            self.in_flight[item.key] = estimate
            task = asyncio.create_task(self._attempt(item))
            self.running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.running.discard(task)
        self.finished.append(task)
        self.woken.set()

    def _budget_reached(self) -> str:
        return f"budget of ${self.budget or 0:.4f} reached (${self.report.cost:.4f} spent)"

    def _estimate(self, item: BatchItem) -> float:
        known = _estimate_of(self.estimate, item)
        return self.highest_cost if known is None else known

    def _next(self) -> BatchItem | None:
        """A retry that is due, else the next line that needs generating."""
        if self.retries and self.retries[0][0] <= time.monotonic():
            return heapq.heappop(self.retries)[2]
        # Waiting retries count against the read-ahead: persistent rate limits must not
        # pull the whole file into memory.
        held = len(self.retries) + len(self.running)
        while not self.exhausted and held < _HELD_PER_SLOT * self.concurrency:
            item = next(self.items, None)
            if item is None:
                self.exhausted = True
            elif self._admit(item):
                return item
        return None

    def _admit(self, item: BatchItem) -> bool:
        """Record `item`; True when it must be generated."""
        report = self.report
        if item.duplicate_of is not None:
            if item.error:
                _keep(report.warnings, f"{item.error}: failed")
                self._count_failure(item, item.error)
            else:
                _keep(
                    report.warnings, f"line {item.line} repeats line {item.duplicate_of}: skipped"
                )
                report.duplicates += 1
            return False
        admission = self.manifest.admit(item)
        if admission == "done":
            report.before += 1
            return False
        if admission == "adopted":
            report.adopted += 1
            return False
        if admission == "changed":
            report.changed_count += 1
            _keep(report.changed, f"{item.key} (line {item.line})")
        if item.error:
            self.manifest.failed(item.key, item.error)
            self._count_failure(item, item.error)
            return False
        return True

    def _count_failure(self, item: BatchItem, reason: str) -> None:
        self.report.failed += 1
        _keep(self.report.failures, (item.key, reason))

    async def _attempt(self, item: BatchItem) -> None:
        # Whatever goes wrong with one item is that item's failure, except the manifest
        # itself failing: then nothing can be recorded, and the run ends.
        try:
            await self._generate(item)
        except sqlite3.Error:
            raise
        except Exception as exc:
            self._failed(item, exc)

    async def _generate(self, item: BatchItem) -> None:
        assert item.prompt is not None
        started = time.monotonic()
        try:
            response = await self.client.generate(item.prompt, model=item.model, **item.options)
        except asyncio.CancelledError:  # interrupted while waiting for the answer
            with contextlib.suppress(sqlite3.Error):
                self.manifest.release(item.key)
            raise
        finally:
            del self.in_flight[item.key]  # its answer is in: room for another request
            self.woken.set()
        usage = response.usage
        cost = float(usage.cost) if usage is not None and usage.cost is not None else None
        self.report.cost += cost or 0.0
        self.highest_cost = max(self.highest_cost, cost or 0.0)
        usage_data = usage.to_dict() if usage is not None else None
        self.report.tokens += (usage_data or {}).get("total_tokens") or 0
        latency = round(time.monotonic() - started, 3)
        images = response.images(strict=True)
        if not images:
            raise ImagegenError("the response held no image")
        for image in images:  # how long it took goes with it (the gallery shows it)
            if image.provenance is not None:
                extra = {**image.provenance.extra, "latency_s": latency}
                image.provenance = dataclasses.replace(image.provenance, extra=extra)
        files = [_file_name(item, index, image.extension) for index, image in enumerate(images)]
        # Paid: the writer thread finishes it, also when the run is interrupted now.
        self.storing[item.key] = (item, len(files))
        self.writer.put(
            _Paid(
                item.key, files, images, usage_data, cost, response.generation_id,
            )
        )  # fmt: skip

    def _collect(self) -> None:
        """Take in what the writer finished: items done, or failed on their files."""
        settled = self.writer.settled
        while settled:
            key, exc = settled.popleft()
            item, images = self.storing.pop(key)
            if isinstance(exc, sqlite3.Error):
                raise exc
            if exc is not None:
                self._failed(item, exc)
                continue
            self.requeued.pop(key, None)
            self.report.done += 1
            self.report.images += images
            self.report.concurrency = min(self.concurrency, self.report.concurrency + 1)

    def _failed(self, item: BatchItem, exc: Exception) -> None:
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(exc, RateLimitError) or (
            isinstance(exc, InsufficientCreditsError) and retry_after is not None
        ):
            self.report.concurrency = max(1, self.report.concurrency // 2)
            tries = self.requeued.get(item.key, 0) + 1
            if self.report.stopped is not None:
                self.manifest.release(item.key)  # left for the next run
                return
            if tries <= _RATE_LIMIT_RETRIES:
                self.requeued[item.key] = tries
                self.manifest.release(item.key)
                wait = retry_after if retry_after is not None else min(2.0**tries, 30.0)
                heapq.heappush(self.retries, (time.monotonic() + wait, item.line, item))
                return
        reason = _stop_reason(exc, self.directory)
        if reason is not None and not self.report.fatal:
            self.report.stopped, self.report.fatal = reason, True
        self.requeued.pop(item.key, None)
        message = _describe(exc)
        self.manifest.failed(item.key, message)
        self._count_failure(item, message)

    def _account_for_the_rest(self) -> None:
        """After a stop: the lines never read that were done before, or skippable duplicates."""
        for item in self.items:
            if item.duplicate_of is not None and item.error is None:
                self.report.duplicates += 1
            elif item.duplicate_of is None and self.manifest.is_done(item):
                self.report.before += 1


def _index_entry(item: BatchItem, manifest: Manifest) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": item.key,
        "prompt": item.prompt,
        "model": item.model,
        "options": {k: v for k, v in item.options.items() if k not in _HOW_SENT},
        "files": [],
        "status": "pending",
        "cost_usd": None,
        "generation_id": None,
        "error": item.error,
    }
    if item.duplicate_of is not None:
        entry["status"] = "failed" if item.error else "duplicate"
        entry["error"] = item.error or f"line {item.line} repeats line {item.duplicate_of}"
        return entry
    row = manifest.row(item.key)
    if row is None or row["inputs"] != item.inputs:
        return entry
    if row["state"] in ("done", "failed"):
        entry["status"] = row["state"]
    if row["state"] == "done":
        entry["files"] = json.loads(row["files"])
    entry |= {"cost_usd": row["cost"], "generation_id": row["generation_id"], "error": row["error"]}
    return entry


def write_index(
    source: Path,
    directory: Path,
    manifest: Manifest,
    default_model: str,
    default_options: Mapping[str, Any] | None = None,
) -> None:
    """`DIR/index.jsonl`: one line per line of the prompts file, replaced atomically."""
    fd, temporary = tempfile.mkstemp(prefix=".imagegen-", suffix=".tmp", dir=directory)
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), 0o666 & ~umask)  # for people: not private like a temporary
            for item in scan_prompts(source, default_model, default_options):
                file.write(json.dumps(_index_entry(item, manifest)) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, directory / INDEX_NAME)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


async def run_batch(
    source: Path,
    directory: Path,
    *,
    client: Any,
    default_model: str,
    default_options: Mapping[str, Any] | None = None,
    concurrency: int,
    report: BatchReport,
    on_progress: Callable[[BatchReport], None] = lambda report: None,
    rate: float | None = None,
    budget: float | None = None,
    estimate: Callable[[BatchItem], float | None] | None = None,
    metadata: bool = True,
    sidecar: bool = False,
) -> BatchReport:
    """Generate every item of the prompts file `source` not yet done, into `directory`.

    `client` is an open `AsyncImageClient`. At most `concurrency` requests
    run at once, fewer after a rate limit (halved, then regained one per
    success). With `budget` (USD), no item starts when this run's spending,
    the estimates of the items in flight and its own estimate (`estimate`,
    else the highest cost seen so far) would pass it. A bad key, a refusal,
    no credits or a full disk stop new items at once; those in flight finish.

    Raises `BlockingIOError` when another run holds the directory, and
    `ImagegenError` when the manifest is unusable. `report` is filled in
    place and also returned; `DIR/index.jsonl` is rewritten at the end,
    also when the run is cancelled. Each image carries its provenance (and its
    latency) unless `metadata=False`; `sidecar=True` also writes it beside.
    """
    started = time.monotonic()
    report.total = count_items(source)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        _remove_stale_temporaries(directory)
        manifest = Manifest(directory / MANIFEST_NAME)
        completed = False
        try:
            engine = _Engine(
                source, directory, manifest, client=client, default_model=default_model,
                default_options=default_options or {},
                concurrency=concurrency, rate=rate, budget=budget, estimate=estimate,
                report=report, on_progress=on_progress, metadata=metadata, sidecar=sidecar,
            )  # fmt: skip
            try:
                await engine.run()
                completed = True
            finally:
                report.seconds = time.monotonic() - started
                try:
                    write_index(source, directory, manifest, default_model, default_options)
                except (OSError, sqlite3.Error):
                    if completed:  # else the error already on its way matters more
                        raise
        except sqlite3.Error as exc:
            raise ImagegenError(f"the manifest {manifest.path} failed: {exc}") from exc
        finally:
            manifest.close()
    return report


# -- the dry run --------------------------------------------------------------------------------


@dataclass
class BatchPlan:
    """What `run_batch` would do, counted without sending anything."""

    total: int = 0
    to_generate: int = 0
    before: int = 0
    invalid: int = 0
    duplicates: int = 0
    cost: float = 0.0  # the sum of the estimates known
    unestimated: int = 0  # items to generate with no estimate


def plan_batch(
    source: Path,
    directory: Path,
    *,
    default_model: str,
    default_options: Mapping[str, Any] | None = None,
    estimate: Callable[[BatchItem], float | None] | None,
) -> BatchPlan:
    """Count the items and their estimated cost; reads the manifest if there is one."""
    path = directory / MANIFEST_NAME
    manifest = Manifest(path) if path.exists() else None
    plan = BatchPlan()
    try:
        for item in scan_prompts(source, default_model, default_options):
            plan.total += 1
            if item.duplicate_of is not None and item.error is None:
                plan.duplicates += 1
            elif item.error is not None:
                plan.invalid += 1
            elif manifest is not None and manifest.is_done(item):
                plan.before += 1
            else:
                plan.to_generate += 1
                known = _estimate_of(estimate, item)
                if known is None:
                    plan.unestimated += 1
                else:
                    plan.cost += known
    except sqlite3.Error as exc:
        raise ImagegenError(f"the manifest {path} failed: {exc}") from exc
    finally:
        if manifest is not None:
            manifest.close()
    return plan
