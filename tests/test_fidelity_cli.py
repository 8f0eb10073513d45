"""`extract` and `inspect` on what servers really send, run as a subprocess.

Every file here is written by the test (no server is needed): captures in
each route's format and line ending, JSONL recordings of events, and bodies
that hold no image for a reason the commands must say.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("click")
pytest.importorskip("rich")

from openrouter_imagegen.stream import encode_event


def _png(shade: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (12, 6), (shade, 60, 90)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


IMAGE, PARTIAL = _png(220), _png(30)
CALL = {"type": "image_generation_call", "id": "ig_cli", "status": "completed", "result": IMAGE}
MESSAGE = {
    "type": "message",
    "id": "msg_cli",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Done.", "annotations": []}],
}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "openrouter_imagegen.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def sse(objects: list[Any]) -> bytes:
    return b"".join(encode_event(json.dumps(obj)) for obj in objects)


def envelope(status: str, output: list[Any], **fields: Any) -> dict[str, Any]:
    return {"id": "resp_cli", "object": "response", "status": status, "output": output, **fields}


def responses_events(final_output: list[Any]) -> list[dict[str, Any]]:
    partial = {
        "type": "response.image_generation_call.partial_image",
        "item_id": "ig_cli",
        "output_index": 0,
        "partial_image_b64": PARTIAL,
        "partial_image_index": 0,
    }
    return [
        {"type": "response.created", "response": envelope("in_progress", [])},
        partial,
        {"type": "response.output_item.done", "output_index": 0, "item": CALL},
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE},
        {"type": "response.completed", "response": envelope("completed", final_output)},
    ]


def chat_body(content: Any, **message: Any) -> dict[str, Any]:
    return {
        "id": "gen-cli",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "stop",
            }
        ],
    }


def write(folder: Path, name: str, data: bytes | str | dict[str, Any]) -> Path:
    path = folder / name
    if isinstance(data, dict):
        data = json.dumps(data)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


NO_IMAGE: dict[str, tuple[Any, str]] = {
    "error-body.json": (
        {"error": {"code": 429, "message": "Rate limit exceeded"}},
        "the server reported an error (429): Rate limit exceeded",
    ),
    "failed-response.json": (
        envelope("failed", [], error={"code": "server_error", "message": "image model crashed"}),
        "the generation failed (server_error): image model crashed",
    ),
    "failed-stream.sse": (
        sse(
            [
                {"type": "response.created", "response": envelope("in_progress", [])},
                {"type": "error", "error": {"code": "moderation", "message": "Prompt refused"}},
            ]
        ),
        "(moderation): Prompt refused",
    ),
    "failed-chat.json": (
        {**chat_body(None), "error": {"code": 502, "message": "Provider returned error"}},
        "the generation failed (502): Provider returned error",
    ),
    "text-only-chat.json": (
        chat_body([{"type": "text", "text": "I cannot draw that."}]),
        "no image, only text: 'I cannot draw that.'",
    ),
}


@pytest.mark.parametrize("name", list(NO_IMAGE))
def test_a_file_without_an_image_says_why_and_exits_1(name: str, tmp_path: Path) -> None:
    content, reason = NO_IMAGE[name]
    path = write(tmp_path, name, content)
    result = cli("extract", str(path), "-o", str(tmp_path / "out"))
    assert result.returncode == 1
    assert f"{path}: 0 image(s) extracted" in result.stdout
    assert reason in result.stdout
    assert "error: no image was extracted" in result.stderr
    assert "Traceback" not in result.stderr
    inspected = cli("inspect", str(path))
    assert inspected.returncode == 1
    assert f"{path} holds no image" in inspected.stderr
    assert reason in inspected.stderr


def test_one_file_with_an_image_among_failures_exits_0(tmp_path: Path) -> None:
    good = write(tmp_path, "good.sse", sse(responses_events([CALL, MESSAGE])))
    bad = write(tmp_path, "bad.json", NO_IMAGE["error-body.json"][0])
    result = cli("extract", str(bad), str(good), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert f"{good}: 1 image(s) extracted" in result.stdout
    assert "Rate limit exceeded" in result.stdout


@pytest.mark.parametrize(
    "shape", ["lf", "crlf", "crlf-ending-without-blank-line", "no-final-newline", "jsonl"]
)
def test_captures_in_every_shape_are_extracted_with_their_partials(
    shape: str, tmp_path: Path
) -> None:
    events = responses_events([CALL, MESSAGE])
    lf = sse(events)
    data = {
        "lf": lf,
        "crlf": lf.replace(b"\n", b"\r\n"),
        "crlf-ending-without-blank-line": lf.replace(b"\n", b"\r\n")[:-2],
        "no-final-newline": lf.rstrip(b"\n"),
        "jsonl": b"\r\n".join(json.dumps(event).encode() for event in events),
    }[shape]
    path = write(tmp_path, f"capture.{shape}", data)
    out = tmp_path / "out"
    result = cli("extract", str(path), "-o", str(out), "--partials")
    assert result.returncode == 0, result.stderr
    assert f"{path}: 2 image(s) extracted, 0 skipped" in result.stdout
    assert len([p for p in out.iterdir() if ".partial-" in p.name]) == 1
    assert result.stderr == ""


def test_a_chat_capture_with_content_parts_is_extracted(tmp_path: Path) -> None:
    url = f"data:image/png;base64,{IMAGE}"
    chunk: dict[str, Any] = {"id": "gen-cli", "object": "chat.completion.chunk", "choices": []}
    parts = [{"type": "text", "text": "Here."}, {"type": "image_url", "image_url": {"url": url}}]
    data = sse(
        [
            {**chunk, "choices": [{"index": 0, "delta": {"content": parts}}]},
            {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
    )
    path = write(tmp_path, "chat.sse", data + b"data: [DONE]")  # no blank line after [DONE]
    result = cli("inspect", str(path), "--json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["calls"]
    assert row["id"] == "gen-cli-content-image-0"
    assert (row["media_type"], row["width"], row["height"]) == ("image/png", 12, 6)


def test_warnings_are_one_clean_line_each(tmp_path: Path) -> None:
    # Finished items only in output_item.done, then response.completed with `output: []`.
    path = write(tmp_path, "empty-completed.sse", sse(responses_events([])))
    for args in (["extract", str(path), "-o", str(tmp_path / "out")], ["inspect", str(path)]):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        lines = result.stderr.splitlines()
        assert lines
        assert all(line.startswith("warning: response.completed disagrees") for line in lines)
        assert ".py" not in result.stderr
        assert "StreamWarning" not in result.stderr
    assert "1 image(s) extracted" in cli("extract", str(path), "-o", str(tmp_path / "o")).stdout
