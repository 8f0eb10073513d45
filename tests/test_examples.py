"""The scripts in examples/ run, offline, against the emulator they start themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_quickstart(tmp_path: Path) -> None:
    result = run_example("quickstart.py", "a lighthouse", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (saved,) = tmp_path.iterdir()
    assert f"{saved}: image/png, 1024x1024" in result.stdout


def test_streaming(tmp_path: Path) -> None:
    result = run_example("streaming.py", "a castle", str(tmp_path))
    assert result.returncode == 0, result.stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"preview-0.png", "preview-1.png"} < names
    assert len(names) == 3
    assert "final image" in result.stdout


def test_async_many(tmp_path: Path) -> None:
    result = run_example("async_many.py", str(tmp_path), "a fox", "a whale", "an owl")
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.iterdir())) == 3
