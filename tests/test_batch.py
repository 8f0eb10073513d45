"""The batch engine and command, run against the real emulator on 127.0.0.1.

The command runs as a subprocess; the engine runs in-process where a test
must reach inside it (a crash at a chosen step, a client that misbehaves).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("click")
pytest.importorskip("starlette")

from openrouter_imagegen.cli import _batch
from openrouter_imagegen.client import AsyncImageClient
from openrouter_imagegen.emulator import run

MODEL = "openai/gpt-5-image"
SMALL = {"size": "32x32"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run() as url:
        yield url


def _env(base_url: str, key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["NO_COLOR"] = "1"
    env["OPENROUTER_BASE_URL"] = base_url
    if key is not None:
        env["OPENROUTER_API_KEY"] = key
    return env


def _command(prompts: Path, out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "openrouter_imagegen.cli", "batch", str(prompts), "-o", str(out),
            *args]  # fmt: skip


def batch_cli(
    prompts: Path,
    out: Path,
    *args: str,
    base_url: str,
    key: str | None = "sk-or-batch-test",
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(prompts, out, *args),
        capture_output=True,
        text=True,
        env=_env(base_url, key),
        timeout=120,
        preexec_fn=preexec_fn,
    )


def write_prompts(path: Path, lines: list[Any]) -> Path:
    """Each entry a line: a str as it is, anything else as JSON."""
    path.write_text("".join((ln if isinstance(ln, str) else json.dumps(ln)) + "\n" for ln in lines))
    return path


def _manifest(directory: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(directory / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM items ORDER BY line"))
    finally:
        db.close()


def _rows(directory: Path) -> dict[str, sqlite3.Row]:
    return {row["key"]: row for row in _manifest(directory)}


def _history(directory: Path) -> list[sqlite3.Row]:
    db = sqlite3.connect(directory / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return list(db.execute("SELECT * FROM history"))
    finally:
        db.close()


def _image_files(directory: Path) -> set[str]:
    others = {"index.jsonl", ".imagegen.lock", "index.html", ".thumbs"}  # and the gallery
    return {
        p.name
        for p in directory.iterdir()
        if not p.name.startswith("manifest.sqlite") and p.name not in others
    }


def _index(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "index.jsonl").read_text().splitlines()]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _dead_url() -> str:
    """A base URL where nothing listens: any request to it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


def _wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _done_count(out: Path) -> int:
    if not (out / "manifest.sqlite").exists():
        return 0
    return sum(row["state"] == "done" for row in _manifest(out))


# -- volume, kills and interrupts -------------------------------------------------------------


def test_batch_of_200_with_faults_ends_with_every_item_accounted_for(tmp_path: Path) -> None:
    lines: list[Any] = [{"prompt": f"picture {i}", **SMALL, "id": f"p{i:03d}"} for i in range(197)]
    lines += ['"a plain string prompt"', "{not json", {"prompt": ""}]
    prompts = write_prompts(tmp_path / "prompts.jsonl", lines)
    out = tmp_path / "out"
    faults = ("429", "500", "502", "503", "failed", "truncate", "reset")
    with run(faults=faults, fault_rate=0.2, seed=11, retry_after=0) as url:
        first = batch_cli(prompts, out, "--concurrency", "16", "--max-retries", "1", base_url=url)
        rows = _manifest(out)
        assert len(rows) == 200
        assert {row["state"] for row in rows} <= {"done", "failed"}
        failed = [row for row in rows if row["state"] == "failed"]
        assert all(row["error"] for row in failed)
        assert len(failed) >= 2  # the two invalid lines at least
        assert first.returncode == 1
        assert "failed" in first.stdout
        second = batch_cli(prompts, out, "--concurrency", "16", "--max-retries", "5", base_url=url)
    rows = _manifest(out)
    done = [row for row in rows if row["state"] == "done"]
    still_failed = [row for row in rows if row["state"] == "failed"]
    assert {row["line"] for row in still_failed} >= {199, 200}  # the invalid lines
    assert len(done) >= 195
    expected_files = {name for row in done for name in json.loads(row["files"])}
    assert _image_files(out) == expected_files
    assert second.returncode == 1  # the invalid lines stay failed
    assert len(_index(out)) == 200


