"""The batch manifest's own invariants (tests/test_batch.py drives it end to end)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from openrouter_imagegen._exceptions import ImagegenError
from openrouter_imagegen.cli import _batch

MODEL = "openai/gpt-5-image"


def _tables(path: str | Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()


def _item(line: str, number: int = 1) -> _batch.BatchItem:
    return _batch._parse_line(number, line.encode(), MODEL)


def test_the_manifest_file_appears_with_its_tables_already_in_it(
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
    assert seen_at_link == [{"items", "history"}]
    assert _tables(tmp_path / "manifest.sqlite") == {"items", "history"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.sqlite"]


def test_an_existing_manifest_is_opened_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "manifest.sqlite"
    first = _batch.Manifest(path)
    item = _item('{"prompt": "a prompt", "id": "k1"}')
    assert first.admit(item) == "todo"
    first.close()
    second = _batch.Manifest(path)
    try:
        row = second.row("k1")
        assert row is not None and row["prompt"] == "a prompt"
        assert second.admit(item) == "todo"  # known, not done: still to do, not a new row
    finally:
        second.close()


def test_an_item_written_but_not_marked_done_is_adopted_only_with_all_its_files(
    tmp_path: Path,
) -> None:
    manifest = _batch.Manifest(tmp_path / "manifest.sqlite")
    item = _item('"a lamp"')
    manifest.admit(item)
    manifest.start(item.key)
    files = ["a-lamp-0.png", "a-lamp-1.png"]
    manifest.writing(item.key, files, {"total_tokens": 5}, 0.08, "gen-1")
    (tmp_path / files[0]).write_bytes(b"png")
    assert manifest.admit(item) == "todo"  # one file missing: generated again
    (tmp_path / files[1]).write_bytes(b"png")
    assert manifest.admit(item) == "adopted"
    row = manifest.row(item.key)
    assert row is not None
    assert (row["state"], json.loads(row["files"]), row["cost"]) == ("done", files, 0.08)
    assert manifest.admit(item) == "done"
    manifest.close()


def test_changed_inputs_move_the_old_row_to_the_history(tmp_path: Path) -> None:
    manifest = _batch.Manifest(tmp_path / "manifest.sqlite")
    old = _item('{"id": "cat", "prompt": "a cat"}')
    manifest.admit(old)
    manifest.writing("cat", ["a-cat-cat-0.png"], None, 0.04, "gen-1")
    manifest.done("cat")
    new = _item('{"id": "cat", "prompt": "a black cat", "size": "32x32"}', number=5)
    assert manifest.admit(new) == "changed"
    row = manifest.row("cat")
    assert row is not None
    assert (row["prompt"], row["state"], row["files"], row["line"]) == (
        "a black cat", "pending", "[]", 5,
    )  # fmt: skip
    assert json.loads(row["options"]) == {"size": "32x32"}
    assert manifest.superseded_files("cat", ["a-black-cat-cat-0.png"]) == {"a-cat-cat-0.png"}
    assert manifest.superseded_files("cat", ["a-cat-cat-0.png"]) == set()
    history = manifest.db.execute("SELECT prompt, state, files, cost FROM history").fetchall()
    assert history == [("a cat", "done", '["a-cat-cat-0.png"]', 0.04)]
    manifest.close()


def test_a_manifest_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifest.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE items (key TEXT PRIMARY KEY)")
    db.close()
    with pytest.raises(ImagegenError, match=r"has manifest schema 0, .* reads schema 2 only"):
        _batch.Manifest(path)
    assert _tables(path) == {"items"}  # not touched


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifest.sqlite"
    path.write_bytes(b"\x00garbage" * 512)
    with pytest.raises(ImagegenError, match=r"cannot read the manifest .*file is not a database"):
        _batch.Manifest(path)
