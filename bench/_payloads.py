"""Deterministic inputs: Responses API bodies and SSE streams with image-sized payloads."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from typing import Any


def fake_png(size: int, seed: int) -> bytes:
    """`size` bytes that start like a real PNG (signature + IHDR), then noise."""
    ihdr = struct.pack(">IIBBBBB", 1024, 1024, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    head = b"\x89PNG\r\n\x1a\n" + chunk
    return head + random.Random(seed).randbytes(size - len(head))


def envelope(output: list[dict[str, Any]], status: str = "completed") -> dict[str, Any]:
    """A response body every SDK under test accepts (openrouter's model needs all of these)."""
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1764000000,
        "completed_at": 1764000009,
        "model": "openai/gpt-5-image",
        "status": status,
        "output": output,
        "error": None,
        "incomplete_details": None,
        "temperature": None,
        "top_p": None,
        "presence_penalty": None,
        "frequency_penalty": None,
        "instructions": None,
        "metadata": {},
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "usage": {
            "input_tokens": 12,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 4224,
            "output_tokens_details": {"reasoning_tokens": 64},
            "total_tokens": 4236,
        },
    }


def text_items() -> list[dict[str, Any]]:
    return [
        {
            "type": "reasoning",
            "id": "rs_bench",
            "summary": [{"type": "summary_text", "text": "Compose the scene, then render it."}],
        },
        {
            "type": "message",
            "id": "msg_bench",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": "Here are your images.", "annotations": []}
            ],
        },
    ]


def response_body(total_mb: float = 8.0, images: int = 4) -> bytes:
    """A response of about `total_mb` MB: `images` image calls plus a reasoning item and a message."""
    b64_each = int(total_mb * 1_000_000 / images)
    raw_each = b64_each * 3 // 4
    calls = [
        {
            "type": "image_generation_call",
            "id": f"ig_bench_{i}",
            "status": "completed",
            "result": base64.b64encode(fake_png(raw_each, i)).decode(),
        }
        for i in range(images)
    ]
    return json.dumps(envelope([text_items()[0], *calls, text_items()[1]])).encode()


def event_stream(b64_mb: float = 2.0, partials: int = 3) -> bytes:
    """A streamed generation: `partials` previews and a final image of `b64_mb` MB base64 each."""
    b64 = [
        base64.b64encode(fake_png(int(b64_mb * 750_000), 100 + i)).decode()
        for i in range(partials + 1)
    ]
    call = {
        "type": "image_generation_call",
        "id": "ig_stream",
        "status": "completed",
        "result": b64[-1],
    }
    final = envelope([call])
    started = {**envelope([], "in_progress")}
    ids = {"item_id": "ig_stream", "output_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**call, "status": "in_progress", "result": None},
        },
        {"type": "response.image_generation_call.in_progress", **ids},
        {"type": "response.image_generation_call.generating", **ids},
    ]
    events += [
        {
            "type": "response.image_generation_call.partial_image",
            **ids,
            "partial_image_b64": b64[i],
            "partial_image_index": i,
        }
        for i in range(partials)
    ]
    events += [
        {"type": "response.image_generation_call.completed", **ids},
        {"type": "response.output_item.done", "output_index": 0, "item": call},
        {"type": "response.completed", "response": final},
    ]
    parts = [b": OPENROUTER PROCESSING\n\n"]
    for number, event in enumerate(events):
        parts.append(
            b"data: " + json.dumps({**event, "sequence_number": number}).encode() + b"\n\n"
        )
        parts.append(b": OPENROUTER PROCESSING\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def chunked(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def image_api_body(total_mb: float = 8.0, images: int = 4) -> bytes:
    """An Image API answer (`POST /images`) of about `total_mb` MB: `images` PNGs of base64."""
    b64_each = int(total_mb * 1_000_000 / images)
    raw_each = b64_each * 3 // 4
    data = [
        {
            "b64_json": base64.b64encode(fake_png(raw_each, 200 + i)).decode(),
            "media_type": "image/png",
        }
        for i in range(images)
    ]
    usage = {"prompt_tokens": 12, "completion_tokens": 4160, "total_tokens": 4172, "cost": 0.16}
    return json.dumps({"created": 1767225600, "data": data, "usage": usage}).encode()
