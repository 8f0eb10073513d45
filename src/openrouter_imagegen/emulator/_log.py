"""What the emulator records of each request it receives: never the key, never whole images."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

__all__ = ["LoggedRequest", "describe", "logged_request"]

_LONG = 200  # characters: image data longer than this is shortened
_KEPT = 40  # characters of shortened image data kept
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]+")
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization"})
_PROMPT_SHOWN = 60


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """A request the emulator received.

    `headers` has lower-case names and never `authorization`; `body` is the
    JSON body, with every image (a `data:` URL or base64 longer than 200
    characters) shortened to its start and length, or None when the body is
    empty or not JSON (a request refused before its body was read has none).
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: Any


def logged_request(
    method: str, path: str, query: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> LoggedRequest:
    kept: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in _SECRET_HEADERS:
            continue
        value = raw_value.decode("latin-1")
        kept[name] = f"{kept[name]}, {value}" if name in kept else value
    try:
        decoded = msgspec.json.decode(body) if body else None
    except (msgspec.DecodeError, UnicodeDecodeError):
        decoded = None
    return LoggedRequest(method, path, query, kept, _shorten_images(decoded))


def _shorten_images(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shorten_images(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten_images(item) for item in value]
    if (
        isinstance(value, str)
        and len(value) > _LONG
        and (value.startswith("data:") or _BASE64.fullmatch(value))
    ):
        return f"{value[:_KEPT]}...[{len(value)} characters]"
    return value


def describe(request: LoggedRequest) -> str:
    """One line for a terminal: the method, the path, and the model and prompt asked for."""
    target = f"{request.path}?{request.query}" if request.query else request.path
    line = f"{request.method} {target}"
    body = request.body
    if isinstance(body, dict):
        if isinstance(body.get("model"), str):
            line += f" model={body['model']}"
        prompt = body.get("prompt", body.get("input"))
        if isinstance(prompt, str):
            shown = prompt if len(prompt) <= _PROMPT_SHOWN else prompt[:_PROMPT_SHOWN] + "..."
            line += f" prompt={shown!r}"
        if body.get("stream") is True:
            line += " stream"
    return line
