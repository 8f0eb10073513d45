"""Everything the emulator emits, checked against the 2026-08 reference spec and parsed by
the library (which is how the stream tests' captured stream is kept true)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from _emulator import (
    KEY,
    base_url,
    chat_body,
    fault,
    http,
    sse_data,
    stream_body,
    tool_body,
)
from conftest import DATA

from openrouter_imagegen import parse_response
from openrouter_imagegen.models.events import parse_event
from openrouter_imagegen.stream import accumulate

pytest.importorskip("starlette")
pytest.importorskip("PIL")

from openrouter_imagegen.emulator import FAULTS, run

__all__ = ["base_url", "http"]  # fixtures, found by pytest in this module


# -- what the library and the reference spec make of it ----------------------------------


@pytest.fixture(scope="module")
def exchanges(base_url: str, http: httpx.Client) -> list[tuple[str, httpx.Response]]:
    """(path, reply) for every kind of answer the emulator gives."""
    exchanges = [("/models", http.get(f"{base_url}/models"))]
    for name in (None, "failed", "refused", "no_image", *[f for f in FAULTS if f.isdigit()]):
        headers = fault(name) if name else {}
        for body in (tool_body(), stream_body()):
            exchanges.append(
                ("/responses", http.post(f"{base_url}/responses", json=body, headers=headers))
            )
        for body in (chat_body(), {**chat_body(), "stream": True}):
            reply = http.post(f"{base_url}/chat/completions", json=body, headers=headers)
            exchanges.append(("/chat/completions", reply))
    bad = http.post(f"{base_url}/responses", json={**tool_body(), "input": ""})
    unknown = http.post(f"{base_url}/responses", json={**tool_body(), "model": "x/y"})
    exchanges += [("/responses", bad), ("/responses", unknown)]
    with run(api_key=KEY) as url:
        exchanges.append(("/responses", http.post(f"{url}/responses", json=tool_body())))
    return exchanges


def test_everything_emitted_validates_against_the_reference_spec(
    exchanges: list[tuple[str, httpx.Response]], validate: Callable[..., None]
) -> None:

    for name, body in (
        ("ResponsesRequest", tool_body()),
        ("ResponsesRequest", stream_body()),
        ("ChatRequest", chat_body()),
    ):
        validate(body, "components", "schemas", name)
    statuses = set()
    for path, reply in exchanges:
        method = "get" if path == "/models" else "post"
        media_type = reply.headers["content-type"].split(";")[0]
        statuses.add(reply.status_code)
        where = ("paths", path, method, "responses", str(reply.status_code), "content", media_type)
        if media_type == "text/event-stream":
            for data in sse_data(reply.content)[:-1]:
                validate({"data": json.loads(data)}, *where, "schema")
        else:
            validate(reply.json(), *where, "schema")
    assert statuses == {200, 400, 401, 402, 403, 404, 413, 429, 500, 502, 503, 524, 529}


def test_the_library_parses_every_answer(exchanges: list[tuple[str, httpx.Response]]) -> None:
    for path, reply in exchanges:
        if path != "/responses" or reply.status_code != 200:
            continue
        if reply.headers["content-type"].startswith("text/event-stream"):
            for data in sse_data(reply.content)[:-1]:
                assert parse_event(data).to_dict() == json.loads(data)
        else:
            assert parse_response(reply.content).to_dict() == reply.json()


def test_capture_a_stream_for_the_stream_layer(base_url: str, http: httpx.Client) -> None:
    """Keeps tests/data/emulator_stream.sse, which the stream and CLI tests replay, true to
    the emulator: its image is the one a fresh process renders for the same request."""
    body = stream_body("a captured lighthouse", partials=2, size="64x64")
    live = http.post(f"{base_url}/responses", json=body).content
    captured = DATA / "emulator_stream.sse"
    if not captured.exists():
        captured.write_bytes(live)
    kept = accumulate([captured.read_bytes()])
    fresh = accumulate([live])
    assert kept.images()[0].data == fresh.images()[0].data
