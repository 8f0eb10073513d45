"""Hostile input: secrets never shown, and nothing but the library's own errors, in time.

Regression tests for what the security review found (issue 14), then
hypothesis properties over every public parser and decoder: whatever the
input, a call ends within a generous time bound and raises, if anything, an
`ImagegenError`.
"""

from __future__ import annotations

import base64
import http.server
import io
import json
import logging
import socket
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from openrouter_imagegen import (
    APIConnectionError,
    AuthenticationError,
    ImageClient,
    ImageDecodeError,
    ImageDownloadError,
    ImagegenError,
    ValidationError,
    parse_event,
    parse_response,
)
from openrouter_imagegen.images import (
    GeneratedImage,
    b64decode_lenient,
    decode_result,
    dimensions,
    parse_data_url,
    sniff_media_type,
)
from openrouter_imagegen.images._metadata import read_metadata
from openrouter_imagegen.models._base import MAX_DEPTH
from openrouter_imagegen.models.images import parse_image_event
from openrouter_imagegen.stream import ResponseStream, SSEDecoder, read_capture

KEY = "sk-or-v1-0123456789abcdef0123456789abcdef"
PASSWORD = "hunter2-base-url-password"
TIME_BOUND = 5.0  # seconds: generous; the hangs this guards against took minutes


def _png(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()

# -- the API key -----------------------------------------------------------------------------


class _Recording(http.server.BaseHTTPRequestHandler):
    """Answers 401 to everything, as OpenRouter does to a bad key."""

    def do_GET(self) -> None:
        body = b'{"error": {"code": 401, "message": "No auth credentials found"}}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def unauthorized() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _sent_authorization(client: ImageClient) -> str | None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"data": []})

    client._http = httpx.Client(transport=httpx.MockTransport(handler))
    client.image_models()
    return seen[0]


@pytest.mark.parametrize("key", [KEY + "\r", KEY + "\r\n", f"  {KEY}\n", f"\t{KEY} "])
def test_surrounding_whitespace_of_a_key_is_stripped(key: str) -> None:
    with ImageClient(api_key=key, base_url="https://api.example/v1") as client:
        assert _sent_authorization(client) == f"Bearer {KEY}"


def test_a_key_from_a_crlf_env_file_is_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY + "\r")
    with ImageClient(base_url="https://api.example/v1") as client:
        assert _sent_authorization(client) == f"Bearer {KEY}"


def test_a_blank_key_is_no_key() -> None:
    with ImageClient(api_key=" \r\n", base_url="https://api.example/v1") as client:
        assert _sent_authorization(client) is None
        assert "api_key=none" in repr(client)


@pytest.mark.parametrize(
    ("bad", "kind"),
    [
        ("\x00", "a control character (U+0000)"),
        ("\n", "a control character (U+000A)"),
        ("\x7f", "a control character (U+007F)"),
        ("\x1b", "a control character (U+001B)"),
        ("é", "a non-ASCII character (U+00E9)"),
        ("\u200b", "a non-ASCII character (U+200B)"),
        ("\ud800", "a non-ASCII character (U+D800)"),
    ],
)
def test_a_key_no_header_can_carry_is_refused_without_showing_it(bad: str, kind: str) -> None:
    key = KEY[:20] + bad + KEY[20:]
    with pytest.raises(ValidationError) as info:
        ImageClient(api_key=key, base_url="https://api.example/v1")
    message = str(info.value)
    assert f"character 21 of {len(key)} is {kind}" in message
    assert KEY[:20] not in message and KEY[20:] not in message
    assert info.value.value is None and info.value.path == "api_key"
    assert info.value.__cause__ is None and info.value.__context__ is None


@settings(max_examples=200)
@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12),
    st.characters().filter(lambda c: not " " <= c <= "~" and not c.isspace()),
    st.integers(min_value=1, max_value=11),
)
def test_property_a_refused_key_never_appears_in_the_error(
    printable: str, bad: str, where: int
) -> None:
    key = printable[:where] + bad + printable[where:]
    try:
        ImageClient(api_key=key, base_url="https://api.example/v1")
    except ValidationError as exc:
        for part in (printable[:where], printable[where:]):
            assert len(part) < 8 or part not in str(exc)
    else:
        raise AssertionError("a key with a control or non-ASCII character was taken")


