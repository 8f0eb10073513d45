"""Reading responses that were saved earlier: JSON bodies, JSONL logs, captured streams.

Tolerant by design: an unknown item or a bad line is reported and skipped,
never the end of the whole file. Whatever held no image says why: an error
body its message, a failed response its error, a failed stream the server's
message, a text-only answer its text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ImagegenError, StreamError, shorten
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

    @property
    def has_image(self) -> bool:
        """Whether any call in the file carries an image."""
        return any(call.result for _, call in self.calls)


def _failure(what: str, code: Any, message: Any) -> str:
    code_text = f" ({code})" if code is not None else ""
    return f"{what}{code_text}: {message or 'no message'}"


def _calls_of(obj: Any, where: str, saved: SavedFile) -> bool:
    """Take what the body `obj` holds; False when it is no body this reads."""
    from openrouter_imagegen.models.routes import error_of_body, response_from_body

    if not isinstance(obj, dict):
        saved.skipped.append(f"{where}: not a JSON object")
        return False
    error = error_of_body(obj)
    if error is not None:
        reported = _failure("the server reported an error", error.get("code"), error.get("message"))
        saved.skipped.append(f"{where}: {reported}")
    elif "output" in obj:
        _take(response_from_body("responses", obj), where, saved)
    elif "choices" in obj:
        _take(response_from_body("chat", obj), where, saved)
    elif "data" in obj:
        _take(response_from_body("images", obj), where, saved)
    elif obj.get("type") == "image_generation_call":
        saved.calls.append((where, OutputImageGenerationCall.from_dict(obj)))
    else:
        saved.skipped.append(f"{where}: neither a response, a chat completion nor an image call")
        return False
    return True


def _take(response: Response, where: str, saved: SavedFile) -> None:
    """The image items of `response`, and a note on what else it held or why it failed."""
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
    if response.status == "failed" or response.error is not None:
        error = response.error
        code, message = (error.code, error.message) if error is not None else (None, None)
        saved.skipped.append(f"{where}: {_failure('the generation failed', code, message)}")
    elif not response.image_outputs:
        text = response.output_text.strip()
        saved.skipped.append(
            f"{where}: no image, only text: {shorten(text)}" if text else f"{where}: no image"
        )


def _is_sse(text: bytes) -> bool:
    head = text.lstrip()[:200]
    return head.startswith((b"data:", b"event:", b":", b"id:")) or b"\ndata:" in head


def _is_event(obj: Any) -> bool:
    """Whether `obj` is a stream event (a line of a JSONL recording) rather than a body."""
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    if isinstance(kind, str) and kind.startswith(("response.", "image_generation.")):
        return True
    return kind == "error" or obj.get("object") == "chat.completion.chunk"


def _first_object(lines: list[bytes]) -> Any:
    for line in lines:
        if line.strip():
            try:
                return decode_json(line)
            except ImagegenError:
                return None
    return None


def _read_capture(data: bytes, saved: SavedFile) -> None:
    from openrouter_imagegen.stream import capture_stream

    try:
        stream = capture_stream(data)
        response = stream.finish()
    except StreamError as exc:  # its message is the server's, or says where the stream broke
        saved.skipped.append(f"stream: {exc}")
        saved.partials = list(exc.partial_images)
        if exc.response is not None:
            saved.calls += [("stream", item) for item in exc.response.image_outputs]
        return
    saved.partials = list(stream.partial_images)
    _take(response, "stream", saved)


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
            _read_capture(data, saved)
            return saved
        try:
            whole = decode_json(data)
        except ImagegenError:
            whole = None
        lines = data.splitlines()
        if _is_event(whole if whole is not None else _first_object(lines)):
            _read_capture(data, saved)
            return saved
        if whole is not None:
            _calls_of(whole, "body", saved)
            return saved
        numbered = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
        if not numbered:
            saved.error = "empty file"
        read = 0
        for number, line in numbered:
            try:
                read += _calls_of(decode_json(line), f"line {number}", saved)
            except ImagegenError as exc:
                saved.skipped.append(f"line {number}: {exc}")
        if numbered and not read:
            saved.error = "no line is a JSON response (is this JSON, JSONL or an SSE capture?)"
    except ImagegenError as exc:
        saved.error = str(exc)
    return saved
