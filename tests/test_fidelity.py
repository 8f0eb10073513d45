"""What OpenRouter and compatible servers really send: every shape read without loss.

Each payload is written from the 2026-08 spec or from what servers were seen
to send; each goes through `parse_response`, the stream pipeline whole and in
small chunks, and `read_capture`.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_imagegen import Response, StreamError, StreamWarning, parse_response
from openrouter_imagegen.models import events as ev
from openrouter_imagegen.models.chat import response_from_chat
from openrouter_imagegen.models.events import parse_event
from openrouter_imagegen.models.operations import OutputAssistant, UnknownContent
from openrouter_imagegen.stream import (
    ResponseStream,
    capture_stream,
    encode_comment,
    encode_event,
    read_capture,
)


def _png(shade: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), (shade, 10, 20)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


IMAGE = _png(200)
DATA_URL = f"data:image/png;base64,{IMAGE}"


def sse(objects: list[Any], *, done: bool = True) -> bytes:
    parts = [encode_comment("OPENROUTER PROCESSING")]
    parts += [encode_event(json.dumps(obj)) for obj in objects]
    if done:
        parts.append(encode_event("[DONE]"))
    return b"".join(parts)


def jsonl(objects: list[Any]) -> bytes:
    return b"".join(json.dumps(obj).encode() + b"\n" for obj in objects)


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def streamed(data: bytes, *, route: Any = "responses", size: int | None = None) -> Response:
    """The final response of `data` fed whole (or in pieces of `size` bytes) to a live stream."""
    stream = ResponseStream(route)
    for chunk in pieces(data, size) if size else [data]:
        stream.feed(chunk)
    stream.end()
    return stream.finish()


# -- Responses API payloads --------------------------------------------------------

CALL = {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": IMAGE}
MESSAGE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Here it is.", "annotations": []}],
}


def envelope(status: str, output: list[Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1764000000,
        "model": "openai/gpt-5-image",
        "status": status,
        "output": output,
        **fields,
    }


def items_then_empty_completed(final_output: list[Any]) -> list[dict[str, Any]]:
    """Items finished only in `output_item.done`, then `response.completed` with `final_output`."""
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": envelope("in_progress", [])},
        {"type": "response.output_item.done", "output_index": 0, "item": CALL},
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE},
        {
            "type": "response.completed",
            "response": envelope("completed", final_output, output_text=""),
        },
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def test_empty_output_text_from_the_server_falls_back_to_the_messages() -> None:
    body = envelope("completed", [CALL, MESSAGE], output_text="")
    assert parse_response(json.dumps(body)).output_text == "Here it is."
    said = envelope("completed", [CALL, MESSAGE], output_text="As the server said.")
    assert parse_response(json.dumps(said)).output_text == "As the server said."
    stream = sse(items_then_empty_completed([CALL, MESSAGE]))
    assert streamed(stream).output_text == "Here it is."


@pytest.mark.parametrize("size", [None, 7])
def test_completed_with_empty_output_keeps_the_items_built_from_events(size: int | None) -> None:
    data = sse(items_then_empty_completed([]))
    with pytest.warns(StreamWarning, match=r"it lacks 2 item\(s\)"):
        response = streamed(data, size=size)
    assert [item.id for item in response.output] == ["ig_1", "msg_1"]  # type: ignore[union-attr]
    assert response.image_generation_calls[0].image().width == 8
    assert response.output_text == "Here it is."
    assert response.status == "completed"


def test_a_shorter_final_output_keeps_what_it_lacks_in_place() -> None:
    data = sse(items_then_empty_completed([MESSAGE]))
    with pytest.warns(StreamWarning, match=r"it lacks 1 item\(s\)"):
        response = streamed(data)
    assert [item.type for item in response.output] == ["image_generation_call", "message"]
    assert response.image_generation_calls[0].result == IMAGE


def test_a_final_copy_without_its_result_keeps_the_streamed_result() -> None:
    bare = {**CALL, "result": None}
    data = sse(items_then_empty_completed([bare, MESSAGE]))
    with pytest.warns(StreamWarning, match="output items 0 differ"):
        response = streamed(data)
    assert response.image_generation_calls[0].result == IMAGE


def test_items_without_ids_are_matched_by_their_place() -> None:
    anonymous = {k: v for k, v in MESSAGE.items() if k != "id"}
    events = items_then_empty_completed([CALL, anonymous])
    events[2]["item"] = anonymous
    accumulated = streamed(sse(events))  # no warning: the two agree
    assert (
        accumulated.output
        == parse_response(json.dumps(envelope("completed", [CALL, anonymous]))).output
    )


def test_a_final_output_in_another_order_is_no_disagreement() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", StreamWarning)
        response = streamed(sse(items_then_empty_completed([MESSAGE, CALL])))
    assert [item.type for item in response.output] == ["message", "image_generation_call"]


# -- errors, in each form servers send them ----------------------------------------


ERRORS = {
    "nested": {"type": "error", "error": {"code": "rate_limit_exceeded", "message": "Slow down"}},
    "flat": {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None},
    "typeless": {"error": {"code": "rate_limit_exceeded", "message": "Slow down"}},
    "response.error": {
        "type": "response.error",
        "error": {"code": "rate_limit_exceeded", "message": "Slow down"},
    },
    "response.error flat": {
        "type": "response.error",
        "code": "rate_limit_exceeded",
        "message": "Slow down",
    },
    "failed with output": {
        "type": "response.failed",
        "response": envelope(
            "failed", [], error={"code": "rate_limit_exceeded", "message": "Slow down"}
        ),
    },
    "failed without output": {
        "type": "response.failed",
        "response": {
            "id": "resp_1",
            "status": "failed",
            "error": {"code": "rate_limit_exceeded", "message": "Slow down"},
        },
    },
}


@pytest.mark.parametrize("form", list(ERRORS))
@pytest.mark.parametrize("size", [None, 5])
def test_every_error_form_raises_with_the_servers_code_and_message(
    form: str, size: int | None
) -> None:
    events = [*items_then_empty_completed([])[:2], ERRORS[form]]
    with pytest.raises(StreamError) as info:
        streamed(sse(events), size=size)
    error = info.value
    assert "Slow down" in str(error)
    assert "no message" not in str(error)
    assert error.code == "rate_limit_exceeded"
    assert error.response is not None
    assert error.response.image_generation_calls[0].result == IMAGE  # what arrived is kept


@pytest.mark.parametrize("form", ["nested", "flat", "typeless", "response.error"])
def test_error_events_parse_and_round_trip(form: str) -> None:
    event = parse_event(json.dumps(ERRORS[form]))
    assert isinstance(event, ev.ErrorEvent | ev.ResponseErrorEvent)
    assert event.failure.code == "rate_limit_exceeded"
    assert event.failure.message == "Slow down"
    if form != "typeless":
        assert event.to_dict() == ERRORS[form]


def test_a_failed_response_without_output_parses_as_an_event() -> None:
    event = parse_event(json.dumps(ERRORS["failed without output"]))
    assert isinstance(event, ev.ResponseFailedEvent)
    assert event.response.output == []
    assert event.response.error is not None
    assert event.response.error.message == "Slow down"


def test_a_failed_body_is_a_failed_response_and_an_error_body_a_stream_error() -> None:
    failed = envelope("failed", [], error={"code": "server_error", "message": "model crashed"})
    stream = ResponseStream(content_type="application/json")
    stream.feed(json.dumps(failed).encode())
    stream.end()
    response = stream.finish()
    assert response.status == "failed"
    assert response.error is not None and response.error.message == "model crashed"
    body = ResponseStream(content_type="application/json")
    body.feed(json.dumps({"error": {"code": 402, "message": "Insufficient credits"}}).encode())
    with pytest.raises(StreamError, match="Insufficient credits") as info:
        body.end()
    assert info.value.code == 402


def test_an_error_event_in_a_chat_stream_is_reported() -> None:
    chunk = chat_chunk([{"index": 0, "delta": {"content": "Drawing"}}])
    for error in (ERRORS["flat"], ERRORS["nested"], ERRORS["typeless"]):
        with pytest.raises(StreamError, match="Slow down") as info:
            streamed(sse([chunk, error]), route="chat")
        assert info.value.code == "rate_limit_exceeded"


# -- chat: content as a string, null, or an array of parts ---------------------------

CHAT_ID = "gen-1764000000-abc"


def chat_chunk(choices: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": CHAT_ID,
        "object": "chat.completion.chunk",
        "created": 1764000000,
        "model": "google/gemini-2.5-flash-image",
        "choices": choices,
        **fields,
    }


def completion(messages: dict[int, dict[str, Any]], usage: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": CHAT_ID,
        "object": "chat.completion",
        "created": 1764000000,
        "model": "google/gemini-2.5-flash-image",
        "choices": [
            {"index": index, "message": {"role": "assistant", **message}, "finish_reason": "stop"}
            for index, message in sorted(messages.items())
        ],
    }
    if usage is not None:
        body["usage"] = usage
    return body


MIXED = [
    {"type": "text", "text": "Here is "},
    {"type": "image_url", "image_url": {"url": DATA_URL}},
    {"type": "reasoning_note", "note": {"kept": True}},
    {"type": "text", "text": "your picture."},
    {"type": "image_url", "image_url": DATA_URL},  # the bare-string form some servers send
]


@pytest.mark.parametrize(
    ("content", "text", "images", "others"),
    [
        ("Here is your picture.", "Here is your picture.", 1, 0),
        (None, "", 1, 0),
        ([], "", 1, 0),
        (MIXED, "Here is your picture.", 3, 1),
    ],
)
def test_chat_content_in_each_shape(content: Any, text: str, images: int, others: int) -> None:
    message = {
        "content": content,
        "images": [{"type": "image_url", "image_url": {"url": DATA_URL}}],
    }
    plain = response_from_chat(completion({0: message}))
    assert plain.output_text == text
    assert len(plain.image_generation_calls) == images
    assert all(call.image().media_type == "image/png" for call in plain.image_generation_calls)
    kept = [
        part
        for item in plain.output
        if isinstance(item, OutputAssistant)
        for part in item.content
        if isinstance(part, UnknownContent)
    ]
    assert len(kept) == others
    if others:
        assert kept[0].raw == MIXED[2]
    chunks = [
        chat_chunk([{"index": 0, "delta": {"role": "assistant", **message}}]),
        chat_chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
    ]
    for size in (None, 3):
        assert streamed(sse(chunks), route="chat", size=size) == plain


def test_chat_images_keep_their_ids_whatever_chunks_carried_them() -> None:
    part = {"type": "image_url", "image_url": {"url": DATA_URL}}
    listed = {"type": "image_url", "image_url": {"url": DATA_URL}}
    whole = {"content": [{"type": "text", "text": "Two"}, part], "images": [listed, listed]}
    plain = response_from_chat(completion({0: whole}))
    ids = [call.id for call in plain.image_generation_calls]
    assert ids == [f"{CHAT_ID}-image-0", f"{CHAT_ID}-image-1", f"{CHAT_ID}-content-image-0"]
    # The content part arrives first and the listed images in two later chunks.
    chunks = [
        chat_chunk([{"index": 0, "delta": {"content": [{"type": "text", "text": "Two"}, part]}}]),
        chat_chunk([{"index": 0, "delta": {"images": [listed]}}]),
        chat_chunk([{"index": 0, "delta": {"images": [listed]}, "finish_reason": "stop"}]),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StreamWarning)
        assert streamed(sse(chunks), route="chat") == plain


# -- saved captures: SSE and JSONL, route guessed -----------------------------------


def responses_events() -> list[dict[str, Any]]:
    return items_then_empty_completed([CALL, MESSAGE])


def chat_chunks() -> list[dict[str, Any]]:
    image = {"type": "image_url", "image_url": {"url": DATA_URL}}
    return [
        chat_chunk([{"index": 0, "delta": {"role": "assistant", "content": "Done."}}]),
        chat_chunk([{"index": 0, "delta": {"images": [image]}, "finish_reason": "stop"}]),
    ]


def image_api_events() -> list[dict[str, Any]]:
    # `type` last: the guess must not rely on it coming first.
    return [
        {"b64_json": IMAGE, "partial_image_index": 0, "type": "image_generation.partial_image"},
        {"b64_json": IMAGE, "media_type": "image/png", "type": "image_generation.completed"},
    ]


CAPTURES = {"responses": responses_events, "chat": chat_chunks, "images": image_api_events}


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\n", b"\r\n")


@pytest.mark.parametrize("route", list(CAPTURES))
@pytest.mark.parametrize(
    "shape",
    [
        "sse",
        "sse-crlf",
        "sse-no-blank-line",
        "sse-crlf-ending",
        "sse-no-newline",
        "jsonl",
        "jsonl-crlf",
    ],
)
def test_read_capture_guesses_the_route_and_reads_every_shape(route: str, shape: str) -> None:
    objects = CAPTURES[route]()
    last = encode_event(json.dumps(objects[-1]))
    data = {
        "sse": sse(objects, done=False),
        "sse-crlf": _crlf(sse(objects)),
        "sse-no-blank-line": sse(objects[:-1], done=False) + last[:-1],
        "sse-crlf-ending": _crlf(sse(objects[:-1], done=False) + last[:-1]),
        "sse-no-newline": sse(objects[:-1], done=False) + last.rstrip(b"\n"),
        "jsonl": jsonl(objects),
        "jsonl-crlf": _crlf(jsonl(objects)).rstrip(b"\r\n"),
    }[shape]
    response = read_capture(data)
    assert response.status == "completed"
    (image,) = response.images()
    assert image.data == base64.b64decode(IMAGE)
    assert read_capture(data, route=route) == response  # type: ignore[arg-type]


def test_a_live_stream_drops_an_unterminated_last_event_a_saved_one_takes_it() -> None:
    objects = responses_events()
    data = sse(objects[:-1], done=False) + encode_event(json.dumps(objects[-1])).rstrip(b"\n")
    with pytest.raises(StreamError, match=r"ended before response\.completed") as info:
        streamed(data)
    assert info.value.response is not None
    assert info.value.response.image_generation_calls[0].result == IMAGE
    saved = ResponseStream(saved=True)
    saved.feed(data)
    saved.end()
    assert saved.finish().output_text == "Here it is."


@pytest.mark.parametrize("shape", ["sse", "jsonl"])
def test_a_capture_cut_inside_its_last_event_warns_and_raises_with_what_arrived(
    shape: str,
) -> None:
    objects = responses_events()
    whole = sse(objects, done=False) if shape == "sse" else jsonl(objects)
    data = whole[: whole.rindex(b'"response.completed"') + 40]
    with pytest.warns(StreamWarning, match="incomplete and was left out"):
        with pytest.raises(StreamError, match=r"ended before response\.completed") as info:
            read_capture(data)
    assert info.value.response is not None
    assert info.value.response.image_generation_calls[0].result == IMAGE


def test_a_malformed_line_before_the_last_is_an_error_naming_it() -> None:
    lines = jsonl(responses_events()).splitlines()
    lines[1] = lines[1][:20]
    with pytest.raises(StreamError, match="line 2") as info:
        read_capture(b"\n".join(lines))
    assert info.value.event_index == 1
    assert info.value.offset == len(lines[0]) + 1


def test_capture_stream_keeps_partial_images() -> None:
    stream = capture_stream(sse(image_api_events()))
    assert [p.partial_image_index for p in stream.partial_images] == [0]
    assert stream.finish().image_generation_calls[0].status == "completed"


def test_a_recorded_failure_raises_with_the_servers_message() -> None:
    data = jsonl([*responses_events()[:2], ERRORS["nested"]])
    with pytest.raises(StreamError, match="Slow down") as info:
        read_capture(data)
    assert info.value.code == "rate_limit_exceeded"


# -- properties: chat streams with content arrays ------------------------------------

_TEXT = st.text(alphabet="ab \u00e9\n\U0001f600", max_size=6)
_URLS = st.sampled_from([DATA_URL, f"data:image/png;base64,{_png(40)}", "https://x.test/i.png"])
_PART = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, _TEXT),
    st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, _URLS),
    st.builds(lambda u: {"type": "image_url", "image_url": u}, _URLS),
    st.builds(lambda n: {"type": "x_unknown_part", "n": n}, st.integers(0, 9)),
)
_DELTA = st.fixed_dictionaries(
    {"content": st.one_of(st.none(), _TEXT, st.lists(_PART, max_size=4))},
    optional={
        "images": st.lists(
            st.builds(lambda u: {"type": "image_url", "image_url": {"url": u}}, _URLS),
            max_size=2,
        )
    },
)
_STEPS = st.lists(st.tuples(st.integers(0, 1), _DELTA), min_size=1, max_size=8)


def _chat_stream(steps: list[tuple[int, dict[str, Any]]]) -> tuple[bytes, dict[str, Any]]:
    """The SSE of `steps` (choice index, delta) and the completion it adds up to unstreamed."""
    messages: dict[int, dict[str, Any]] = {}
    for index, delta in steps:
        message = messages.setdefault(index, {"content": [], "images": []})
        content = delta["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        message["content"] += content or []
        message["images"] += delta.get("images", [])
    chunks = [chat_chunk([{"index": index, "delta": delta}]) for index, delta in steps]
    usage = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    chunks.append(
        chat_chunk(
            [{"index": index, "delta": {}, "finish_reason": "stop"} for index in sorted(messages)],
            usage=usage,
        )
    )
    return sse(chunks), completion(messages, usage)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STEPS, st.data())
def test_property_chat_streams_in_any_chunking_equal_the_unstreamed_completion(
    steps: list[tuple[int, dict[str, Any]]], data: st.DataObject
) -> None:
    stream, body = _chat_stream(steps)
    cuts = data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=30, unique=True))
    bounds = [0, *sorted(cuts), len(stream)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", StreamWarning)  # the streamed items agree with the final
        whole = streamed(stream, route="chat")
        live = ResponseStream("chat")
        for start, end in itertools.pairwise(bounds):
            live.feed(stream[start:end])
        live.end()
        chunked = live.finish()
    plain = response_from_chat(body)
    assert chunked == whole == plain
    assert [c.id for c in chunked.image_generation_calls] == [
        c.id for c in plain.image_generation_calls
    ]
    assert chunked.output_text == plain.output_text
    assert read_capture(stream) == plain


def test_a_route_marker_quoted_inside_text_does_not_mislead_the_guess() -> None:
    text = '"type": "image_generation.completed"'
    quoting = {**MESSAGE, "content": [{"type": "output_text", "text": text}]}
    # The item comes before the event's own `type`, so the quoted text is met first.
    first = {"item": quoting, "output_index": 0, "type": "response.output_item.done"}
    final = {"type": "response.completed", "response": envelope("completed", [quoting])}
    data = jsonl([first, final])
    assert data.index(b"image_generation.") < data.index(b'"type": "response.')
    assert read_capture(data).output_text == text