def test_batch_survives_kill_9_and_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "prompts.jsonl", [json.dumps(f"slow picture {i}") for i in range(24)]
    )
    out = tmp_path / "out"
    command = _command(prompts, out, "--concurrency", "4")
    with run(faults=("slow",), fault_rate=1.0, slow_seconds=0.5) as url:
        process = subprocess.Popen(
            command, env=_env(url, None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_for(lambda: _done_count(out) >= 6, seconds=60)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        killed_rows = _manifest(out)
        done_before = {
            r["key"]: json.loads(r["files"]) for r in killed_rows if r["state"] == "done"
        }
        assert 6 <= len(done_before) < 24
        for files in done_before.values():
            assert all((out / name).exists() for name in files)
        resumed = subprocess.run(
            command, env=_env(url, None), capture_output=True, text=True, timeout=120
        )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = _manifest(out)
    assert all(row["state"] == "done" for row in rows)
    assert len(rows) == 24
    for row in rows:
        if row["key"] in done_before:
            assert json.loads(row["files"]) == done_before[row["key"]]
            assert row["attempts"] == 1  # finished before the kill: not generated again
    expected = {name for row in rows for name in json.loads(row["files"])}
    assert _image_files(out) == expected  # nothing lost, nothing duplicated, no temporaries
    assert f"{len(done_before)} done before" in resumed.stdout


def test_ctrl_c_prints_the_summary_writes_the_index_and_exits_130(tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"dusk {i}", **SMALL} for i in range(12)]
    )
    out = tmp_path / "out"
    with run(faults=("slow",), fault_rate=1.0, slow_seconds=0.5) as url:
        process = subprocess.Popen(
            _command(prompts, out, "--concurrency", "2"),
            env=_env(url, None),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(lambda: (out / "manifest.sqlite").exists())
        started = time.monotonic()
        # Long enough for a plain progress line (every 2 s when stderr is no terminal).
        _wait_for(lambda: _done_count(out) >= 2 and time.monotonic() - started > 2.5)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().endswith("interrupted")
    summary = re.search(
        r"12 items: (\d+) done now, .* (\d+) not started;.* cost \$(\d+\.\d{4})", stdout
    )
    assert summary, stdout
    done_now, not_started = int(summary[1]), int(summary[2])
    assert done_now >= 2 and not_started >= 1
    assert float(summary[3]) == pytest.approx(0.04 * done_now)
    assert re.search(
        r"^batch: \d+/12 done, 0 failed, concurrency 2, \d+\.\d images/s$", stderr, re.M
    )
    index = _index(out)
    assert len(index) == 12
    assert sum(entry["status"] == "done" for entry in index) == _done_count(out) == done_now
    assert sum(entry["status"] == "pending" for entry in index) == 12 - done_now


# -- the lock -------------------------------------------------------------------------------------


def test_a_second_batch_on_the_same_directory_exits_2_at_once(tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"owl {i}", **SMALL} for i in range(3)]
    )
    out = tmp_path / "out"
    lock = out / ".imagegen.lock"
    with run(faults=("slow",), fault_rate=1.0, slow_seconds=1.0) as url:
        first = subprocess.Popen(
            _command(prompts, out, "--concurrency", "1"),
            env=_env(url, None),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
        planted = out / ".imagegen-planted.tmp"  # as if the first run were writing it
        planted.write_bytes(b"half an image")
        started = time.monotonic()
        second = batch_cli(prompts, out, base_url=url)
        assert time.monotonic() - started < 15
        assert first.poll() is None  # the first was still running all along
        assert second.returncode == 2
        assert second.stderr.strip() == f"error: {out} is in use by another batch (pid {first.pid})"
        assert second.stdout == ""
        assert planted.exists()  # temporaries are removed only by the holder of the lock
        _, first_err = first.communicate(timeout=60)
    assert first.returncode == 0, first_err
    third = batch_cli(prompts, out, base_url=_dead_url())
    assert third.returncode == 0, third.stderr
    assert not planted.exists()


# -- keys ------------------------------------------------------------------------------------------


def test_items_are_keyed_by_content_not_by_line(server: str, tmp_path: Path) -> None:
    fox = {"prompt": "a red fox in snow", **SMALL}
    kite = {"id": "kite", "prompt": "a blue kite", **SMALL}
    prompts = write_prompts(tmp_path / "p.jsonl", [fox, kite])
    out = tmp_path / "out"
    assert batch_cli(prompts, out, base_url=server).returncode == 0
    first = _rows(out)
    (fox_key,) = set(first) - {"kite"}
    assert re.fullmatch(r"[0-9a-f]{16}", fox_key)
    assert json.loads(first[fox_key]["files"]) == [f"a-red-fox-in-snow-{fox_key}-0.png"]
    assert json.loads(first["kite"]["files"]) == ["a-blue-kite-kite-0.png"]

    # Reordered, with a line inserted: only the new line is generated.
    owl = {"prompt": "an owl", **SMALL}
    write_prompts(prompts, [owl, kite, fox])
    second = batch_cli(prompts, out, base_url=server)
    assert second.returncode == 0, second.stderr
    assert "1 done now, 2 done before" in second.stdout
    rows = _rows(out)
    assert rows[fox_key]["attempts"] == rows["kite"]["attempts"] == 1

    # An edited line without an id is a new item; the old one stays as it was.
    edited_fox = {**fox, "prompt": "a red fox in the snow"}
    write_prompts(prompts, [owl, kite, edited_fox])
    third = batch_cli(prompts, out, base_url=server)
    assert "1 done now, 2 done before" in third.stdout
    assert len(_rows(out)) == 4
    assert (out / f"a-red-fox-in-snow-{fox_key}-0.png").exists()

    # The same id with other inputs: regenerated, reported, the old inputs kept in the history.
    old_kite = (out / "a-blue-kite-kite-0.png").read_bytes()
    green_kite = {**kite, "prompt": "a green kite"}
    write_prompts(prompts, [owl, green_kite, edited_fox])
    fourth = batch_cli(prompts, out, base_url=server)
    assert fourth.returncode == 0, fourth.stderr
    assert "1 done now, 2 done before, 0 adopted, 1 changed" in fourth.stdout
    assert "changed kite (line 2)" in fourth.stdout
    kite_row = _rows(out)["kite"]
    assert (kite_row["prompt"], kite_row["state"]) == ("a green kite", "done")
    assert json.loads(kite_row["files"]) == ["a-green-kite-kite-0.png"]
    assert (out / "a-green-kite-kite-0.png").read_bytes() != old_kite
    assert not (out / "a-blue-kite-kite-0.png").exists()  # replaced, not left beside it
    (history,) = _history(out)
    assert (history["key"], history["prompt"], history["state"]) == ("kite", "a blue kite", "done")
    assert json.loads(history["files"]) == ["a-blue-kite-kite-0.png"]
    assert history["replaced_at"] > 0
    kite_entry = next(entry for entry in _index(out) if entry["key"] == "kite")
    assert kite_entry["files"] == ["a-green-kite-kite-0.png"]


def test_duplicates_are_reported_and_never_overwrite_each_other(
    server: str, tmp_path: Path
) -> None:
    fox = {"prompt": "a fox", **SMALL}
    prompts = write_prompts(
        tmp_path / "p.jsonl",
        [
            fox,
            {"id": "x", "prompt": "a hat", **SMALL},
            fox,
            {"id": "x", "prompt": "a cap", **SMALL},
        ],
    )
    out = tmp_path / "out"
    result = batch_cli(prompts, out, base_url=server)
    assert result.returncode == 1  # the conflicting id is a failure
    assert "warning: line 3 repeats line 1: skipped" in result.stderr
    assert "warning: line 4: id 'x' is already used by line 2 with other inputs" in result.stderr
    assert "2 done now, 0 done before, 0 adopted, 0 changed, 1 duplicate, 1 failed" in result.stdout
    rows = _rows(out)
    assert len(rows) == 2
    assert rows["x"]["prompt"] == "a hat"
    index = _index(out)
    assert [entry["status"] for entry in index] == ["done", "done", "duplicate", "failed"]
    assert set(index[0]) == {
        "key", "prompt", "model", "options", "files", "status", "cost_usd", "generation_id",
        "error",
    }  # fmt: skip
    assert index[0]["key"] == index[2]["key"]
    assert index[2]["files"] == [] and index[0]["files"] == json.loads(
        rows[index[0]["key"]]["files"]
    )
    assert index[1]["cost_usd"] == pytest.approx(0.04)
    assert index[1]["generation_id"].startswith("gen")
    assert "line 2" in index[3]["error"]


def test_a_manifest_of_the_old_schema_is_refused(server: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    old = sqlite3.connect(out / "manifest.sqlite")
    old.execute("CREATE TABLE items (key TEXT PRIMARY KEY, line INTEGER NOT NULL, prompt TEXT)")
    old.execute("INSERT INTO items VALUES ('k', 1, 'a cat')")
    old.commit()
    old.close()
    prompts = write_prompts(tmp_path / "p.jsonl", [{"prompt": "a cat", **SMALL}])
    result = batch_cli(prompts, out, base_url=server)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "schema 0" in line and "move it away" in line
    assert [row["key"] for row in _manifest(out)] == ["k"]  # left as it was


# -- nothing paid is lost -----------------------------------------------------------------------

_CRASH_AFTER_WRITING = """
import asyncio, os, sys
from pathlib import Path
from openrouter_imagegen.cli import _batch
from openrouter_imagegen.client import AsyncImageClient

def die(self, key):
    os._exit(3)  # as a kill would: the image is written, the row not yet marked done

_batch.Manifest.done = die

async def main():
    async with AsyncImageClient(base_url=sys.argv[3], api_key="k", max_retries=0) as client:
        await _batch.run_batch(
            Path(sys.argv[1]), Path(sys.argv[2]), client=client,
            default_model="openai/gpt-5-image", concurrency=1, report=_batch.BatchReport(),
        )

asyncio.run(main())
"""


def test_an_image_written_but_not_recorded_is_adopted_not_paid_again(
    server: str, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path / "p.jsonl", [{"prompt": "a lighthouse", **SMALL}])
    out = tmp_path / "out"
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASH_AFTER_WRITING, str(prompts), str(out), server],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert crashed.returncode == 3, crashed.stderr
    (row,) = _manifest(out)
    assert row["state"] == "writing"
    (name,) = json.loads(row["files"])
    image = out / name
    before = (image.stat().st_ino, image.stat().st_mtime_ns, image.read_bytes())
    # Nothing listens at the resume's base URL: any generation request would fail the item.
    resumed = batch_cli(prompts, out, "--max-retries", "0", base_url=_dead_url())
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "0 done now, 0 done before, 1 adopted" in resumed.stdout
    (row_after,) = _manifest(out)
    assert row_after["state"] == "done"
    assert row_after["attempts"] == 1
    assert (row_after["generation_id"], row_after["cost"]) == (row["generation_id"], row["cost"])
    assert (image.stat().st_ino, image.stat().st_mtime_ns, image.read_bytes()) == before
    assert _index(out)[0]["files"] == [name]


# -- failures contained ---------------------------------------------------------------------------


def test_an_item_that_cannot_be_written_fails_alone(server: str, tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl",
        [{"id": key, "prompt": f"a {key} kite", **SMALL} for key in ("red", "blue", "gold")],
    )
    out = tmp_path / "out"
    (out / "a-blue-kite-blue-0.png").mkdir(parents=True)  # a directory where the image goes
    result = batch_cli(prompts, out, base_url=server)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    rows = _rows(out)
    assert (rows["red"]["state"], rows["blue"]["state"], rows["gold"]["state"]) == (
        "done", "failed", "done",
    )  # fmt: skip
    assert "directory" in rows["blue"]["error"].lower()
    assert "failed blue: " in result.stdout


class _Refusing:
    """A client whose `generate` raises a plain `ValueError` for one prompt."""

    def __init__(self, client: AsyncImageClient) -> None:
        self.client = client

    async def generate(self, prompt: str, **options: Any) -> Any:
        if "boom" in prompt:
            raise ValueError("this prompt is cursed")
        return await self.client.generate(prompt, **options)


@pytest.mark.anyio
async def test_any_exception_in_one_item_fails_that_item_only(server: str, tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": p, **SMALL} for p in ("a sun", "boom", "a moon")]
    )
    report = _batch.BatchReport()
    async with AsyncImageClient(base_url=server, api_key="k") as client:
        await _batch.run_batch(
            prompts, tmp_path / "out", client=_Refusing(client), default_model=MODEL,
            concurrency=2, report=report,
        )  # fmt: skip
    assert (report.done, report.failed, report.stopped) == (2, 1, None)
    ((_, reason),) = report.failures
    assert reason == "ValueError: this prompt is cursed"
    failed = [row for row in _manifest(tmp_path / "out") if row["state"] == "failed"]
    assert [row["prompt"] for row in failed] == ["boom"]


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (80_000, 80_000))  # the manifest fits


