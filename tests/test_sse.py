"""The sans-I/O Server-Sent Events decoder and encoder, against the WHATWG rules."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen._exceptions import ValidationError
from openrouter_imagegen.stream import ServerSentEvent, SSEDecoder, encode_comment, encode_event

BOM = b"\xef\xbb\xbf"


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.end()


def datas(*chunks: bytes) -> list[str]:
    return [event.data for event in decode(*chunks)]


def one_byte_at_a_time(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


# -- line ends ------------------------------------------------------------------------


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending(newline: bytes) -> None:
    stream = newline.join([b"data: one", b"data: two", b"", b"data: three", b"", b""])
    assert datas(stream) == ["one\ntwo", "three"]
    assert datas(*one_byte_at_a_time(stream)) == ["one\ntwo", "three"]


def test_mixed_line_endings_in_one_stream() -> None:
    assert datas(b"data: a\rdata: b\r\ndata: c\n\r\n") == ["a\nb\nc"]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # Were the LF taken as a second line end, each data line would dispatch alone.
    assert datas(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == ["a\nb"]
    # An empty chunk between the CR and its LF does not part them.
    assert datas(b"data: a\r", b"", b"\n\r\n") == ["a"]


def test_cr_at_chunk_end_followed_by_other_bytes_is_a_line_end() -> None:
    assert datas(b"data: a\r", b"data: b\r", b"\r") == ["a\nb"]


# -- byte order mark ------------------------------------------------------------------


def test_leading_bom_is_skipped() -> None:
    assert datas(BOM + b"data: x\n\n") == ["x"]


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_bom_split_across_chunks_is_skipped(cut: int) -> None:
    stream = BOM + b"data: x\n\n"
    assert datas(stream[:cut], stream[cut:]) == ["x"]
    assert datas(*one_byte_at_a_time(stream)) == ["x"]


def test_bom_prefix_that_is_not_a_bom_is_kept() -> None:
    # Held back while it might be a BOM, then given back to the line.
    # They make a line of their own here, so the event begins at offset 0.
    assert decode(b"\xef\xbb", b"\ndata: x\n\n") == [ServerSentEvent(data="x", offset=0)]
    assert datas(b"\xef\xbb", b"data: x\n\n") == []  # the field name is not "data"


def test_bom_not_at_the_start_is_kept() -> None:
    # Later, a BOM is an ordinary character: it makes an unknown field name here...
    assert datas(b"data: x\n\n" + BOM + b"data: y\n\n") == ["x"]
    # ...and is part of the value here.
    assert datas(b"data: " + BOM + b"z\n\n") == ["\ufeffz"]
    # Only one BOM is skipped.
    assert datas(BOM + BOM + b"data: x\n\n") == []


# -- fields ---------------------------------------------------------------------------


def test_comments_are_counted_not_dispatched() -> None:
    decoder = SSEDecoder()
    stream = encode_comment("OPENROUTER PROCESSING") + b"data: x\n\n" + b":\n\n" + b":no space\n"
    assert [e.data for e in decoder.feed(stream)] == ["x"]
    assert decoder.comment_count == 3
    assert not decoder.pending  # a comment starts no event


def test_multi_line_data_is_joined_with_lf() -> None:
    assert datas(b"data: a\ndata:\ndata: c\n\n") == ["a\n\nc"]
    assert datas(b"data\ndata\n\n") == ["\n"]


def test_only_one_space_after_the_colon_is_stripped() -> None:
    assert datas(b"data:  two spaces\n\n") == [" two spaces"]
    assert datas(b"data:no space\n\n") == ["no space"]
    assert datas(b"data:\tx\n\n") == ["\tx"]


def test_only_the_first_colon_separates() -> None:
    assert datas(b'data: {"a": "b:c"}\n\n') == ['{"a": "b:c"}']


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    (event,) = decode(b"data\nevent\n\n")
    assert (event.event, event.data) == ("message", "")


def test_unknown_fields_are_ignored() -> None:
    assert decode(b"bogus: 1\nData: x\ndata : y\ndata: z\n\n") == [
        ServerSentEvent(data="z", offset=0)
    ]


def test_event_type() -> None:
    events = decode(
        b"event: response.created\ndata: 1\n\n"
        b"data: 2\n\n"  # the type does not carry over
        b"event:\ndata: 3\n\n"  # empty means "message"
        b"event: a\nevent: b\ndata: 4\n\n"  # the last one wins
    )
    assert [(e.event, e.data) for e in events] == [
        ("response.created", "1"),
        ("message", "2"),
        ("message", "3"),
        ("b", "4"),
    ]


def test_id_persists_across_events() -> None:
    events = decode(
        b"data: a\n\n"
        b"id: 7\ndata: b\n\n"
        b"data: c\n\n"  # the last id is still in force
        b"id: 8\n\n"  # an event without data is not dispatched, but its id sticks
        b"data: d\n\n"
        b"id\ndata: e\n\n"  # an empty id resets it to ""
    )
    assert [(e.data, e.id) for e in events] == [
        ("a", None),
        ("b", "7"),
        ("c", "7"),
        ("d", "8"),
        ("e", ""),
    ]


def test_id_with_nul_is_ignored() -> None:
    events = decode(b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n")
    assert [e.id for e in events] == ["1", "1"]


def test_retry() -> None:
    valid = decode(b"retry: 1500\ndata: a\n\ndata: b\n\nretry:0\ndata: c\n\n")
    assert [e.retry for e in valid] == [1500, None, 0]  # per event, not persisted


@pytest.mark.parametrize(
    "value",
    [b"", b"-1", b"1.5", b"1e3", b" 5", b"5 ", b"0x10", "\u0661".encode(), "\u00b2".encode()],
    ids=repr,
)
def test_retry_that_is_not_only_ascii_digits_is_ignored(value: bytes) -> None:
    (event,) = decode(b"retry: 9\nretry: " + value + b"\ndata: x\n\n")
    assert event.retry == 9


def test_event_without_data_is_not_dispatched() -> None:
    assert decode(b"event: ping\n\n") == []
    assert decode(b"id: 1\nretry: 5\n\n") == []
    # ...and its type and retry do not leak into the next event.
    (event,) = decode(b"event: ping\nretry: 5\n\ndata: x\n\n")
    assert (event.event, event.retry) == ("message", None)


def test_blank_lines_alone_dispatch_nothing() -> None:
    assert decode(b"\n\n\r\n\r\r") == []


def test_invalid_utf8_is_replaced() -> None:
    (event,) = decode(b"event: caf\xc3\nid: \xff\ndata: caf\xff\ndata: \xe2\x82\n\n")
    assert (event.event, event.id, event.data) == ("caf\ufffd", "\ufffd", "caf\ufffd\n\ufffd")


def test_done_sentinel_is_just_data() -> None:
    assert decode(b"data: [DONE]\n\n") == [ServerSentEvent(data="[DONE]")]


# -- end of stream, pending, offsets --------------------------------------------------


def test_end_discards_an_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: complete\n\ndata: cut\n") == [ServerSentEvent(data="complete")]
    assert decoder.pending
    assert decoder.end() == []
    assert not decoder.pending


@pytest.mark.parametrize(
    ("stream", "pending"),
    [
        (b"", False),
        (b"data: x\n\n", False),
        (b"data: x\n\n: keep-alive\n", False),
        (b"data: x", True),  # an unfinished line
        (b": keep-al", True),
        (b"data: x\r", True),  # an unfinished event
        (b"event: x\n", True),
        (b"\xef", True),  # held while it may be a BOM
        (BOM, False),
    ],
)
def test_pending(stream: bytes, pending: bool) -> None:
    decoder = SSEDecoder()
    decoder.feed(stream)
    assert decoder.pending is pending
    decoder.end()
    assert not decoder.pending


def test_offset_counts_every_byte_fed() -> None:
    decoder = SSEDecoder()
    for chunk in [BOM[:1], BOM[1:], b"data: x\r", b"\n", b"", b"\r\n"]:
        decoder.feed(chunk)
    assert decoder.offset == len(BOM) + 11


def test_event_offsets_point_at_their_first_field_line() -> None:
    first = encode_event("one")
    comment = encode_comment("keep-alive")
    second = b": a comment first\r\nevent: x\r\ndata: two\r\n\r\n"
    stream = BOM + first + comment + second
    expected = [len(BOM), len(BOM + first + comment) + len(b": a comment first\r\n")]
    assert [e.offset for e in decode(stream)] == expected
    assert [e.offset for e in decode(*one_byte_at_a_time(stream))] == expected


def test_ten_megabyte_data_line_in_4kb_chunks() -> None:
    payload = bytes(range(65, 91)) * 400_000  # 10.4 MB, not one repeated byte
    stream = encode_event(payload) + encode_event("after")
    decoder = SSEDecoder()
    events = []
    for start in range(0, len(stream), 4096):
        events += decoder.feed(stream[start : start + 4096])
    assert [bytes(e.raw_data) for e in events] == [payload, b"after"]
    assert events[1].offset == len(encode_event(payload))
    assert decoder.offset == len(stream)
    assert not decoder.pending


# -- the event object -----------------------------------------------------------------


def test_event_is_immutable_and_a_value() -> None:
    event = ServerSentEvent(event="e", data="x", id="1", retry=2, offset=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = "y"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.offset = 0
    same = ServerSentEvent(event="e", raw_data=memoryview(b"x"), id="1", retry=2, offset=3)
    assert event == same
    assert hash(event) == hash(same)
    assert event != ServerSentEvent(event="e", data="x", id="1", retry=2, offset=4)
    assert ServerSentEvent() == ServerSentEvent(event="message", data="", offset=0)
    with pytest.raises(TypeError):
        ServerSentEvent(data="x", raw_data=b"x")


def test_event_repr_does_not_print_megabytes() -> None:
    assert repr(ServerSentEvent(data="hi")) == (
        "ServerSentEvent(event='message', data='hi', id=None, retry=None, offset=0)"
    )
    assert "<1,000,000 bytes>" in repr(ServerSentEvent(raw_data=b"x" * 1_000_000))


# -- the encoder ----------------------------------------------------------------------


def test_encode_event_fields_and_multi_line_data() -> None:
    wire = encode_event("a\nb\r\nc\rd", event="e", id="1", retry=5)
    assert wire == b"event: e\nid: 1\nretry: 5\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
    assert decode(wire) == [ServerSentEvent(event="e", data="a\nb\nc\nd", id="1", retry=5)]


def test_encode_event_takes_bytes_as_they_are() -> None:
    assert encode_event(b'{"a":1}') == b'data: {"a":1}\n\n'
    assert encode_event(b"\xff\n") == b"data: \xff\ndata: \n\n"
    assert encode_event("") == b"data: \n\n"  # still one event, with empty data
    assert datas(encode_event("")) == [""]


@pytest.mark.parametrize(
    "kwargs",
    [{"event": "a\nb"}, {"event": "a\r"}, {"id": "1\n"}, {"id": "1\x002"}, {"retry": -1}],
    ids=repr,
)
def test_encode_event_refuses_values_that_break_the_framing(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        encode_event("x", **kwargs)  # type: ignore[arg-type]


def test_encode_comment() -> None:
    assert encode_comment("OPENROUTER PROCESSING") == b": OPENROUTER PROCESSING\n\n"
    assert encode_comment() == b":\n\n"
    with pytest.raises(ValidationError):
        encode_comment("two\nlines")


# -- properties -----------------------------------------------------------------------


def chunked(stream: bytes, data: st.DataObject) -> list[bytes]:
    """`stream` cut at points hypothesis picks (empty chunks included)."""
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30), label="cuts")
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


_line_free_text = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=20)
_sent_events = st.lists(
    st.tuples(
        st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=30),
        st.none() | _line_free_text,
        st.none() | _line_free_text.filter(lambda text: "\0" not in text),
        st.none() | st.integers(0, 10**6),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(_sent_events, st.data())
def test_property_encoded_events_decode_back_under_any_chunking(
    sent: list[tuple[str, str | None, str | None, int | None]], data: st.DataObject
) -> None:
    stream = BOM + b"".join(
        encode_event(text, event=event, id=event_id, retry=retry) + encode_comment("k")
        for text, event, event_id, retry in sent
    )
    whole = decode(stream)
    expected = []
    last_id = None
    for text, event, event_id, retry in sent:
        last_id = last_id if event_id is None else event_id
        expected.append((event or "message", text, last_id, retry))
    assert [(e.event, e.data, e.id, e.retry) for e in whole] == expected
    assert decode(*chunked(stream, data)) == whole
    assert decode(*one_byte_at_a_time(stream)) == whole


def reference_decode(stream: bytes) -> list[tuple[str, str, str | None, int | None]]:
    """The WHATWG algorithm done the obvious way, on the whole stream at once."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    *lines, _unterminated = re.split(r"\r\n|\r|\n", text)
    events: list[tuple[str, str, str | None, int | None]] = []
    data: list[str] = []
    event_type, last_id, retry = "", None, None
    for line in lines:
        if not line:
            if data:
                events.append((event_type or "message", "\n".join(data), last_id, retry))
            data, event_type, retry = [], "", None
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and re.fullmatch(r"[0-9]+", value):
            retry = int(value)
    return events


