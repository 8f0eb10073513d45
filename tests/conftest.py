"""Shared fixtures. The reference specs live beside the repository in CI
(`../shared/reference`), not in a user's clone: tests that read them skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_reference_spec(name: str) -> Any:
    """The parsed OpenAPI snapshot `name`, or a skip when ../shared is absent."""
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"reference spec {path} is absent (it ships beside the repo in CI only)")
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))
