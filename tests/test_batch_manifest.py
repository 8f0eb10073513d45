"""The batch manifest's own invariants (the CLI tests drive it end to end)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from openrouter_imagegen.cli import _batch


def _tables(path: str | Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()


def test_the_manifest_file_appears_with_its_table_already_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_at_link: list[set[str]] = []
    real_link = os.link

    def link(source: str, target: str | Path) -> None:
        seen_at_link.append(_tables(source))  # what a reader would find the moment it appears
        real_link(source, target)

    monkeypatch.setattr(os, "link", link)
    manifest = _batch.Manifest(tmp_path / "manifest.sqlite")
    manifest.close()
    assert seen_at_link == [{"items"}]
    assert _tables(tmp_path / "manifest.sqlite") == {"items"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.sqlite"]


def test_an_existing_manifest_is_opened_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "manifest.sqlite"
    first = _batch.Manifest(path)
    first.add([_batch.BatchItem("k1", 1, "a prompt", {})])
    first.close()
    second = _batch.Manifest(path)
    try:
        assert [row["key"] for row in second.rows()] == ["k1"]
    finally:
        second.close()
