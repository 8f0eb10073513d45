"""The images layer: result shapes, sniffing, safe atomic saves, downloads."""

from __future__ import annotations

import base64
import http.server
import io
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen import (
    ImageDecodeError,
    ImageDownloadError,
    ImageError,
    ImageIsRemoteError,
    ImageSkippedWarning,
    ImageUnavailableError,
    MediaTypeMismatchWarning,
    MissingDependencyError,
    OutputImageGenerationCall,
    Response,
    UnknownImageFormatError,
)
from openrouter_imagegen.images import (
    GeneratedImage,
    b64decode_lenient,
    decode_result,
    fetch_image_bytes,
    safe_filename,
    save_images,
)
from openrouter_imagegen.models import Output

Image = pytest.importorskip("PIL.Image")


def make(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (10, 200, 90) if mode == "RGB" else None).save(buffer, fmt)
    return buffer.getvalue()


PNG = make("PNG")
B64 = base64.b64encode(PNG).decode()

AVIF_HEADER = (
    b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
    + b"\x00\x00\x00\x14ispe\x00\x00\x00\x00\x00\x00\x01\x40\x00\x00\x00\xf0"
)
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"></svg>'
)
SVG_VIEWBOX = b'<svg viewBox="0 0 64 32" xmlns="http://www.w3.org/2000/svg"><rect/></svg>'


# -- media types and dimensions ------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "media_type", "extension", "size"),
    [
        ("PNG", "image/png", "png", (40, 30)),
        ("JPEG", "image/jpeg", "jpg", (33, 17)),
        ("WEBP", "image/webp", "webp", (64, 16)),
        ("GIF", "image/gif", "gif", (7, 300)),
        ("BMP", "image/bmp", "bmp", (21, 22)),
        ("TIFF", "image/tiff", "tiff", None),
    ],
)
def test_media_type_and_dimensions_from_real_images(
    fmt: str, media_type: str, extension: str, size: tuple[int, int] | None
) -> None:
    data = make(fmt, size or (5, 5))
    image = decode_result(base64.b64encode(data).decode(), call_id="c")
    assert image.media_type == media_type
    assert image.extension == extension
    if size is not None:
        assert (image.width, image.height) == size
    assert image.data == data


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_webp_lossless_and_extended_headers(mode: str) -> None:
    buffer = io.BytesIO()
    Image.new(mode, (300, 123)).save(buffer, "WEBP", lossless=True)
    image = GeneratedImage(buffer.getvalue(), source="base64")
    assert (image.width, image.height) == (300, 123)


def test_avif_and_svg_from_bytes() -> None:
    avif = GeneratedImage(AVIF_HEADER, source="base64")
    assert (avif.media_type, avif.width, avif.height) == ("image/avif", 320, 240)
    svg = GeneratedImage(SVG, source="base64")
    assert (svg.media_type, svg.extension, svg.width, svg.height) == (
        "image/svg+xml",
        "svg",
        120,
        80,
    )
    boxed = GeneratedImage(SVG_VIEWBOX, source="base64")
    assert (boxed.width, boxed.height) == (64, 32)


# -- result shapes ----------------------------------------------------------------


def test_every_result_shape_gives_the_same_bytes() -> None:
    shapes = {
        "bare": B64,
        "no padding": B64.rstrip("="),
        "line breaks": "\n".join(B64[i : i + 76] for i in range(0, len(B64), 76)),
        "spaces": " ".join(B64[i : i + 10] for i in range(0, len(B64), 10)),
        "url-safe": base64.urlsafe_b64encode(PNG).decode(),
        "data URL": f"data:image/png;base64,{B64}",
        "data URL with params": f"data:image/png;charset=utf-8;name=fox.png;base64,{B64}",
        "data URL upper case": f"DATA:image/PNG;BASE64,{B64}",
    }
    for name, result in shapes.items():
        image = decode_result(result, call_id="ig")
        assert image.data == PNG, name
        assert image.media_type == "image/png", name
    assert decode_result(shapes["data URL"]).source == "data_url"
    assert decode_result(B64).source == "base64"
    assert decode_result(shapes["data URL with params"]).declared_media_type == "image/png"


def test_declared_media_type_mismatch_warns() -> None:
    with pytest.warns(MediaTypeMismatchWarning, match="image/jpeg"):
        image = decode_result(f"data:image/jpeg;base64,{B64}", call_id="x")
    assert image.media_type == "image/png"
    assert image.declared_media_type == "image/jpeg"
    assert issubclass(MediaTypeMismatchWarning, UserWarning)