def test_a_full_disk_stops_the_batch_cleanly_and_keeps_what_was_paid(
    server: str, tmp_path: Path
) -> None:
    small = {"prompt": "a pebble", **SMALL}
    prompts = write_prompts(tmp_path / "p.jsonl", [small])
    out = tmp_path / "out"
    assert batch_cli(prompts, out, base_url=server).returncode == 0
    (kept,) = _image_files(out)
    kept_bytes = (out / kept).read_bytes()
    big = [{"prompt": f"a mountain {i}", "size": "2048x2048"} for i in range(3)]  # ~100 kB each
    write_prompts(prompts, [small, *big])
    result = batch_cli(
        prompts, out, "--concurrency", "1", base_url=server, preexec_fn=_limit_file_size
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = _error_lines(result.stderr)
    assert re.fullmatch(
        r"error: stopped: cannot write to .*: File too large; 2 items not attempted", line
    )
    assert (out / kept).read_bytes() == kept_bytes
    states = [row["state"] for row in _manifest(out)]
    assert states.count("done") == 1 and states.count("failed") == 1


@contextlib.contextmanager
def _read_only(directory: Path) -> Iterator[None]:
    """No new entries in `directory`: chattr +i for root (whom modes do not stop), else chmod."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: no way to make a directory read-only")
        made = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"chattr +i failed here: {made.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(0o755)


def test_a_read_only_directory_is_one_clear_error(server: str, tmp_path: Path) -> None:
    first_line = {"prompt": "a pine", **SMALL}
    prompts = write_prompts(tmp_path / "p.jsonl", [first_line])
    out = tmp_path / "out"
    assert batch_cli(prompts, out, base_url=server).returncode == 0
    before = {name: (out / name).read_bytes() for name in _image_files(out)}
    write_prompts(prompts, [first_line, {"prompt": "an oak", **SMALL}])
    with _read_only(out):
        result = batch_cli(prompts, out, base_url=server)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and str(out) in line
    assert {name: (out / name).read_bytes() for name in _image_files(out)} == before


def test_a_corrupt_manifest_is_one_clear_error(server: str, tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "p.jsonl", [{"prompt": "a kettle", **SMALL}])
    out = tmp_path / "out"
    assert batch_cli(prompts, out, base_url=server).returncode == 0
    images = {name: (out / name).read_bytes() for name in _image_files(out)}
    (out / "manifest.sqlite").write_bytes(b"this is no database at all " * 400)
    result = batch_cli(prompts, out, base_url=server)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == (
        f"error: cannot read the manifest {out / 'manifest.sqlite'} (file is not a database); "
        "if it is damaged, move it away to start over (the images beside it are kept)"
    )
    assert {name: (out / name).read_bytes() for name in _image_files(out)} == images


def test_an_output_path_that_is_a_file_is_one_clear_error(tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "p.jsonl", [json.dumps("a cloud")])
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = batch_cli(prompts, blocker / "out", base_url=_dead_url())
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and str(blocker) in line


# -- stopping ----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["401", "402", "403"])
def test_a_fatal_answer_stops_new_items_at_once(answer: str, tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"tree {i}", **SMALL} for i in range(10)]
    )
    out = tmp_path / "out"
    concurrency = 3
    emulator = run(api_key="right") if answer == "401" else run(faults=(answer,), fault_rate=1.0)
    with emulator as url:
        result = batch_cli(
            prompts, out, "--concurrency", str(concurrency), base_url=url, key="wrong"
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = _error_lines(result.stderr)
    reason = {"401": "the API key was refused", "402": "out of credits", "403": "permission denied"}
    stopped = re.fullmatch(
        rf"error: stopped: {reason[answer]} \({answer}: .*\); (\d+) items not attempted", line
    )
    assert stopped, line
    rows = _manifest(out)
    attempts = sum(row["attempts"] for row in rows)
    assert 1 <= attempts <= concurrency
    assert int(stopped[1]) == 10 - attempts
    assert all(row["state"] == "failed" for row in rows if row["attempts"])


@pytest.mark.anyio
async def test_rate_limits_lower_the_concurrency_and_the_items_are_retried(
    tmp_path: Path,
) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"bird {i}", **SMALL} for i in range(8)]
    )
    seen: list[int] = []
    report = _batch.BatchReport()
    # Every distinct request is refused with a 429 the first time only.
    with run(retry_after=0) as url:
        async with AsyncImageClient(
            base_url=url, api_key="k", max_retries=0, default_headers={"X-Emulator-Fault": "429*1"}
        ) as client:
            await _batch.run_batch(
                prompts, tmp_path / "out", client=client, default_model=MODEL, concurrency=4,
                report=report, on_progress=lambda r: seen.append(r.concurrency),
            )  # fmt: skip
    assert (report.done, report.failed, report.stopped) == (8, 0, None)
    assert [row["attempts"] for row in _manifest(tmp_path / "out")] == [2] * 8
    assert min(seen) == 1
    lowest = seen.index(1)
    assert max(seen[lowest:]) > 1  # regained after successes


def test_the_budget_stops_the_batch_without_an_error(server: str, tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"coin {i}", **SMALL} for i in range(5)]
    )
    out = tmp_path / "out"
    result = batch_cli(prompts, out, "--budget", "0.1", "--concurrency", "1", base_url=server)
    assert result.returncode == 0, result.stderr
    done = sum(row["state"] == "done" for row in _manifest(out))
    assert 1 <= done <= 2  # at $0.04 each, a third would pass $0.10
    assert _error_lines(result.stderr) == []
    assert (
        f"stopped: budget of $0.1000 reached (${0.04 * done:.4f} spent); "
        f"{5 - done} items not attempted"
    ) in result.stderr
    assert f"cost ${0.04 * done:.4f}" in result.stdout


@pytest.mark.anyio
async def test_the_budget_counts_the_estimates_of_items_in_flight(
    server: str, tmp_path: Path
) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl", [{"prompt": f"gem {i}", **SMALL} for i in range(6)]
    )
    report = _batch.BatchReport()
    async with AsyncImageClient(base_url=server, api_key="k") as client:
        await _batch.run_batch(
            prompts, tmp_path / "out", client=client, default_model=MODEL, concurrency=4,
            report=report, budget=0.1, estimate=lambda item: 0.05,
        )  # fmt: skip
    # Two estimates of $0.05 fill the budget before anything is spent: no third starts.
    assert (report.done, report.not_started) == (2, 4)
    assert report.stopped == "budget of $0.1000 reached ($0.0800 spent)"
    assert not report.fatal


def test_a_dry_run_counts_and_sends_nothing(tmp_path: Path) -> None:
    prompts = write_prompts(
        tmp_path / "p.jsonl",
        [json.dumps("a fern"), json.dumps("a fern"), "{broken", {"prompt": "moss", **SMALL}],
    )
    out = tmp_path / "out"
    result = batch_cli(prompts, out, "--dry-run", base_url=_dead_url())
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first == "4 items: 2 to generate, 0 done before, 1 invalid, 1 duplicate"
    assert second == "cost: unknown (no estimate available)" or second.startswith(
        "estimated cost: $"
    )
    assert not out.exists()


def test_plan_batch_skips_what_is_done_and_sums_the_estimates(server: str, tmp_path: Path) -> None:
    prompts = write_prompts(tmp_path / "p.jsonl", [{"prompt": "a leaf", **SMALL}])
    out = tmp_path / "out"
    assert batch_cli(prompts, out, base_url=server).returncode == 0
    write_prompts(
        prompts, [{"prompt": "a leaf", **SMALL}, json.dumps("a twig"), json.dumps("a root")]
    )
    estimates = {"a twig": 0.25, "a root": None}
    plan = _batch.plan_batch(
        prompts, out, default_model=MODEL, estimate=lambda item: estimates[item.prompt or ""]
    )
    assert (plan.total, plan.to_generate, plan.before) == (3, 2, 1)
    assert (plan.cost, plan.unestimated) == (0.25, 1)


# -- lines, keys and names -------------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_any_line_parses_to_an_item_or_an_error(raw: bytes) -> None:
    item = _batch._parse_line(7, raw, MODEL)
    assert item.key
    assert (item.error is None) == (item.prompt is not None)
    if item.error is not None:
        assert item.error.startswith("line 7: ")


_options = st.fixed_dictionaries(
    {},
    optional={
        "size": st.sampled_from(["32x32", "1024x1024"]),
        "quality": st.sampled_from(["low", "high"]),
        "n": st.integers(1, 4),
        "model": st.sampled_from(["a/b", "c/d"]),
    },
)


@given(st.text(min_size=1).filter(str.strip), _options, st.randoms())
def test_the_key_depends_on_content_not_on_its_spelling(
    prompt: str, options: dict[str, Any], shuffle: Any
) -> None:
    fields = [("prompt", prompt), *options.items()]
    shuffle.shuffle(fields)
    compact = json.dumps(dict(fields), separators=(",", ":")).encode()
    spaced = json.dumps(dict(reversed(fields)), indent=2).replace("\n", " ").encode()
    one, other = _batch._parse_line(1, compact, MODEL), _batch._parse_line(9, spaced, MODEL)
    assert one.error is None
    assert one.key == other.key and re.fullmatch(r"[0-9a-f]{16}", one.key)
    assert (
        _batch._parse_line(1, json.dumps({**dict(fields), "id": "mine"}).encode(), MODEL).key
        == "mine"
    )
    changed = _batch._parse_line(
        1, json.dumps({**dict(fields), "prompt": prompt + "!"}).encode(), MODEL
    )
    assert changed.key != one.key


@given(st.text(max_size=300))
def test_the_slug_is_short_lowercase_ascii(prompt: str) -> None:
    slug = _batch._slug(prompt)
    assert 1 <= len(slug) <= 40
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)


def test_file_names_read_like_the_prompt() -> None:
    item = _batch._parse_line(1, b'{"prompt": "A Red Fox, in snow!", "id": "f/1"}', MODEL)
    name = _batch._file_name(item, 0, "png")
    assert name.startswith("a-red-fox-in-snow-f_1-0-") and name.endswith(".png")  # id made safe
    long = _batch._parse_line(1, json.dumps("Crème brûlée " * 20).encode(), MODEL)
    assert (
        _batch._file_name(long, 2, "webp")
        == f"creme-brulee-creme-brulee-creme-brulee-{long.key}-2.webp"
    )
