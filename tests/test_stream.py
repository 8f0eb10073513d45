"""Stream events and the accumulator: bytes in, typed events, growing snapshots."""

from __future__ import annotations

import base64
import copy
import io
import itertools
import json
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_imagegen import Response, StreamError, StreamWarning, parse_response
from openrouter_imagegen.models import events as ev
from openrouter_imagegen.models.events import parse_event
from openrouter_imagegen.stream import (
    EventDecoder,
    ResponseAccumulator,
    aaccumulate,
    accumulate,
    aiter_events,
    encode_comment,
    encode_event,
    iter_events,
)


def _png(width: int, height: int, shade: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 100, 200)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


FINAL = _png(32, 16, 250)
PARTIALS = [_png(32, 16, shade) for shade in (50, 120, 190)]


def final_response() -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1764000000,
        "model": "openai/gpt-5-image",
        "status": "completed",
        "output": [
            {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": FINAL},
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "Here it is.", "annotations": []}],
            },
        ],
        "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12},
    }


def event_dicts() -> list[dict[str, Any]]:
    """A whole streamed generation in OpenRouter's order, with sequence numbers."""
    final = final_response()
    started = {**final, "status": "in_progress", "output": [], "usage": None}
    call = {"type": "image_generation_call", "id": "ig_1", "status": "in_progress", "result": None}
    message = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    image = {"item_id": "ig_1", "output_index": 0}
    text = {"item_id": "msg_1", "output_index": 1, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
        {"type": "response.output_item.added", "output_index": 0, "item": call},
        {"type": "response.image_generation_call.in_progress", **image},
        {"type": "response.image_generation_call.generating", **image},
    ]
    events += [
        {
            "type": "response.image_generation_call.partial_image",
            **image,
            "partial_image_b64": b64,
            "partial_image_index": i,
        }
        for i, b64 in enumerate(PARTIALS)
    ]
    events += [
        {"type": "response.image_generation_call.completed", **image},
        {"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]},
        {"type": "response.output_item.added", "output_index": 1, "item": message},
        {
            "type": "response.content_part.added",
            **text,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {"type": "response.output_text.delta", **text, "delta": "Here "},
        {"type": "response.output_text.delta", **text, "delta": "it is."},
        {"type": "response.output_text.done", **text, "text": "Here it is."},
        {"type": "response.output_item.done", "output_index": 1, "item": final["output"][1]},
        {"type": "response.completed", "response": final},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def sse_bytes(events: list[dict[str, Any]], *, done: bool = True) -> bytes:
    parts = [encode_comment("OPENROUTER PROCESSING")]
    for event in events:
        parts.append(encode_event(json.dumps(event)))
        parts.append(encode_comment("OPENROUTER PROCESSING"))
    if done:
        parts.append(encode_event("[DONE]"))
    return b"".join(parts)


STREAM = sse_bytes(event_dicts())


def chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# -- typed events ----------------------------------------------------------------


def test_events_are_typed_and_done_is_not_yielded() -> None:
    events = list(iter_events([STREAM]))
    assert len(events) == len(event_dicts())
    assert isinstance(events[0], ev.ResponseCreatedEvent)
    partials = [e for e in events if isinstance(e, ev.ImageGenCallPartialImageEvent)]
    assert [p.partial_image_index for p in partials] == [0, 1, 2]
    assert isinstance(events[-1], ev.ResponseCompletedEvent)


def test_every_event_round_trips_through_its_model() -> None:
    for wire in event_dicts():
        event = parse_event(json.dumps(wire))
        assert event.to_dict() == wire


def test_unknown_event_type_passes_through() -> None:
    events = event_dicts()
    events.insert(3, {"type": "response.brand_new_thing", "sequence_number": 100, "x": [1]})
    for number, event in enumerate(events):
        event["sequence_number"] = number
    seen = list(iter_events([sse_bytes(events)]))
    assert isinstance(seen[3], ev.UnknownEvent)
    assert seen[3].raw["x"] == [1]
    assert accumulate([sse_bytes(events)]) == parse_response(json.dumps(final_response()))


def test_data_that_is_not_json_names_event_index_and_offset() -> None:
    good = encode_event(json.dumps(event_dicts()[0]))
    stream = good + encode_comment("keep-alive") + encode_event("{not json")
    with pytest.raises(StreamError) as info:
        list(iter_events([stream]))
    assert info.value.event_index == 1
    assert info.value.offset == len(good) + len(encode_comment("keep-alive"))
    assert "event 1" in str(info.value)
    assert f"byte {info.value.offset}" in str(info.value)


def test_openrouter_error_form_becomes_an_error_event() -> None:
    stream = encode_event(
        json.dumps({"error": {"code": 502, "message": "Provider returned error"}})
    )
    (event,) = list(iter_events([stream]))
    assert isinstance(event, ev.ErrorEvent)
    assert event.code == 502
    assert event.message == "Provider returned error"


def test_type_from_the_sse_event_field_when_data_lacks_it() -> None:
    body = {k: v for k, v in event_dicts()[3].items() if k != "type"}
    stream = encode_event(json.dumps(body), event="response.image_generation_call.in_progress")
    (event,) = list(iter_events([stream]))
    assert isinstance(event, ev.ImageGenCallInProgressEvent)


def test_decoder_ignores_bytes_after_done() -> None:
    decoder = EventDecoder()
    events = decoder.feed(STREAM + encode_event("{garbage"))
    assert decoder.done
    assert len(events) == len(event_dicts())
    assert decoder.feed(b"data: more\n\n") == []


# -- accumulation -------------------------------------------------------------------


def test_stream_accumulates_to_the_non_streamed_response() -> None:
    expected = parse_response(json.dumps(final_response()))
    assert accumulate(chunks(STREAM, 4096)) == expected
    assert accumulate(chunks(STREAM, 1)) == expected


def test_snapshots_grow_and_statuses_move_in_order() -> None:
    accumulator = ResponseAccumulator()
    statuses: list[str] = []
    texts: list[str] = []
    for event in iter_events([STREAM]):
        snapshot = accumulator.feed(event)
        calls = snapshot.image_generation_calls
        if calls and (not statuses or statuses[-1] != calls[0].status):
            statuses.append(calls[0].status)
        texts.append(snapshot.output_text)
    assert statuses == ["in_progress", "generating", "completed"]
    assert "Here " in texts
    assert texts[-1] == "Here it is."
    assert [p.partial_image_index for p in accumulator.partial_images] == [0, 1, 2]
    assert accumulator.finish().status == "completed"
    assert accumulator.warnings == []


def test_partial_images_decode_like_final_images() -> None:
    accumulator = ResponseAccumulator()
    for event in iter_events([STREAM]):
        accumulator.feed(event)
    previews = [p.image() for p in accumulator.partial_images]
    assert [img.media_type for img in previews] == ["image/png"] * 3
    assert [(img.width, img.height) for img in previews] == [(32, 16)] * 3
    assert previews[0].call_id == "ig_1"
    assert accumulator.finish().images()[0].data == base64.b64decode(FINAL)


def test_mid_stream_error_keeps_partials_and_snapshot() -> None:
    events = event_dicts()[:7]  # up to and including two partial images
    events.append({"error": {"code": 502, "message": "Upstream provider failed"}})
    with pytest.raises(StreamError) as info:
        accumulate([sse_bytes(events)])
    error = info.value
    assert "Upstream provider failed" in str(error)
    assert error.code == 502
    assert [p.partial_image_index for p in error.partial_images] == [0, 1]
    assert error.response is not None
    assert error.response.image_generation_calls[0].status == "generating"


def test_response_failed_raises_with_the_failed_response() -> None:
    events = event_dicts()[:6]
    failed = {
        **final_response(),
        "status": "failed",
        "error": {"code": "server_error", "message": "image model crashed"},
    }
    events.append({"type": "response.failed", "sequence_number": 6, "response": failed})
    with pytest.raises(StreamError) as info:
        accumulate([sse_bytes(events)])
    assert "image model crashed" in str(info.value)
    assert info.value.response is not None
    assert info.value.response.status == "failed"
    assert len(info.value.partial_images) == 1


def test_incomplete_is_not_an_error() -> None:
    events = event_dicts()
    incomplete = {
        **final_response(),
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
    }
    events[-1] = {"type": "response.incomplete", "sequence_number": 99, "response": incomplete}
    response = accumulate([sse_bytes(events)])
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


def test_stream_ending_without_completed_raises_with_what_arrived() -> None:
    events = event_dicts()[:-1]
    with pytest.raises(StreamError) as info:
        accumulate([sse_bytes(events, done=False)])
    assert "ended before response.completed" in str(info.value)
    assert len(info.value.partial_images) == 3
    assert info.value.response is not None
    assert info.value.response.image_generation_calls[0].result == FINAL


def test_sequence_gaps_are_fine() -> None:
    events = event_dicts()
    del events[4]  # a proxy dropped .generating
    assert accumulate([sse_bytes(events)]) == parse_response(json.dumps(final_response()))


def test_repeated_sequence_number_is_ignored_and_recorded() -> None:
    events = event_dicts()
    events.insert(7, copy.deepcopy(events[6]))  # a partial image sent twice
    accumulator = ResponseAccumulator()
    decoded = list(iter_events([sse_bytes(events)]))
    with pytest.warns(StreamWarning, match="repeated"):
        _feed_all(accumulator, decoded)
    assert len(accumulator.partial_images) == 3
    assert len(accumulator.warnings) == 1
    assert "sequence number 6" in accumulator.warnings[0]


def _feed_all(accumulator: ResponseAccumulator, events: list[ev.Event]) -> None:
    for event in events:
        accumulator.feed(event)


def test_lower_sequence_number_raises() -> None:
    events = event_dicts()
    del events[3]  # sequence number 3 never arrives...
    events[6]["sequence_number"] = 3  # ...until after 6: out of order, not a repeat
    with pytest.raises(StreamError, match="out of order") as info:
        accumulate([sse_bytes(events)])
    assert len(info.value.partial_images) == 2


def test_completed_response_wins_over_deltas_and_the_difference_is_recorded() -> None:
    events = event_dicts()
    events[15]["delta"] = "it was."  # deltas now disagree with the final text
    events = [e for e in events if e["type"] != "response.output_text.done"]
    events = [
        e
        for e in events
        if not (e["type"] == "response.output_item.done" and e["output_index"] == 1)
    ]
    accumulator = ResponseAccumulator()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for event in iter_events([sse_bytes(events)]):
            accumulator.feed(event)
    response = accumulator.finish()
    assert response.output_text == "Here it is."
    assert len(accumulator.warnings) == 1
    assert "output items 1 differ" in accumulator.warnings[0]
    assert any(issubclass(w.category, StreamWarning) for w in caught)
    assert len(accumulator.partial_images) == 3


def test_events_without_added_items_still_build_the_calls() -> None:
    events = [
        e
        for e in event_dicts()
        if e["type"] not in {"response.output_item.added", "response.content_part.added"}
    ]
    accumulator = ResponseAccumulator()
    for event in iter_events([sse_bytes(events)]):
        accumulator.feed(event)
        if isinstance(event, ev.ImageGenCallGeneratingEvent):
            assert accumulator.response.image_generation_calls[0].status == "generating"
    assert accumulator.finish() == parse_response(json.dumps(final_response()))


@pytest.mark.anyio
async def test_async_twins() -> None:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks(STREAM, 777):
            yield chunk

    events = [event async for event in aiter_events(source())]
    assert len(events) == len(event_dicts())
    response = await aaccumulate(source())
    assert response == parse_response(json.dumps(final_response()))

    async def broken() -> AsyncIterator[bytes]:
        yield STREAM[: len(STREAM) // 2]

    with pytest.raises(StreamError) as info:
        await aaccumulate(broken())
    assert info.value.response is not None


# -- the emulator's stream ----------------------------------------------------------


def test_stream_captured_from_the_emulator() -> None:
    captured = DATA / "emulator_stream.sse"
    if not captured.exists():
        pytest.skip("tests/data/emulator_stream.sse has not been captured yet")
    data = captured.read_bytes()
    response = accumulate(chunks(data, 1000))
    assert response.status == "completed"
    calls = response.image_generation_calls
    assert calls
    assert all(call.status == "completed" for call in calls)
    assert calls[0].image().media_type.startswith("image/")
    accumulator = ResponseAccumulator()
    for event in iter_events([data]):
        accumulator.feed(event)
    assert accumulator.partial_images
    assert accumulator.warnings == []


# -- properties ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, len(STREAM) - 1), max_size=40, unique=True))
def test_property_every_chunking_gives_the_same_events(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    pieces = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]
    assert [e.to_dict() for e in iter_events(pieces)] == [
        e.to_dict() for e in iter_events([STREAM])
    ]


# Cutting anywhere before the end of response.completed loses the final event.
_COMPLETED_END = STREAM.index(b"\n\n", STREAM.rindex(b'"response.completed"')) + 2


def _complete_partials(prefix: bytes) -> int:
    count = 0
    for event in event_dicts():
        if event["type"].endswith("partial_image"):
            marker = f'"partial_image_index": {event["partial_image_index"]}'.encode()
            start = prefix.find(marker)
            if start != -1 and prefix.find(b"\n\n", start) != -1:
                count += 1
    return count


@settings(max_examples=80, deadline=None)
@given(st.integers(0, _COMPLETED_END - 2))
def test_property_every_truncation_raises_stream_error_with_the_prefix(cut: int) -> None:
    prefix = STREAM[:cut]
    with pytest.raises(StreamError) as info:
        accumulate(chunks(prefix, 4096))
    error = info.value
    assert isinstance(error.response, Response)
    assert len(error.partial_images) == _complete_partials(prefix)


_DROPPABLE = [
    i
    for i, event in enumerate(event_dicts())
    if event["type"] not in {"response.created", "response.completed"}
]


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(_DROPPABLE)))
def test_property_lost_events_never_change_the_final_response(dropped: set[int]) -> None:
    # Proxies drop events; whatever is lost in between, response.completed decides.
    events = [event for i, event in enumerate(event_dicts()) if i not in dropped]
    accumulator = ResponseAccumulator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StreamWarning)
        for event in iter_events([sse_bytes(events)]):
            accumulator.feed(event)
    assert accumulator.finish() == parse_response(json.dumps(final_response()))
    kept = [e["partial_image_index"] for e in events if e["type"].endswith("partial_image")]
    assert [p.partial_image_index for p in accumulator.partial_images] == kept


@pytest.mark.parametrize("data", ["null", "[1, 2]", "3", '"text"', "{}", '{"type": 5}'])
def test_json_that_is_no_event_object_is_a_stream_error(data: str) -> None:
    with pytest.raises(StreamError) as info:
        list(iter_events([encode_event(data)]))
    assert info.value.event_index == 0


_EVENT_TYPES = sorted(
    {e["type"] for e in event_dicts()} | {"error", "response.failed", "x.unknown"}
)
_FIELD_VALUES = (
    st.none()
    | st.integers(-2, 5)
    | st.text(max_size=5)
    | st.fixed_dictionaries(
        {
            "type": st.sampled_from(["image_generation_call", "message", "output_text"]),
            "id": st.text(max_size=3),
            "status": st.sampled_from(["completed", "in_progress"]),
        }
    )
)
_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            "item_id",
            "output_index",
            "content_index",
            "delta",
            "text",
            "partial_image_b64",
            "partial_image_index",
            "sequence_number",
            "item",
            "part",
            "response",
            "code",
            "message",
        ]
    ),
    _FIELD_VALUES,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_EVENT_TYPES), _FIELDS), max_size=10))
def test_property_malformed_event_sequences_raise_only_stream_errors(
    events: list[tuple[str, dict[str, Any]]],
) -> None:
    wire = b"".join(encode_event(json.dumps({"type": kind, **fields})) for kind, fields in events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StreamWarning)
        try:
            accumulate([wire])
        except StreamError as exc:
            assert exc.response is not None
