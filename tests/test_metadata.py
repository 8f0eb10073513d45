"""Provenance metadata: embedded without re-encoding, read back, checked by exiftool."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_imagegen._exceptions import (
    ImageError,
    UnknownImageFormatError,
    ValidationError,
)
from openrouter_imagegen.images._metadata import (
    SCHEMA,
    ImageMetadata,
    content_credentials,
    embed_metadata,
    read_metadata,
    sidecar_path,
    write_sidecar,
)

Image = pytest.importorskip("PIL.Image")

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="exiftool is absent (Debian/Ubuntu: apt-get install libimage-exiftool-perl)",
)

HOSTILE_PROMPT = (
    'A cat ]]> <script>alert("x")</script> & \'quotes\' "double" 🐱🏳️‍🌈 '
    "שלום עולם مرحبا\r\nsecond line\ttab </rdf:li></rdf:Alt> &amp; <!-- -->"
)

METADATA = ImageMetadata(
    prompt=HOSTILE_PROMPT,
    model="google/gemini-2.5-flash-image",
    route="responses",
    parameters={"size": "1024x1024", "n": 1, "quality": None, "nested": {"a": [1, 2.5, True]}},
    seed=1234567890123,
    generation_id="gen-1730000000-AbCdEf",
    cost_usd=0.039,
    created="2026-08-01T12:34:56Z",
    generator="openrouter-imagegen 0.1.0",
    extra={"call_id": "ig_123", "note": "<&>"},
)


# -- building test images with Pillow -------------------------------------------


def picture(mode: str, size: tuple[int, int] = (48, 32)) -> Any:
    """A noisy picture, so the compressed data is not trivially small."""
    rng = random.Random(f"{mode}{size}")
    raw = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * len(mode)))
    return Image.frombytes(mode, size, raw)


def encode(image: Any, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def exif_block() -> Any:
    exif = Image.Exif()
    exif[0x010F] = "TestMake"  # Make
    # the IFD0 tags exiftool's validation requires, so the original has no warnings
    exif[0x011A], exif[0x011B], exif[0x0128], exif[0x0213] = 72.0, 72.0, 2, 1
    return exif


def without_app0(jpeg: bytes) -> bytes:
    assert jpeg[2:4] == b"\xff\xe0", "Pillow writes JFIF APP0 first"
    length = int.from_bytes(jpeg[4:6], "big")
    return jpeg[:2] + jpeg[4 + length :]


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "made by a test")
    return encode(picture("RGB"), "PNG", pnginfo=info)


CASES = {
    "png": (png_with_text, "image/png", ".png"),
    "png-rgba": (lambda: encode(picture("RGBA"), "PNG"), "image/png", ".png"),
    "jpeg-jfif": (lambda: encode(picture("RGB"), "JPEG", quality=90), "image/jpeg", ".jpg"),
    "jpeg-bare": (
        lambda: without_app0(encode(picture("RGB"), "JPEG", quality=90)),
        "image/jpeg",
        ".jpg",
    ),
    "jpeg-exif": (
        lambda: encode(picture("RGB"), "JPEG", exif=exif_block()),
        "image/jpeg",
        ".jpg",
    ),
    "webp-lossy": (lambda: encode(picture("RGB"), "WEBP", quality=80), "image/webp", ".webp"),
    "webp-lossless-alpha": (
        lambda: encode(picture("RGBA"), "WEBP", lossless=True),
        "image/webp",
        ".webp",
    ),
    "webp-extended": (
        lambda: encode(picture("RGB"), "WEBP", quality=80, exif=exif_block()),
        "image/webp",
        ".webp",
    ),
    "webp-extended-alpha": (
        lambda: encode(picture("RGBA"), "WEBP", quality=80, exif=exif_block()),
        "image/webp",
        ".webp",
    ),
}


# -- independent container walkers, to check what changed ----------------------


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    at, chunks = 8, []
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        crc = int.from_bytes(data[at + 8 + length : at + 12 + length], "big")
        assert zlib.crc32(kind + payload) == crc, f"bad CRC for {kind!r}"
        chunks.append((kind, payload))
        at += 12 + length
    return chunks


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(4, "big")
        + kind
        + payload
        + zlib.crc32(kind + payload).to_bytes(4, "big")
    )


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """(marker, payload) of each header segment, and everything from SOS on."""
    at, segments = 2, []
    while data[at + 1] != 0xDA:
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        segments.append((data[at + 1], data[at + 4 : at + 2 + length]))
        at += 2 + length
    return segments, data[at:]


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert int.from_bytes(data[4:8], "little") == len(data) - 8, "RIFF size"
    at, chunks = 12, []
    while at < len(data):
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        chunks.append((data[at : at + 4], data[at + 8 : at + 8 + size]))
        at += 8 + size + (size & 1)
    return chunks


def compressed_data(data: bytes, media_type: str) -> list[bytes]:
    if media_type == "image/png":
        return [payload for kind, payload in png_chunks(data) if kind == b"IDAT"]
    if media_type == "image/jpeg":
        return [jpeg_segments(data)[1]]
    image_kinds = (b"VP8 ", b"VP8L", b"ALPH")
    return [payload for kind, payload in webp_chunks(data) if kind in image_kinds]


def read_from_bytes(data: bytes, suffix: str) -> ImageMetadata | None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"image{suffix}"
        path.write_bytes(data)
        return read_metadata(path)


def exiftool_json(path: Path) -> dict[str, Any]:
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-j", "-G1", "-XMP:all", "-PNG:all", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    fields: dict[str, Any] = json.loads(done.stdout)[0]
    return fields


def exiftool_warnings(path: Path) -> list[str]:
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-validate", "-warning", "-a", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = done.stdout.splitlines()
    assert any(line.startswith("Validate") for line in lines), done.stdout
    return [line for line in lines + done.stderr.splitlines() if line.startswith("Warning")]


# -- round trips ----------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_round_trip_keeps_pixels_and_compressed_data(case: str, tmp_path: Path) -> None:
    make, media_type, suffix = CASES[case]
    original = make()
    embedded = embed_metadata(original, media_type, METADATA)

    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(embedded))
    assert (after.mode, after.size) == (before.mode, before.size)
    assert after.tobytes() == before.tobytes()
    assert compressed_data(embedded, media_type) == compressed_data(original, media_type)
    assert compressed_data(original, media_type)  # the walker found the image data

    path = tmp_path / f"image{suffix}"
    path.write_bytes(embedded)
    assert read_metadata(path) == METADATA


def test_unannotated_images_have_no_metadata(tmp_path: Path) -> None:
    for name, (make, _, suffix) in CASES.items():
        path = tmp_path / f"{name}{suffix}"
        path.write_bytes(make())
        assert read_metadata(path) is None, name


def test_png_layout_json_and_xmp_after_ihdr_other_chunks_kept() -> None:
    original = png_with_text()
    chunks = png_chunks(embed_metadata(original, "image/png", METADATA))
    kinds = [kind for kind, _ in chunks]
    assert kinds[:3] == [b"IHDR", b"iTXt", b"iTXt"]
    assert kinds.index(b"iTXt") < kinds.index(b"IDAT")
    ours, xmp = chunks[1][1], chunks[2][1]
    assert ours.startswith(b"openrouter-imagegen\x00\x00\x00\x00\x00")
    assert json.loads(ours.split(b"\x00", 5)[5])["schema"] == SCHEMA
    assert xmp.startswith(b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<?xpacket begin=")
    # every chunk that was there is still there, in its order
    assert [c for c in chunks if c[0] != b"iTXt"] == [
        c for c in png_chunks(original) if c[0] != b"iTXt"
    ]
    assert (b"tEXt", b"Comment\x00made by a test") in chunks


def test_png_xmp_alone_is_enough(tmp_path: Path) -> None:
    embedded = embed_metadata(png_with_text(), "image/png", METADATA)
    chunks = png_chunks(embedded)
    rebuilt = embedded[:8] + b"".join(
        png_chunk(kind, payload)
        for kind, payload in chunks
        if not payload.startswith(b"openrouter-imagegen\x00")
    )
    path = tmp_path / "xmp-only.png"
    path.write_bytes(rebuilt)
    assert read_metadata(path) == METADATA


def with_our_itxt_compressed(png: bytes, text: bytes) -> bytes:
    """`png` with our iTXt chunk rewritten compressed (flag 1), as `exiftool -z` may leave it."""
    rebuilt = []
    for kind, payload in png_chunks(png):
        if payload.startswith(b"openrouter-imagegen\x00"):
            payload = b"openrouter-imagegen\x00\x01\x00\x00\x00" + text
        rebuilt.append(png_chunk(kind, payload))
    return png[:8] + b"".join(rebuilt)


def test_png_compressed_itxt_is_read(tmp_path: Path) -> None:
    embedded = embed_metadata(SMALL["png"], "image/png", METADATA)
    good = with_our_itxt_compressed(embedded, zlib.compress(METADATA.to_json().encode()))
    assert read_from_bytes(good, ".png") == METADATA
    broken = with_our_itxt_compressed(embedded, b"not zlib at all")
    with pytest.raises(ImageError, match="the iTXt text does not inflate"):
        read_from_bytes(broken, ".png")


@pytest.mark.parametrize(
    ("case", "expected_markers"),
    [
        ("jpeg-jfif", [0xE0, 0xE1]),
        ("jpeg-bare", [0xE1]),
        ("jpeg-exif", [0xE0, 0xE1, 0xE1]),
    ],
)
def test_jpeg_xmp_goes_after_jfif_and_exif(case: str, expected_markers: list[int]) -> None:
    original = CASES[case][0]()
    segments, _ = jpeg_segments(embed_metadata(original, "image/jpeg", METADATA))
    leading = [marker for marker, _ in segments[: len(expected_markers)]]
    assert leading == expected_markers
    xmp = segments[len(expected_markers) - 1][1]
    assert xmp.startswith(b"http://ns.adobe.com/xap/1.0/\x00<?xpacket")
    if case == "jpeg-exif":
        assert segments[1][1].startswith(b"Exif\x00\x00")
    # everything else is unchanged and in order
    assert [s for s in segments if s != segments[len(expected_markers) - 1]] == jpeg_segments(
        original
    )[0]


@pytest.mark.parametrize(
    ("case", "alpha"),
    [("webp-lossy", False), ("webp-lossless-alpha", True)],
)
def test_simple_webp_becomes_extended(case: str, alpha: bool) -> None:
    original = CASES[case][0]()
    assert original[12:16] in (b"VP8 ", b"VP8L")
    chunks = webp_chunks(embed_metadata(original, "image/webp", METADATA))
    assert [kind for kind, _ in chunks] == [b"VP8X", original[12:16], b"XMP "]
    flags = chunks[0][1][0]
    assert flags & 0x04  # XMP
    assert bool(flags & 0x10) is alpha
    width = 1 + int.from_bytes(chunks[0][1][4:7], "little")
    height = 1 + int.from_bytes(chunks[0][1][7:10], "little")
    assert (width, height) == (48, 32)


def test_extended_webp_gets_the_flag_and_xmp_after_exif() -> None:
    original = CASES["webp-extended-alpha"][0]()
    before = webp_chunks(original)
    assert before[0][0] == b"VP8X"
    assert not before[0][1][0] & 0x04
    after = webp_chunks(embed_metadata(original, "image/webp", METADATA))
    assert [kind for kind, _ in after] == [kind for kind, _ in before] + [b"XMP "]
    assert after[0][1] == bytes([before[0][1][0] | 0x04]) + before[0][1][1:]
    assert after[1:-1] == before[1:]


@pytest.mark.parametrize("case", sorted(CASES))
def test_embedding_twice_replaces_rather_than_duplicates(case: str, tmp_path: Path) -> None:
    make, media_type, suffix = CASES[case]
    second = ImageMetadata(prompt="second", model="m", route="images")
    once = embed_metadata(make(), media_type, METADATA)
    twice = embed_metadata(once, media_type, second)
    assert len(twice) < len(once)  # the hostile first prompt is gone
    assert embed_metadata(embed_metadata(make(), media_type, second), media_type, second) == (
        embed_metadata(make(), media_type, second)
    )
    path = tmp_path / f"image{suffix}"
    path.write_bytes(twice)
    assert read_metadata(path) == second


# -- exiftool reads what we wrote ---------------------------------------------------


@needs_exiftool
@pytest.mark.parametrize("case", sorted(CASES))
def test_exiftool_reads_fields_without_warnings(case: str, tmp_path: Path) -> None:
    make, media_type, suffix = CASES[case]
    path = tmp_path / f"image{suffix}"
    path.write_bytes(embed_metadata(make(), media_type, METADATA))

    fields = exiftool_json(path)
    assert fields["XMP-dc:Description"] == HOSTILE_PROMPT
    assert fields["XMP-xmp:CreatorTool"] == "openrouter-imagegen 0.1.0"
    assert fields["XMP-xmp:CreateDate"] == "2026:08:01 12:34:56Z"
    assert fields["XMP-oig:Schema"] == SCHEMA
    assert fields["XMP-oig:Model"] == METADATA.model
    assert fields["XMP-oig:Route"] == "responses"
    assert fields["XMP-oig:Seed"] == METADATA.seed
    assert fields["XMP-oig:GenerationId"] == METADATA.generation_id
    assert fields["XMP-oig:CostUSD"] == METADATA.cost_usd
    assert json.loads(fields["XMP-oig:Parameters"]) == METADATA.parameters
    assert json.loads(fields["XMP-oig:Extra"]) == METADATA.extra
    if media_type == "image/png":
        assert ImageMetadata.from_json(fields["PNG:Openrouter-imagegen"]) == METADATA
    assert exiftool_warnings(path) == []
    original = tmp_path / f"original{suffix}"
    original.write_bytes(make())
    assert exiftool_warnings(original) == []


@needs_exiftool
def test_exiftool_warning_check_catches_a_broken_chunk(tmp_path: Path) -> None:
    """The warning check above is not vacuous: a bad CRC in our chunk is reported."""
    embedded = bytearray(embed_metadata(png_with_text(), "image/png", METADATA))
    embedded[embedded.find(b'"prompt"')] ^= 0x01
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(embedded))
    assert any("CRC" in line for line in exiftool_warnings(path))
    with pytest.raises(ImageError, match="CRC"):
        read_metadata(path)


# -- escaping and text edge cases ---------------------------------------------------

XML_SAFE_TEXT = st.text(
    st.characters(
        codec="utf-8",  # no lone surrogates
        exclude_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"]
        + ["\ufffe", "\uffff"],
    ),
    max_size=60,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | XML_SAFE_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(XML_SAFE_TEXT, children, max_size=3)
    ),
    max_leaves=8,
)
METADATA_VALUES = st.builds(
    ImageMetadata,
    prompt=XML_SAFE_TEXT,
    model=XML_SAFE_TEXT,
    route=st.sampled_from(["images", "chat", "responses"]),
    parameters=st.dictionaries(XML_SAFE_TEXT, JSON_VALUES, max_size=4),
    seed=st.none() | st.integers(),
    generation_id=st.none() | XML_SAFE_TEXT,
    cost_usd=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    extra=st.dictionaries(XML_SAFE_TEXT, JSON_VALUES, max_size=3),
)
SMALL = {
    "png": encode(picture("RGB", (4, 3)), "PNG"),
    "jpeg": encode(picture("RGB", (4, 3)), "JPEG"),
    "webp": encode(picture("RGB", (4, 3)), "WEBP"),
}


@settings(max_examples=150, deadline=None)
@given(metadata=METADATA_VALUES, fmt=st.sampled_from(sorted(SMALL)))
def test_any_xml_safe_metadata_round_trips(metadata: ImageMetadata, fmt: str) -> None:
    embedded = embed_metadata(SMALL[fmt], f"image/{fmt}", metadata)
    assert read_from_bytes(embedded, f".{fmt}") == metadata
    assert ImageMetadata.from_json(metadata.to_json()) == metadata


def test_control_characters_survive_in_png_json_and_become_fffd_in_xmp() -> None:
    metadata = ImageMetadata(prompt="bell\x07 nul\x00 esc\x1b", model="m", route="chat")
    png = embed_metadata(SMALL["png"], "image/png", metadata)
    assert read_from_bytes(png, ".png") == metadata
    jpeg = embed_metadata(SMALL["jpeg"], "image/jpeg", metadata)
    from_xmp = read_from_bytes(jpeg, ".jpg")
    assert from_xmp is not None
    assert from_xmp.prompt == "bell\ufffd nul\ufffd esc\ufffd"


def test_hostile_prompt_cannot_inject_xmp_properties() -> None:
    injected = "</rdf:li></rdf:Alt></dc:description><oig:model>evil</oig:model><dc:description>"
    metadata = ImageMetadata(prompt=injected, model="good", route="images")
    embedded = embed_metadata(SMALL["jpeg"], "image/jpeg", metadata)
    assert b"<oig:model>evil" not in embedded
    assert read_from_bytes(embedded, ".jpg") == metadata


def test_jpeg_segment_limit_is_refused_clearly_and_png_takes_it() -> None:
    big = ImageMetadata(prompt="p", model="m", route="images", extra={"blob": "x" * 70_000})
    with pytest.raises(ImageError, match=r"APP1 segment holds at most 65,504"):
        embed_metadata(SMALL["jpeg"], "image/jpeg", big)
    assert read_from_bytes(embed_metadata(SMALL["png"], "image/png", big), ".png") == big
    assert read_from_bytes(embed_metadata(SMALL["webp"], "image/webp", big), ".webp") == big


# -- the metadata value itself ---------------------------------------------------


def test_to_json_is_stable_and_schema_tagged() -> None:
    text = METADATA.to_json()
    document = json.loads(text)
    assert document["schema"] == "openrouter-imagegen/1"
    assert list(document) == sorted(document)
    assert ImageMetadata.from_json(text) == METADATA
    assert ImageMetadata.from_json(text).to_json() == text


def test_defaults_name_this_library_and_the_time_now() -> None:
    metadata = ImageMetadata(prompt="p", model="m", route="images")
    assert metadata.generator.startswith("openrouter-imagegen ")
    assert metadata.generator != "openrouter-imagegen "
    assert metadata.created.endswith("Z")
    assert (metadata.seed, metadata.cost_usd, metadata.parameters, metadata.extra) == (
        None,
        None,
        {},
        {},
    )


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"seed": "42"}, "$.seed"),
        ({"seed": True}, "$.seed"),
        ({"cost_usd": float("nan")}, "$.cost_usd"),
        ({"prompt": None}, "$.prompt"),
        ({"created": "yesterday"}, "$.created"),
        ({"created": "2026-08-01T12:00:00+02:00"}, "$.created"),
        ({"created": "2026-08-01T12:00:00"}, "$.created"),
        ({"parameters": {"size": (1, 2)}}, "$.parameters.size"),
        ({"parameters": {1: "a"}}, "$.parameters"),
        ({"extra": {"x": float("inf")}}, "$.extra.x"),
        ({"prompt": "lone \ud800 surrogate"}, "$.prompt"),
    ],
)
def test_invalid_fields_name_their_path(changes: dict[str, Any], path: str) -> None:
    fields: dict[str, Any] = {"prompt": "p", "model": "m", "route": "images", **changes}
    with pytest.raises(ValidationError) as caught:
        ImageMetadata(**fields)
    assert caught.value.path == path
    assert path in str(caught.value)


def test_integer_cost_becomes_float() -> None:
    assert ImageMetadata(prompt="p", model="m", route="r", cost_usd=1).cost_usd == 1.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "malformed metadata JSON at character 1"),
        ("[]", r"\$: expected an object"),
        ('{"prompt":"p","model":"m","route":"r"}', r"\$.schema"),
        ('{"schema":"openrouter-imagegen/2","prompt":"p","model":"m","route":"r"}', r"\$.schema"),
        ('{"schema":"openrouter-imagegen/1","model":"m","route":"r"}', r"\$.prompt: required"),
        (
            '{"schema":"openrouter-imagegen/1","prompt":"p","model":"m","route":"r","x":1}',
            r"\$.x",
        ),
        (
            '{"schema":"openrouter-imagegen/1","prompt":"p","model":"m","route":"r","seed":NaN}',
            "NaN",
        ),
        (b"\xff{}", "not UTF-8"),
        ("[" * 100_000, "malformed metadata JSON"),
    ],
)
def test_from_json_rejects_clearly(text: str | bytes, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        ImageMetadata.from_json(text)


# -- C2PA content credentials and sidecars ---------------------------------------

JUMBF = (28).to_bytes(4, "big") + b"jumb" + (20).to_bytes(4, "big") + b"jumd" + b"c2pa" + bytes(8)


def with_c2pa(fmt: str) -> bytes:
    if fmt == "png":
        png = SMALL["png"]
        ihdr_end = 8 + 12 + 13
        return png[:ihdr_end] + png_chunk(b"caBX", JUMBF) + png[ihdr_end:]
    if fmt == "jpeg":
        payload = b"JP" + b"\x00\x01" + b"\x00\x00\x00\x01" + JUMBF
        segment = b"\xff\xeb" + (len(payload) + 2).to_bytes(2, "big") + payload
        return SMALL["jpeg"][:2] + segment + SMALL["jpeg"][2:]
    body = SMALL["webp"][12:] + b"C2PA" + len(JUMBF).to_bytes(4, "little") + JUMBF
    return b"RIFF" + (len(body) + 4).to_bytes(4, "little") + b"WEBP" + body


@pytest.mark.parametrize("fmt", sorted(SMALL))
def test_content_credentials_are_detected_and_never_modified(fmt: str, tmp_path: Path) -> None:
    media_type = f"image/{fmt}"
    signed = with_c2pa(fmt)
    Image.open(io.BytesIO(signed)).load()  # the fakes are still valid images
    assert content_credentials(signed, media_type) is True
    assert content_credentials(SMALL[fmt], media_type) is False
    assert (
        content_credentials(embed_metadata(SMALL[fmt], media_type, METADATA), media_type) is False
    )
    with pytest.raises(ImageError, match="C2PA content credentials"):
        embed_metadata(signed, media_type, METADATA)

    image_path = tmp_path / f"signed.{fmt}"
    image_path.write_bytes(signed)
    assert read_metadata(image_path) is None
    sidecar = write_sidecar(image_path, METADATA)
    assert sidecar == tmp_path / f"signed.{fmt}.json"
    assert image_path.read_bytes() == signed
    assert read_metadata(image_path) == METADATA
    assert json.loads(sidecar.read_text(encoding="utf-8"))["prompt"] == HOSTILE_PROMPT


def test_app11_without_jumbf_is_not_credentials() -> None:
    payload = b"JP\x00\x01\x00\x00\x00\x01" + (12).to_bytes(4, "big") + b"xxxx" + bytes(4)
    jpeg = SMALL["jpeg"][:2] + b"\xff\xeb" + (len(payload) + 2).to_bytes(2, "big") + payload
    assert content_credentials(jpeg + SMALL["jpeg"][2:], "image/jpeg") is False


def test_sidecar_path_appends_json_to_the_full_name() -> None:
    assert sidecar_path("out/cat.png") == Path("out/cat.png.json")
    assert sidecar_path(Path("/x/y.final.webp")) == Path("/x/y.final.webp.json")


def test_sidecar_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    image_path = tmp_path / "a.gif"
    image_path.write_bytes(encode(picture("RGB", (2, 2)), "GIF"))
    write_sidecar(image_path, METADATA)
    other = ImageMetadata(prompt="other", model="m", route="images")
    with pytest.raises(FileExistsError):
        write_sidecar(image_path, other)
    write_sidecar(image_path, other, overwrite=True)
    assert read_metadata(image_path) == other  # a GIF carries no metadata of ours: sidecar only


def test_a_broken_sidecar_is_an_image_error(tmp_path: Path) -> None:
    image_path = tmp_path / "a.png"
    image_path.write_bytes(SMALL["png"])
    sidecar_path(image_path).write_text('{"schema": "nope"}', encoding="utf-8")
    with pytest.raises(ImageError, match=r"sidecar .*a\.png\.json holds invalid metadata"):
        read_metadata(image_path)


# -- unsupported and malformed input --------------------------------------------


@pytest.mark.parametrize("media_type", ["image/gif", "image/svg+xml", "image/avif"])
def test_other_formats_are_refused(media_type: str) -> None:
    with pytest.raises(ImageError, match=re.escape(f"cannot embed metadata in {media_type}")):
        embed_metadata(b"GIF89a", media_type, METADATA)
    with pytest.raises(ImageError, match="only PNG, JPEG and WebP"):
        content_credentials(b"GIF89a", media_type)


def test_a_file_that_is_no_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"hello, world")
    with pytest.raises(UnknownImageFormatError, match="no known image format"):
        read_metadata(path)


@pytest.mark.parametrize(
    ("fmt", "damage", "match"),
    [
        ("png", lambda d: d[:40], r"malformed PNG at byte \d+"),
        ("png", lambda d: d[:8] + d[33:], "expected IHDR first"),
        ("png", lambda d: d[:8] + b"\x7f\xff\xff\xff" + d[12:], "declares 2147483647 bytes"),
        ("jpeg", lambda d: d[:20], "before its image data"),  # SOI and JFIF alone
        (
            "jpeg",
            lambda d: d[:100],
            r"malformed JPEG at byte \d+: the DB segment declares \d+ bytes, \d+ left",
        ),
        ("jpeg", lambda d: d[:2] + b"\x00" + d[3:], "expected a marker"),
        ("webp", lambda d: d[:30], "RIFF declares"),
        ("webp", lambda d: d[:12] + b"ABCD" + d[16:], "expected VP8, VP8L or VP8X"),
        ("webp", lambda d: d[:15] + b"L" + d[16:], "VP8L header"),
    ],
)
def test_malformed_images_raise_with_the_offset(fmt: str, damage: Any, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        embed_metadata(damage(SMALL[fmt]), f"image/{fmt}", METADATA)


SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}
SAMPLES = [embed_metadata(SMALL[fmt], f"image/{fmt}", METADATA) for fmt in sorted(SMALL)] + [
    with_c2pa(fmt) for fmt in sorted(SMALL)
]


def damaged_samples() -> st.SearchStrategy[bytes]:
    """Real images of each kind, then truncated or with bytes overwritten."""

    def damage(data: bytes, cut: int, edits: list[tuple[int, int]]) -> bytes:
        out = bytearray(data[: max(cut, 12)])
        for position, value in edits:
            out[position % len(out)] = value
        return bytes(out)

    return st.builds(
        damage,
        st.sampled_from(SAMPLES),
        st.integers(0, 4000),
        st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=4),
    )


ANY_BYTES = (
    st.binary(max_size=300)
    | st.builds(
        lambda head, tail: head + tail,
        st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x00\x01\x00\x00WEBP"]),
        st.binary(max_size=300),
    )
    | damaged_samples()
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=ANY_BYTES, media_type=st.sampled_from(sorted(SUFFIXES)))
def test_arbitrary_bytes_raise_only_image_errors(data: bytes, media_type: str) -> None:
    try:
        found = read_from_bytes(data, SUFFIXES[media_type])
    except ImageError:
        pass
    else:
        assert found is None or isinstance(found, ImageMetadata)
    try:
        assert content_credentials(data, media_type) in (True, False)
    except ImageError:
        pass
    try:
        assert isinstance(embed_metadata(data, media_type, METADATA), bytes)
    except ImageError:
        pass
