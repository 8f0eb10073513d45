"""Reading responses that were saved earlier: JSON bodies, JSONL logs, captured SSE streams.

Tolerant by design: an unknown item or a bad line is reported and skipped,
never the end of the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ImagegenError, StreamError
from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.events import ImageGenCallPartialImageEvent
from openrouter_imagegen.models.operations import (
    OutputImageGenerationCall,
    OutputImageGenerationServerTool,
    Response,
)

ImageItem = OutputImageGenerationCall | OutputImageGenerationServerTool

__all__ = ["SavedFile", "read_saved"]


@dataclass
class SavedFile:
    """What one file held: its image calls, partial images, and what was skipped and why."""

    path: Path
    calls: list[tuple[str, ImageItem]] = field(default_factory=list)
    partials: list[ImageGenCallPartialImageEvent] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    error: str | None = None  # the file as a whole could not be read


def _calls_of(obj: Any, where: str, saved: SavedFile) -> None:
    from openrouter_imagegen.models.chat import response_from_chat

    if not isinstance(obj, dict):
        saved.skipped.append(f"{where}: not a JSON object")
        return
    if "output" in obj:
        response = Response.from_dict(obj)
    elif "choices" in obj:
        response = response_from_chat(obj)
    elif obj.get("type") == "image_generation_call":
        saved.calls.append((where, OutputImageGenerationCall.from_dict(obj)))
        return
    else:
        saved.skipped.append(f"{where}: neither a response, a chat completion nor an image call")
        return
    others = []
    for item in response.output:
        if isinstance(item, OutputImageGenerationCall | OutputImageGenerationServerTool):
            saved.calls.append((where, item))
        elif item.type not in ("message", "reasoning"):
            others.append(str(item.type))
    if others:
        saved.skipped.append(
            f"{where}: {len(others)} other output item(s) with no image: {', '.join(others)}"
        )


def _is_sse(text: bytes) -> bool:
    head = text.lstrip()[:200]
    return head.startswith((b"data:", b"event:", b":", b"id:")) or b"\ndata:" in head


def _read_sse(data: bytes, saved: SavedFile) -> None:
    from openrouter_imagegen.stream import ResponseStream

    chat = b'"chat.completion.chunk"' in data[:4096]
    stream = ResponseStream("chat" if chat else "responses", saved=True)
    try:
        stream.feed(data)
        stream.end()
        response = stream.finish()
    except StreamError as exc:
        saved.skipped.append(f"stream: {exc}")
        response = stream.snapshot
    saved.partials = list(stream.partial_images)
    for item in response.image_outputs:
        saved.calls.append(("stream", item))


def read_saved(path: Path) -> SavedFile:
    """Every image call in `path`, with reasons for whatever was left out."""
    saved = SavedFile(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        saved.error = f"cannot read: {exc.strerror or exc}"
        return saved
    try:
        if _is_sse(data):
            _read_sse(data, saved)
            return saved
        try:
            whole = decode_json(data)
        except ImagegenError:
            whole = None
        if whole is not None:
            _calls_of(whole, "body", saved)
            return saved
        lines = data.splitlines()
        if not any(line.strip() for line in lines):
            saved.error = "empty file"
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                _calls_of(decode_json(line), f"line {number}", saved)
            except ImagegenError as exc:
                saved.skipped.append(f"line {number}: {exc}")
        if lines and len(saved.skipped) == sum(1 for line in lines if line.strip()):
            saved.error = "no line is a JSON response (is this JSON, JSONL or an SSE capture?)"
    except ImagegenError as exc:
        saved.error = str(exc)
    return saved
