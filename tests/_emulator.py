"""What the emulator's tests share: a server for the module, request bodies, SSE helpers.

A module imports its fixtures from here (`base_url`, `http`): pytest finds them
in the module's namespace.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openrouter_imagegen.stream import SSEDecoder

KEY = "sk-or-emulator-key"
MODEL = "openai/gpt-5-image"
KEEP_ALIVE = b": OPENROUTER PROCESSING\n\n"
SLOW = 0.4  # the module's server: `slow` waits this long, `timeout` holds HOLD
HOLD = 5.0


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    from openrouter_imagegen.emulator import run

    with run(slow_seconds=SLOW, hold_seconds=HOLD) as url:
        yield url


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def tool_body(prompt: str = "a red kite", **tool: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": prompt,
        "modalities": ["image", "text"],
        "tools": [{"type": "image_generation", "size": "64x48", **tool}],
    }


def stream_body(prompt: str = "a red kite", partials: int = 2, **tool: Any) -> dict[str, Any]:
    return {**tool_body(prompt, partial_images=partials, **tool), "stream": True}


def chat_body(prompt: str = "a paper boat", **options: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "modalities": ["image", "text"],
        "image_config": {"size": "32x32"},
        **options,
    }


def sse_data(data: bytes) -> list[str]:
    return [event.data for event in SSEDecoder().feed(data)]


def sse_json(data: bytes) -> list[dict[str, Any]]:
    datas = sse_data(data)
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


def image_of(result: str) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(result)))


def fault(name: str) -> dict[str, str]:
    return {"X-Emulator-Fault": name}


def drain(response: httpx.Response, *, into: bytearray) -> None:
    for chunk in response.iter_bytes():
        into += chunk
