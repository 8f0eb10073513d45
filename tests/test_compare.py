"""`compare`: one prompt, three emulator models, two seeds, on the batch engine, then a gallery.

Run as the CLI in a subprocess against a real emulator: killed part way (kill -9),
then resumed, it pays for nothing twice and ends with a page comparing them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("PIL")

from openrouter_imagegen.emulator import run

# Three models that take a seed: per megapixel, tiered, and a chat model.
MODELS = [
    "black-forest-labs/flux-1.1-pro",
    "bytedance-seed/seedream-4.5",
    "google/gemini-2.5-flash-image",
]
SEEDS = "1,2"


def _command(out: Path) -> list[str]:
    models = [arg for model in MODELS for arg in ("-m", model)]
    return [
        sys.executable, "-m", "openrouter_imagegen.cli", "compare", "a red fox in fresh snow",
        *models, "--seeds", SEEDS, "--size", "64x64", "-o", str(out), "--concurrency", "2",
    ]  # fmt: skip


def _rows(out: Path) -> list[dict[str, object]]:
    db = sqlite3.connect(out / "manifest.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM items")]
    finally:
        db.close()


def test_compare_resumes_after_a_kill_and_writes_its_gallery(tmp_path: Path) -> None:
    out = tmp_path / "foxes"
    with run(faults=("slow",), fault_rate=1.0, slow_seconds=0.5) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
        env |= {"OPENROUTER_BASE_URL": url, "NO_COLOR": "1"}
        process = subprocess.Popen(
            _command(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        done: list[dict[str, object]] = []
        while time.monotonic() < deadline and len(done) < 2:
            time.sleep(0.1)
            if (out / "manifest.sqlite").exists():
                done = [row for row in _rows(out) if row["state"] == "done"]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        before = {str(row["key"]) for row in _rows(out) if row["state"] == "done"}
        assert 2 <= len(before) < 6
        resumed = subprocess.run(
            _command(out), env=env, capture_output=True, text=True, timeout=120
        )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    rows = _rows(out)
    assert len(rows) == 6
    assert all(row["state"] == "done" for row in rows)
    for row in rows:
        if row["key"] in before:
            assert row["attempts"] == 1  # done before the kill: not paid again
    keys = {f"{model}@{seed}" for model in MODELS for seed in SEEDS.split(",")}
    assert {str(row["key"]) for row in rows} == keys
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert {entry["options"].get("seed") for entry in index} == {1, 2}
    page = (out / "index.html").read_text(encoding="utf-8")
    assert all(model in page for model in MODELS)
    assert f"gallery: {out / 'index.html'}" in resumed.stdout


@pytest.mark.anyio
async def test_compare_models_does_the_same_from_python(tmp_path: Path) -> None:
    from openrouter_imagegen import AsyncImageClient, compare_models

    with run() as url:
        async with AsyncImageClient(base_url=url, api_key="") as client:
            report = await compare_models(
                "a lighthouse", MODELS[:2], tmp_path / "c", client=client, seeds=[3, 4],
                size="32x32",
            )  # fmt: skip
            again = await compare_models(
                "a lighthouse", MODELS[:2], tmp_path / "c", client=client, seeds=[3, 4],
                size="32x32",
            )  # fmt: skip
    assert (report.done, report.failed) == (4, 0)
    assert (again.done, again.before) == (0, 4)
    assert (tmp_path / "c" / "index.html").is_file()
