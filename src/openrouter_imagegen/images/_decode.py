"""A call's `result` string: which shape it is, and its bytes.

`result` arrives as bare base64 (OpenAI style), as a `data:` URL (some of
OpenRouter's own SDKs build those), or as an https URL (the
`openrouter:image_generation` server tool). Base64 is decoded leniently —
whitespace, missing padding and the URL-safe alphabet are all seen in the
wild — but anything else is an error that names the offset of the first bad
character.
"""

from __future__ import annotations

import binascii
import re
from typing import Literal
from urllib.parse import unquote_to_bytes

import pybase64

from openrouter_imagegen._exceptions import ImageDecodeError

__all__ = ["Source", "b64decode_lenient", "classify", "parse_data_url"]

Source = Literal["base64", "data_url", "url"]

_WHITESPACE = {ord(c): None for c in " \t\r\n\f\v"}
_URLSAFE = str.maketrans("-_", "+/")
_BAD_CHAR = re.compile(r"[^A-Za-z0-9+/\-_=\s]")
# Single character classes only: a pattern such as `=+[\s=]*[^\s=]` backtracks in
# cubic time on a few thousand '=' (seconds for one result string).
_NOT_PADDING = re.compile(r"[^\s=]")


def classify(result: str) -> Source:
    """Which of the three shapes `result` has."""
    head = result[:8].lstrip().lower()
    if head.startswith("data:"):
        return "data_url"
    if head.startswith(("https://", "http://")):
        return "url"
    return "base64"


def b64decode_lenient(text: str, *, offset: int = 0) -> bytes:
    """Decode base64, forgiving whitespace, missing padding and the URL-safe alphabet.

    `offset` is added to reported positions (the base64 may sit inside a data URL).
    """
    try:
        # The fast path: well-formed standard base64, decoded with no extra copy.
        return pybase64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    bad = _BAD_CHAR.search(text)
    if bad is not None:
        position = bad.start()
        raise ImageDecodeError(
            f"invalid base64 at offset {position + offset}: found {text[position]!r}, "
            "expected A-Z, a-z, 0-9, '+', '/', '-', '_', '=' or whitespace",
            offset=position + offset,
        )
    first_pad = text.find("=")
    padding = _NOT_PADDING.search(text, first_pad) if first_pad != -1 else None
    if padding is not None:
        position = padding.start()
        raise ImageDecodeError(
            f"invalid base64 at offset {position + offset}: data after '=' padding",
            offset=position + offset,
        )
    cleaned = text.translate(_WHITESPACE).translate(_URLSAFE).rstrip("=")
    if len(cleaned) % 4 == 1:
        raise ImageDecodeError(
            f"invalid base64 at offset {len(text) + offset}: it ends mid-byte "
            f"({len(cleaned)} base64 characters is not a whole number of bytes; truncated?)",
            offset=len(text) + offset,
        )
    try:
        return pybase64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - every cause is checked above
        raise ImageDecodeError(f"invalid base64: {exc}", offset=offset) from None


def parse_data_url(url: str) -> tuple[bytes, str | None]:
    """The bytes of a `data:` URL and the media type it claims (None if it claims none)."""
    start = len(url) - len(url.lstrip())
    comma = url.find(",", start)
    if comma == -1:
        raise ImageDecodeError(
            f"malformed data URL at offset {len(url)}: no ',' after the header", offset=len(url)
        )
    params = url[start + 5 : comma].split(";")
    media_type = params[0].strip().lower() or None
    is_base64 = any(p.strip().lower() == "base64" for p in params[1:])
    payload = url[comma + 1 :]
    if is_base64:
        return b64decode_lenient(payload, offset=comma + 1), media_type
    try:
        return unquote_to_bytes(payload), media_type
    except UnicodeEncodeError as exc:  # a lone surrogate: text no byte encoding holds
        position = comma + 1 + exc.start
        raise ImageDecodeError(
            f"malformed data URL at offset {position}: {payload[exc.start]!r} is a lone "
            "surrogate, not a character",
            offset=position,
        ) from None