def test_base_url_credentials_never_show_in_repr() -> None:
    url = f"https://user:{PASSWORD}@api.example/api/v1"
    with ImageClient(api_key=KEY, base_url=url) as client:
        assert client.base_url == url  # requests use it as given
        assert PASSWORD not in repr(client) and "user" not in repr(client)
        assert "https://api.example/api/v1" in repr(client)


@pytest.mark.parametrize("url", ["ftp://api.example/v1", "http://[::1/v1", "api.example/v1"])
def test_a_base_url_that_is_no_http_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="base_url"):
        ImageClient(api_key=KEY, base_url=url)


def _no_secret(text: str) -> None:
    assert KEY not in text and PASSWORD not in text
    assert KEY[10:30] not in text  # not even a piece of it


def test_no_error_or_log_line_shows_the_key_or_the_password(
    unauthorized: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "openrouter_imagegen"):
        caplog.set_level(logging.DEBUG, logger=name)
    url = f"http://user:{PASSWORD}@127.0.0.1:{unauthorized}/api/v1"
    with ImageClient(api_key=KEY + "\r\n", base_url=url, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as info:
            client.image_models()
        _no_secret(str(info.value))
        _no_secret(repr(client))
    messages = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request: GET http://127.0.0.1" in m for m in messages)  # it did log
    assert any(m.startswith("connect_tcp") for m in messages)  # httpcore at DEBUG too
    for message in messages:
        _no_secret(message)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_transport_error_shows_the_url_without_its_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://user:{PASSWORD}@127.0.0.1:{_closed_port()}/api/v1"
    with ImageClient(api_key=KEY, base_url=url, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as info:
            client.image_models()
    assert "http://127.0.0.1:" in str(info.value)
    _no_secret(str(info.value))
    for record in caplog.records:
        _no_secret(record.getMessage())


def test_when_httpx_refuses_a_header_value_the_key_is_not_in_its_complaint(
    unauthorized: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A bad value elsewhere (here the app name) makes the HTTP layer quote a header.
    caplog.set_level(logging.DEBUG)
    url = f"http://user:{PASSWORD}@127.0.0.1:{unauthorized}/api/v1"
    with ImageClient(api_key=KEY, base_url=url, app_name="bad\nname", max_retries=0) as client:
        with pytest.raises(ImagegenError) as info:
            client.image_models()
    assert "name" in str(info.value)  # the complaint is there, about the bad header
    _no_secret(str(info.value))
    for record in caplog.records:
        _no_secret(record.getMessage())


# -- exceptions outside the tree: regressions ---------------------------------------------------


def test_a_lone_surrogate_in_json_text_is_a_validation_error() -> None:
    with pytest.raises(
        ValidationError, match="at byte 22: '\\\\ud800' is a lone surrogate"
    ) as info:
        parse_response('{"output": [], "id": "\ud800"}')
    assert info.value.offset == 22
    with pytest.raises(ValidationError):
        parse_event('{"type": "x\udcff"}')


_NESTED_HEAD = '{"output": [], "metadata": {"a": '  # two levels open before the arrays


def _nested(depth: int) -> str:
    return _NESTED_HEAD + "[" * depth + "]" * depth + "}}"


@pytest.mark.parametrize("parse", [parse_response, parse_event, parse_image_event])
@pytest.mark.parametrize("depth", [MAX_DEPTH, 5_000, 1_000_000])
def test_deeply_nested_json_is_a_validation_error_naming_the_depth(
    parse: Callable[[str], Any], depth: int
) -> None:
    started = time.monotonic()
    with pytest.raises(ValidationError, match=f"more than {MAX_DEPTH} levels") as info:
        parse(_nested(depth))
    # The array that opens level MAX_DEPTH + 1 (two levels are open before the arrays).
    assert info.value.offset == len(_NESTED_HEAD) + MAX_DEPTH - 2
    assert time.monotonic() - started < TIME_BOUND


def test_nesting_up_to_the_limit_survives_every_recursive_step_even_on_a_deep_stack() -> None:
    document = _nested(MAX_DEPTH - 2)  # the object and its metadata are two levels
    brackets_in_strings = '{"output": [], "id": "' + "[" * 5000 + '"}'

    def deep(frames: int) -> None:
        if frames:
            deep(frames - 1)
            return
        response = parse_response(document)
        assert json.loads(response.to_json()) == json.loads(document)
        repr(response)
        assert parse_response(brackets_in_strings).id == "[" * 5000

    deep(sys.getrecursionlimit() // 4)


def test_a_truncated_deep_document_is_scanned_in_linear_time() -> None:
    # Past the failing depth the text is not JSON; the scan must not chew on it.
    hostile = "[" * 5_000 + '"' + '\\"' * 200_000
    started = time.monotonic()
    with pytest.raises(ValidationError):
        parse_response(hostile)
    assert time.monotonic() - started < TIME_BOUND


@pytest.mark.parametrize("text", ["=" * 5_000, "QQ" + "=" * 20_000, "A=" + " =" * 20_000])
def test_padding_runs_decode_in_linear_time(text: str) -> None:
    # `=+[\s=]*[^\s=]` took 26 s on 2,000 '='.
    started = time.monotonic()
    try:
        b64decode_lenient(text)
    except ImageDecodeError:
        pass
    assert time.monotonic() - started < 1.0


def test_a_lone_surrogate_in_a_data_url_is_an_image_decode_error() -> None:
    with pytest.raises(ImageDecodeError, match="offset 17: '\\\\ud800' is a lone surrogate"):
        parse_data_url("data:image/png,ab\ud800")


@pytest.mark.parametrize(
    "url",
    ["https://[::1/x.png", "https://exa mple.com/x.png", "https://\ud800.example/x.png",
     "https://host.example:99999/x.png", "https://0x7f.1/x.png", "https://a\x00b/x.png"],
)  # fmt: skip
def test_malformed_urls_are_image_download_errors(url: str) -> None:
    with pytest.raises(ImageDownloadError):
        decode_result(url, fetch=True)


def test_pillow_errors_are_image_decode_errors() -> None:
    corrupt_data = PNG[:33] + b"\x00\x00\x00\x04IDATabcd\x00\x00\x00\x00"
    for data in (corrupt_data, PNG[:40]):
        image = GeneratedImage(data, source="base64", call_id="broken")
        with pytest.raises(ImageDecodeError, match="Pillow cannot read the image/png image"):
            image.to_pil()
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>'
    with pytest.raises(ImageDecodeError):
        GeneratedImage(svg, source="base64").to_pil()


def test_to_pil_refuses_too_many_pixels_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    image = GeneratedImage(PNG, source="base64", call_id="big")
    with pytest.raises(
        ImageDecodeError, match="40 x 30 = 1,200 pixels, more than max_pixels=1,000"
    ):
        image.to_pil(max_pixels=1_000)
    assert image.to_pil(max_pixels=1_200).size == (40, 30)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)  # Pillow's own limit is the default
    with pytest.raises(ImageDecodeError, match="max_pixels=1,000"):
        image.to_pil()


def test_a_header_claiming_a_huge_image_is_refused_without_decoding_it() -> None:
    # The 144-megapixel case of the review: 12,000 x 12,000 in the header, a few bytes of data.
    header = bytearray(_png(1, 1))
    header[16:24] = (12_000).to_bytes(4, "big") * 2
    image = GeneratedImage(bytes(header), source="base64")
    assert (image.width, image.height) == (12_000, 12_000)
    started = time.monotonic()
    with pytest.raises(ImageDecodeError, match="144,000,000 pixels"):
        image.to_pil()
    assert time.monotonic() - started < 1.0


def test_pillows_lazy_size_is_checked_when_the_header_gives_none() -> None:
    image = GeneratedImage(PNG, source="base64", call_id="lazy")
    image.width = image.height = None  # as for a format whose header this library does not read
    with pytest.raises(ImageDecodeError, match="1,200 pixels"):
        image.to_pil(max_pixels=100)


def test_an_image_api_answer_that_is_no_object_is_a_library_error() -> None:
    # Found by the fuzzer: it was an AttributeError.
    stream = ResponseStream("images", content_type="application/json")
    stream.feed(b"9")
    with pytest.raises(ImagegenError):
        stream.end()


# -- properties: only the library's errors, in time ----------------------------------------------


def _bounded(call: Callable[[], object]) -> None:
    """Run `call`; only an `ImagegenError` may come out, and only within `TIME_BOUND`."""
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except ImagegenError:
            pass
    assert time.monotonic() - started < TIME_BOUND


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_TYPES = st.sampled_from(
    ["image_generation_call", "message", "response.completed", "response.created",
     "response.image_generation_call.partial_image", "response.output_item.added",
     "response.output_item.done", "error", "image_generation.completed", "x"]
)  # fmt: skip


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """JSON near the wire format: known types and keys, wrong values, odd nesting."""
    output = draw(st.lists(st.dictionaries(st.sampled_from(["type", "id", "status", "result"]),
                                           _TYPES | _JSON), max_size=3))  # fmt: skip
    body: dict[str, Any] = {"output": output, "type": draw(_TYPES)}
    keys = st.sampled_from(["id", "status", "response", "usage", "item", "error", "data"])
    body.update(draw(st.dictionaries(keys, _JSON)))
    return json.dumps(body)


_INPUTS = st.binary(max_size=2_000) | _documents().map(str.encode)
_TEXTS = st.text(max_size=500) | _documents()


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_property_json_parsers_raise_only_library_errors(text: str) -> None:
    for parse in (parse_response, parse_event, parse_image_event):
        for form in (text, text.encode("utf-8", "surrogatepass")):
            _bounded(partial(parse, form))


@settings(max_examples=400)
@given(st.text(max_size=300), st.sampled_from(["", "data:", "data:image/png;base64,", " "]))
def test_property_result_decoders_raise_only_library_errors(text: str, prefix: str) -> None:
    _bounded(lambda: decode_result(prefix + text, call_id="p"))
    _bounded(lambda: b64decode_lenient(prefix + text))
    _bounded(lambda: parse_data_url("data:" + text))


@settings(max_examples=300)
@given(st.binary(max_size=2_000), st.integers(min_value=1, max_value=64))
def test_property_sse_decoder_never_raises(data: bytes, step: int) -> None:
    decoder = SSEDecoder()
    for start in range(0, len(data), step):
        for event in decoder.feed(data[start : start + step]):
            repr(event)
    decoder.end()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_INPUTS, st.sampled_from(["responses", "chat"]), st.booleans())
def test_property_response_streams_raise_only_library_errors(
    data: bytes, route: str, as_json: bool
) -> None:
    content_type = "application/json" if as_json else "text/event-stream"

    def run() -> None:
        stream = ResponseStream(route, content_type=content_type)  # type: ignore[arg-type]
        for start in range(0, len(data), 7):
            stream.feed(data[start : start + 7])
        stream.end()
        stream.finish()

    _bounded(run)
    _bounded(lambda: read_capture(data))
    _bounded(lambda: read_capture(b"data: " + data + b"\n\n"))


@settings(max_examples=500)
@given(
    st.sampled_from([PNG, _png(3, 2), b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ", b"\xff\xd8\xff", b"<svg"])
    | st.just(b""),
    st.binary(max_size=600),
    st.integers(min_value=0, max_value=80),
)
def test_property_sniffers_and_header_readers_never_raise(
    head: bytes, tail: bytes, cut: int
) -> None:
    data = head[:cut] + tail if cut < len(head) else head + tail
    started = time.monotonic()
    media_type = sniff_media_type(data)
    size = dimensions(data, media_type)
    assert size is None or all(1 <= side <= 65_535 for side in size)
    for kind in ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"):
        dimensions(data, kind)
    if media_type is not None:
        _bounded(lambda: GeneratedImage(data, source="base64").to_pil(max_pixels=10_000))
    assert time.monotonic() - started < TIME_BOUND


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=1_000) | st.builds(lambda tail: PNG + tail, st.binary(max_size=300)),
       _JSON.map(lambda value: json.dumps(value).encode()) | st.binary(max_size=200))  # fmt: skip
def test_property_read_metadata_raises_only_library_errors(
    scratch: Path, data: bytes, sidecar: bytes
) -> None:
    image = scratch / "image.png"
    image.write_bytes(data)
    _bounded(lambda: read_metadata(image))
    image.write_bytes(PNG)
    (scratch / "image.png.json").write_bytes(sidecar)
    _bounded(lambda: read_metadata(image))


def test_inline_results_round_trip_through_the_hostile_paths() -> None:
    # The happy path still holds after all the checks above.
    encoded = base64.b64encode(PNG).decode()
    for result in (encoded, f"data:image/png;base64,{encoded}", " \n" + encoded + "\n"):
        assert decode_result(result).to_pil().size == (40, 30)
