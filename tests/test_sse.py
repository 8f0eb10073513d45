"""The sans-I/O Server-Sent Events decoder, against the WHATWG rules."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen.stream import ServerSentEvent, SSEDecoder, encode_comment, encode_event


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.end()


def datas(*chunks: bytes) -> list[str]:
    return [event.data for event in decode(*chunks)]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending(newline: bytes) -> None:
    stream = newline.join([b"data: one", b"data: two", b"", b"data: three", b"", b""])
    assert datas(stream) == ["one\ntwo", "three"]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    assert datas(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]
    # A lone CR at a chunk's end, followed by something else, ends the line too.
    assert datas(b"data: a\r", b"data: b\r\r") == ["a\nb"]


def test_byte_order_mark_is_skipped_only_at_the_start() -> None:
    bom = b"\xef\xbb\xbf"
    assert datas(bom + b"data: x\n\n") == ["x"]
    assert datas(bom[:1], bom[1:2], bom[2:] + b"data: x\n\n") == ["x"]
    events = decode(b"data: x\n\n" + bom + b"data: y\n\n")
    assert [e.data for e in events] == ["x"]  # a BOM later is part of a field name: ignored line


def test_comments_are_not_events_and_are_counted() -> None:
    decoder = SSEDecoder()
    stream = encode_comment("OPENROUTER PROCESSING") + b"data: x\n\n" + b":\n\n"
    assert [e.data for e in decoder.feed(stream)] == ["x"]
    assert decoder.comment_count == 2


def test_fields() -> None:
    events = decode(
        b"event: custom\nid: 7\nretry: 1500\ndata: a\n\n"
        b"data\n\n"  # no colon: a data field with an empty value
        b"data:no-space\nunknown: ignored\n\n"
        b"id: bad\x00id\nretry: soon\ndata: b\n\n"
    )
    assert [(e.event, e.data, e.id, e.retry) for e in events] == [
        ("custom", "a", "7", 1500),
        ("message", "", "7", None),
        ("message", "no-space", "7", None),
        ("message", "b", "7", None),  # an id with NUL is ignored; the last one persists
    ]


def test_only_one_leading_space_is_stripped() -> None:
    assert datas(b"data:  two spaces\n\n") == [" two spaces"]


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\n") == []


def test_end_discards_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: complete\n\ndata: cut") == [
        ServerSentEvent(data="complete", offset=0)
    ]
    assert decoder.pending
    assert decoder.end() == []
    assert not decoder.pending


def test_offsets_point_at_each_event_start() -> None:
    first = encode_event("one")
    comment = encode_comment("keep-alive")
    second = encode_event("two", event="x")
    events = decode(first + comment + second)
    assert [e.offset for e in events] == [0, len(first) + len(comment)]


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert datas(b"data: caf\xff\n\n") == ["caf\ufffd"]


def test_done_sentinel_is_just_data_here() -> None:
    assert datas(b"data: [DONE]\n\n") == ["[DONE]"]


def test_ten_megabyte_line_in_4kb_chunks() -> None:
    payload = "A" * 10_000_000
    stream = encode_event(payload) + encode_event("after")
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(stream), 4096):
        events += decoder.feed(stream[start : start + 4096])
    assert [len(e.data) for e in events] == [10_000_000, 5]
    assert events[0].data == payload
    assert decoder.offset == len(stream)


def test_encode_event_multiline_and_fields() -> None:
    wire = encode_event("a\nb\r\nc", event="e", id="1", retry=5)
    assert wire == b"event: e\nid: 1\nretry: 5\ndata: a\ndata: b\ndata: c\n\n"
    (event,) = decode(wire)
    assert (event.event, event.data, event.id, event.retry) == ("e", "a\nb\nc", "1", 5)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
_events = st.lists(
    st.tuples(
        _text,
        st.none() | st.sampled_from(["message", "x", "response.created"]),
        st.none() | st.from_regex(r"[a-z0-9]{1,5}", fullmatch=True),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(_events, st.data())
def test_property_any_chunking_gives_the_same_events(
    events: list[tuple[str, str | None, str | None]], data: st.DataObject
) -> None:
    stream = b"\xef\xbb\xbf" + b"".join(
        encode_event(text, event=kind, id=event_id) + encode_comment("k")
        for text, kind, event_id in events
    )
    whole = decode(stream)
    assert [e.data for e in whole] == [
        text.replace("\r\n", "\n").replace("\r", "\n") for text, _, _ in events
    ]
    cuts = sorted(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=20, unique=True)))
    pieces = [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)])]
    assert decode(*pieces) == whole


def test_one_byte_at_a_time() -> None:
    stream = (
        b"\xef\xbb\xbf" + encode_event("x\ny", event="e") + b"data: z\r\n\r\n" + encode_comment("c")
    )
    assert decode(*(stream[i : i + 1] for i in range(len(stream)))) == decode(stream)