_field_lines = st.tuples(
    st.sampled_from([b"data", b"data", b"event", b"id", b"retry", b"", b"bogus", BOM + b"data"]),
    st.sampled_from([b": ", b": ", b":", b":  ", b""]),
    st.one_of(
        st.sampled_from([b"7", b"x", b"12"]),
        st.lists(
            st.sampled_from([b"x", b"7", b":", b" ", b"\0", b"\xff", b"\xc3", "é".encode(), BOM]),
            max_size=4,
        ).map(b"".join),
    ),
).map(b"".join)


@st.composite
def wire_streams(draw: st.DrawFn) -> bytes:
    """Blocks of field lines (every odd case mixed in), each closed by a blank line."""
    blocks = draw(st.lists(st.lists(_field_lines, min_size=1, max_size=4), max_size=6))
    lines = [line for block in blocks for line in [*block, b""]]
    newline = st.sampled_from([b"\n", b"\r\n", b"\r"])
    endings = draw(st.lists(newline, min_size=len(lines), max_size=len(lines)))
    head = draw(st.sampled_from([b"", BOM]))
    tail = draw(st.binary(max_size=5))  # an unterminated last line, discarded
    return head + b"".join(line + end for line, end in zip(lines, endings, strict=True)) + tail


@settings(max_examples=300, deadline=None)
@given(wire_streams(), st.data())
def test_property_matches_the_reference_under_any_chunking(
    stream: bytes, data: st.DataObject
) -> None:
    whole = decode(stream)
    assert [(e.event, e.data, e.id, e.retry) for e in whole] == reference_decode(stream)
    assert decode(*chunked(stream, data)) == whole
    assert decode(*one_byte_at_a_time(stream)) == whole
