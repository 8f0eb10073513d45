"""Decoding and accumulating a streamed generation, fed in 4 KB chunks."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from bench._payloads import chunked, event_stream
from bench._timing import Table, human_seconds, median_seconds


def ours(chunks: list[bytes]) -> int:
    from openrouter_imagegen.stream import ResponseAccumulator, iter_events

    accumulator = ResponseAccumulator()
    for event in iter_events(chunks):
        accumulator.feed(event)
    response = accumulator.finish()
    return len(accumulator.partial_images) + len(response.image_generation_calls)


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)


def httpx_sse_openai(chunks: list[bytes]) -> int:
    # httpx-sse framing, json.loads, then the openai SDK's typed event models, as its stream does.
    from httpx_sse import EventSource
    from openai._models import construct_type
    from openai.types.responses import ResponseStreamEvent

    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks)
    )
    images = 0
    for sse in EventSource(response).iter_sse():
        if sse.data == "[DONE]":
            break
        event = construct_type(type_=ResponseStreamEvent, value=json.loads(sse.data))
        images += event.type == "response.image_generation_call.partial_image"
        images += event.type == "response.output_item.done"
    return images


def stream_suite(quick: bool) -> Table:
    stream = event_stream(2.0, 3)
    chunks = chunked(stream)
    assert ours(chunks) == httpx_sse_openai(chunks) == 4
    table = Table(
        f"decode + accumulate a {len(stream) / 1e6:.1f} MB stream (3 partial + 1 final image, 2 MB base64 each) in 4 KB chunks",
        ("median", "throughput", "target", "ok"),
    )
    repeat = 5 if quick else 15
    mine = median_seconds(lambda: ours(chunks), repeat=repeat)
    theirs = median_seconds(lambda: httpx_sse_openai(chunks), repeat=repeat)
    table.add(
        "openrouter-imagegen",
        mine,
        human_seconds(mine),
        f"{len(stream) / mine / 1e9:.2f} GB/s",
        ">= 1 GB/s",
        len(stream) / mine >= 1e9,
    )
    table.add(
        "httpx-sse + json.loads + openai event models",
        theirs,
        human_seconds(theirs),
        f"{len(stream) / theirs / 1e9:.2f} GB/s",
        ">= 3x slower than ours",
        theirs >= 3 * mine,
    )
    table.notes.append(
        f"ours is {theirs / mine:.1f}x faster, and also accumulates the response; theirs stops at typed events"
    )
    previous = None
    for scale in (1, 4, 16):
        scaled = chunked(event_stream(2.0 * scale, 3))
        seconds = median_seconds(lambda c=scaled: ours(c), repeat=3 if quick else 7)
        step = seconds / previous if previous else None
        table.add(
            f"ours at {scale}x ({sum(map(len, scaled)) / 1e6:.0f} MB)",
            seconds,
            human_seconds(seconds),
            f"{step:.2f}x for 4x" if step else "",
            "each 4x step 3.5x-4.5x" if step else "",
            None if step is None else 3.5 <= step <= 4.5,
        )
        previous = seconds
    return table
