"""The command line as users run it: a subprocess, with only the environment it is given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    *args: str,
    base_url: str | None = None,
    key: str | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`openrouter-imagegen ARGS`, with none of this shell's OPENROUTER_* variables
    but the base URL and key given, and no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["NO_COLOR"] = "1"
    if key is not None:
        env["OPENROUTER_API_KEY"] = key
    if base_url is not None:
        env["OPENROUTER_BASE_URL"] = base_url
    return subprocess.run(
        [sys.executable, "-m", "openrouter_imagegen.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        timeout=timeout,
    )