def test_call_and_response_conveniences(tmp_path: Path) -> None:
    calls = [
        OutputImageGenerationCall(id="ig_a", status="completed", result=B64),
        OutputImageGenerationCall(id="ig_b", status="failed", result=None),
        OutputImageGenerationCall(id="ig_c", status="in_progress"),
    ]
    response = Response(output=list[Output](calls))
    assert calls[0].image().data == PNG
    with pytest.warns(ImageSkippedWarning, match="ig_b \\(failed\\).*ig_c \\(in_progress\\)"):
        images = response.images()
    assert [i.call_id for i in images] == ["ig_a"]
    with pytest.raises(ImageUnavailableError, match="ig_b"):
        response.images(strict=True)
    with pytest.warns(ImageSkippedWarning):
        paths = save_images(response, tmp_path / "new" / "dir")
    assert [p.name for p in paths] == ["ig_a.png"]
    assert paths[0].read_bytes() == PNG
    with pytest.warns(ImageSkippedWarning):
        assert response.save_images(tmp_path / "other") == [tmp_path / "other" / "ig_a.png"]


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["failed", "in_progress", "generating", "completed"])
@pytest.mark.parametrize("result", [None, "", "   "])
def test_no_result_is_unavailable_naming_id_and_status(status: str, result: str | None) -> None:
    call = OutputImageGenerationCall(id="ig_9", status=status, result=result)
    with pytest.raises(ImageUnavailableError) as info:
        call.image()
    assert info.value.call_id == "ig_9"
    assert info.value.status == status
    assert "ig_9" in str(info.value)
    assert status in str(info.value)


@pytest.mark.parametrize(
    ("text", "offset", "needle"),
    [
        ("iVBOR*w0K", 5, "'*'"),
        ("iVBORw0K\u00e9GgoAAA", 8, "'é'"),
        ("iVBORw0KGgo=AAAA", 12, "padding"),
        ("iVBORw0KG", 9, "ends mid-byte"),
    ],
)
def test_invalid_base64_names_the_offset(text: str, offset: int, needle: str) -> None:
    with pytest.raises(ImageDecodeError) as info:
        decode_result(text)
    assert info.value.offset == offset
    assert f"offset {offset}" in str(info.value)
    assert needle in str(info.value)


def test_invalid_base64_inside_a_data_url_counts_from_the_url_start() -> None:
    url = "data:image/png;base64,iVBOR!"
    with pytest.raises(ImageDecodeError) as info:
        decode_result(url)
    assert info.value.offset == url.index("!")


def test_malformed_data_url() -> None:
    with pytest.raises(ImageDecodeError, match="no ','"):
        decode_result("data:image/png;base64")


def test_bytes_that_are_no_image_show_their_head() -> None:
    with pytest.raises(UnknownImageFormatError) as info:
        decode_result(base64.b64encode(b"%PDF-1.7 not an image").decode(), call_id="ig")
    assert "25 50 44 46" in str(info.value)
    assert "%PDF" in str(info.value)
    assert info.value.head.startswith(b"%PDF")


def test_remote_result_needs_fetch() -> None:
    call = OutputImageGenerationCall(
        id="ig_r", status="completed", result="https://user:pw@cdn.example.test/a.png?sig=secret"
    )
    with pytest.raises(ImageIsRemoteError) as info:
        call.image()
    assert info.value.call_id == "ig_r"
    assert "fetch=True" in str(info.value)
    assert "secret" not in str(info.value)
    assert "pw" not in str(info.value)


def test_errors_share_one_base_class() -> None:
    for cls in (
        ImageUnavailableError,
        ImageIsRemoteError,
        ImageDecodeError,
        UnknownImageFormatError,
        ImageDownloadError,
    ):
        assert issubclass(cls, ImageError)


def test_to_pil_and_its_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    image = decode_result(B64)
    pil = image.to_pil()
    assert pil.size == (40, 30)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingDependencyError, match=r"openrouter-imagegen\[pil\]"):
        image.to_pil()


def test_to_pil_keeps_the_decompression_bomb_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ImageDecodeError, match="max_pixels=100"):
        decode_result(B64).to_pil()


def test_data_url_and_base64_round_trip() -> None:
    image = decode_result(B64)
    assert image.base64() == B64
    assert decode_result(image.data_url()).data == PNG
    assert image.data_url().startswith("data:image/png;base64,")
    assert "bytes" in repr(image)
    assert len(repr(decode_result(base64.b64encode(make("PNG", (900, 900))).decode()))) < 200


# -- saving ------------------------------------------------------------------------------

HOSTILE_IDS = [
    "../escape",
    "../../etc/passwd",
    "/etc/passwd",
    "a/../../b",
    "C:\\Windows\\system32",
    "\\\\server\\share",
    "nul\x00byte",
    "con",
    "CON",
    "CON.txt",
    "lpt1",
    "com9.png",
    "aux",
    "..",
    ".",
    "",
    " ",
    ".hidden",
    "trailing. . .",
    "line\nbreak",
    "tab\tand\rcr",
    "x" * 300,
    "é" * 200,
    "🙂" * 100,
    'a:b*c?d|e<f>g"h',
    "\u202ertl-override",
    "ig_normal",
    "IG_NORMAL",
]


def test_hostile_ids_stay_inside_the_directory_and_never_collide(tmp_path: Path) -> None:
    image = decode_result(B64)
    names: set[str] = set()
    for raw in HOSTILE_IDS:
        image.call_id = raw
        path = image.save(tmp_path)
        assert path.parent == tmp_path, raw
        assert path.resolve().parent == tmp_path.resolve(), raw
        assert path.read_bytes() == PNG
        name = path.name
        assert len(name.encode()) <= 255
        assert not name.startswith(".")
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert name.split(".")[0].upper() not in {"CON", "NUL", "AUX", "PRN", "LPT1", "COM9"}
        names.add(name)
    assert len(names) == len(HOSTILE_IDS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_safe_ids_are_kept_as_they_are() -> None:
    assert safe_filename("ig_abc-123", "png") == "ig_abc-123.png"
    assert safe_filename("../x", "png") != safe_filename("__x", "png")


@given(st.text(max_size=40))
def test_property_safe_filename_is_always_a_plain_name(raw: str) -> None:
    name = safe_filename(raw, "png")
    assert name.endswith(".png")
    assert os.path.basename(name) == name
    assert name not in {".png", "..png"}
    assert not name.startswith(".")
    assert len(name.encode()) <= 255


def test_save_to_a_file_path_and_overwrite(tmp_path: Path) -> None:
    image = decode_result(B64, call_id="ig")
    target = tmp_path / "chosen-name.bin"
    assert image.save(target) == target
    assert target.read_bytes() == PNG
    with pytest.raises(FileExistsError):
        image.save(target)
    image.save(tmp_path)
    with pytest.raises(FileExistsError):
        image.save(tmp_path)
    jpeg = decode_result(base64.b64encode(make("JPEG")).decode(), call_id="ig")
    jpeg.save(target, overwrite=True)
    assert target.read_bytes() == jpeg.data


@pytest.mark.parametrize("failing", ["fsync", "replace", "link"])
def test_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, failing, boom)
    image = decode_result(B64, call_id="ig")
    target = tmp_path / "out.png"
    overwrite = failing == "replace"
    if failing == "link":
        # No hard links: the fallback renames instead, and the write still completes.
        image.save(target)
        assert target.read_bytes() == PNG
    else:
        with pytest.raises(OSError, match="disk on fire"):
            image.save(target, overwrite=overwrite)
        assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# -- base64 properties -------------------------------------------------------------------


@given(st.binary(max_size=300), st.sampled_from(["std", "url", "nopad", "wrapped"]))
def test_property_base64_variants_round_trip(data: bytes, variant: str) -> None:
    text = base64.b64encode(data).decode()
    if variant == "url":
        text = base64.urlsafe_b64encode(data).decode()
    elif variant == "nopad":
        text = text.rstrip("=")
    elif variant == "wrapped":
        text = "\r\n".join(text[i : i + 8] for i in range(0, len(text), 8))
    assert b64decode_lenient(text) == data


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_property_garbage_results_raise_only_image_errors(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            decode_result(text, call_id="g")
        except ImageError:
            pass


# -- downloads over loopback ------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/image.png": (200, {"Content-Type": "image/png"}, PNG),
            "/redirect": (302, {"Location": "/image.png"}, b""),
            "/loop": (302, {"Location": "/loop"}, b""),
            "/to-https": (302, {"Location": "https://127.0.0.1:9/x.png"}, b""),
            "/big": (200, {"Content-Type": "image/png"}, PNG * 50),
            "/missing": (404, {}, b"no"),
        }
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def local_http() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_follows_redirects_over_loopback(local_http: str) -> None:
    image = decode_result(
        f"{local_http}/redirect", call_id="r", fetch=True, allow_http=True, allow_private_hosts=True
    )
    assert image.data == PNG
    assert image.source == "url"
    assert image.declared_media_type == "image/png"


def test_fetch_refuses_http_unless_allowed(local_http: str) -> None:
    with pytest.raises(ImageDownloadError, match="scheme must be https"):
        decode_result(f"{local_http}/image.png", fetch=True)
    with pytest.raises(ImageDownloadError, match="scheme"):
        fetch_image_bytes("ftp://127.0.0.1/x.png")


def test_fetch_limits(local_http: str) -> None:
    with pytest.raises(ImageDownloadError, match="max_bytes"):
        fetch_image_bytes(
            f"{local_http}/big", allow_http=True, allow_private_hosts=True, max_bytes=len(PNG) * 2
        )
    with pytest.raises(ImageDownloadError, match="redirects"):
        fetch_image_bytes(f"{local_http}/loop", allow_http=True, allow_private_hosts=True)
    with pytest.raises(ImageDownloadError, match="404"):
        fetch_image_bytes(f"{local_http}/missing", allow_http=True, allow_private_hosts=True)
    with pytest.raises(ImageDownloadError, match="failed"):
        fetch_image_bytes(
            "http://127.0.0.1:9/nothing.png", allow_http=True, allow_private_hosts=True, timeout=2
        )


@pytest.mark.anyio
async def test_async_fetch(local_http: str) -> None:
    from openrouter_imagegen.images import aimage_from_call

    call = OutputImageGenerationCall(id="ig", status="completed", result=f"{local_http}/redirect")
    image = await aimage_from_call(call, fetch=True, allow_http=True, allow_private_hosts=True)
    assert image.data == PNG
    with pytest.raises(ImageIsRemoteError):
        await aimage_from_call(call)
