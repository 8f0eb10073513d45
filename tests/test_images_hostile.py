"""Hostile input to the images layer: sniffing, header sizes, SVG script, names and paths."""

from __future__ import annotations

import base64
import fnmatch
import gc
import os
import struct
import subprocess
import sys
import textwrap
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen.images import GeneratedImage, decode_result, safe_filename, write_atomic
from openrouter_imagegen.images._sniff import (
    dimensions,
    sniff_media_type,
    svg_has_active_content,
)

T = TypeVar("T")
SVG_NS = 'xmlns="http://www.w3.org/2000/svg"'
PER_CALL_SECONDS = 0.5  # generous: every call here is linear in a few kilobytes at most


def timed(function: Callable[[], T]) -> T:
    """Call `function`, failing if it takes longer than `PER_CALL_SECONDS`."""
    gc.disable()  # a full collection of hypothesis's heap is not the call's own time
    try:
        started = time.monotonic()
        result = function()
        elapsed = time.monotonic() - started
    finally:
        gc.enable()
    assert elapsed < PER_CALL_SECONDS, f"took {elapsed:.2f}s"
    return result


def svg(body: str = "", root: str = "") -> bytes:
    return f"<svg {SVG_NS} {root}>{body}</svg>".encode()


# -- sniffing runs in linear time -----------------------------------------------------------

# The first two made the old regular-expression sniffer backtrack exponentially (for minutes
# and more); the others are quadratic traps for scanners that restart at every `<svg`.
BACKTRACKING_PAYLOADS = {
    "empty comments": b"<!---->" * 60 + b"!",
    "comments around a doctype": (b"<!-- -->" + b"<!DOCTYPE x>") * 40 + b"<sv",
    "unclosed svg tags": b"<svg " + b"<svg " * 4000,
    "attribute soup": b"<svg" + b' width="1' * 3000,
}


def test_crafted_svg_like_input_does_not_hang() -> None:
    # In a child process, so that a regression fails within the timeout instead of hanging.
    script = textwrap.dedent(
        """
        import sys
        from openrouter_imagegen.images._sniff import (
            dimensions, sniff_media_type, svg_has_active_content,
        )
        for payload in map(bytes.fromhex, sys.argv[1:]):
            sniff_media_type(payload)
            dimensions(payload, "image/svg+xml")
            svg_has_active_content(payload)
        """
    )
    payloads = [payload.hex() for payload in BACKTRACKING_PAYLOADS.values()]
    done = subprocess.run(
        [sys.executable, "-c", script, *payloads], timeout=30, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize("payload", BACKTRACKING_PAYLOADS.values(), ids=BACKTRACKING_PAYLOADS)
def test_crafted_svg_like_input_is_no_svg(payload: bytes) -> None:
    assert timed(lambda: sniff_media_type(payload)) is None
    assert timed(lambda: dimensions(payload, "image/svg+xml")) is None
    assert timed(lambda: svg_has_active_content(payload)) is True


# -- SVG through a hardened parser -----------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lollollollollollol">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)
    )
    + b"]><svg "
    + SVG_NS.encode()
    + b' width="10" height="10">&j;</svg>'
)
EXTERNAL_ENTITY = (
    b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><text>&x;</text></svg>'
)
EXTERNAL_PARAMETER_ENTITY = (
    b'<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
)


@pytest.mark.parametrize(
    "document",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_PARAMETER_ENTITY],
    ids=["billion laughs", "external entity", "external parameter entity"],
)
def test_entity_attacks_are_refused_not_expanded(document: bytes) -> None:
    assert timed(lambda: sniff_media_type(document)) is None
    assert timed(lambda: dimensions(document, "image/svg+xml")) is None
    assert timed(lambda: svg_has_active_content(document)) is True


@pytest.mark.parametrize(
    ("document", "size"),
    [
        (svg(root='width="120" height="80"'), (120, 80)),
        (svg(root='width="120px" height=" 80.4 PX "'), (120, 80)),
        (svg(root='width="12.5" height=".9"'), (12, 1)),
        (svg(root='viewBox="0 0 64 32"'), (64, 32)),
        (svg(root='viewBox="-5,-5,640,480"'), (640, 480)),
        (svg(root='width="100%" height="100%" viewBox="0 0 64 32"'), (64, 32)),
        (svg(root=f'width="{"9" * 400}" height="10" viewBox="0 0 30 20"'), (30, 20)),
        (svg(root=f'width="{"9" * 400}" height="10"'), None),
        (svg(root=f'viewBox="0 0 {"1" * 400} 10"'), None),
        (svg(root=f'width="1.{"5" * 400}" height="2"'), (2, 2)),
        (svg(root='width="1e3" height="10"'), None),
        (svg(root='width="-10" height="10"'), None),
        (svg(root='width="10mm" height="10mm"'), None),
        (svg(root='width="0" height="10"'), None),
        (svg(root='width="65536" height="10"'), None),
        (svg(root='width="65535" height="1"'), (65535, 1)),
        (svg(root='viewBox="0 0 0 0"'), None),
        (svg(root='viewBox="0 0 inf nan"'), None),
        (svg(root='viewBox="0 0 10"'), None),
        (svg(), None),
        (b'<s:svg xmlns:s="http://www.w3.org/2000/svg" width="3" height="4"/>', (3, 4)),
        (b'<svg width="7" height="8"/>', (7, 8)),  # no namespace: common in generated SVG
    ],
)
def test_svg_dimensions(document: bytes, size: tuple[int, int] | None) -> None:
    assert sniff_media_type(document) == "image/svg+xml"
    assert dimensions(document, "image/svg+xml") == size


@pytest.mark.parametrize(
    "document",
    [
        b"\xef\xbb\xbf" + svg(),
        b"\n\t  " + svg(),
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by a model -->\n' + svg(),
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">' + svg(),
        svg(body="<rect/>")[:-3],  # truncated after the root started: still SVG
    ],
    ids=["bom", "blanks", "declaration and comment", "public doctype", "truncated"],
)
def test_svg_is_recognised_behind_a_prologue(document: bytes) -> None:
    assert sniff_media_type(document) == "image/svg+xml"


@pytest.mark.parametrize(
    "document",
    [
        b'<html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>',
        b'<svg xmlns="urn:not-svg"/>',
        b"<!-- " + b"x" * (70 * 1024) + b" -->" + svg(),  # the root starts past the bounded head
        b"just text <svg/>",
        b"<svg",
        b"",
    ],
    ids=["html root", "foreign namespace", "root too late", "text", "unfinished", "empty"],
)
def test_not_svg(document: bytes) -> None:
    assert sniff_media_type(document) is None
    assert dimensions(document, "image/svg+xml") is None


# -- header dimensions outside 1..65535 are unknown ----------------------------------------


def png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">II", width, height) + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + ihdr + b"\x00" * 4


def jpeg(width: int, height: int) -> bytes:
    return b"\xff\xd8\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03" * 12


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 3


def bmp(width: int, height: int) -> bytes:
    return b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, width, height) + b"\x00" * 8


def webp_vp8x(width: int, height: int) -> bytes:
    sizes = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00" + b"\x00" * 4 + sizes


def avif(width: int, height: int) -> bytes:
    return (
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
        + b"\x00\x00\x00\x14ispe\x00\x00\x00\x00"
        + struct.pack(">II", width, height)
    )


HEADERS: dict[str, tuple[str, Callable[[int, int], bytes]]] = {
    "png": ("image/png", png),
    "jpeg": ("image/jpeg", jpeg),
    "gif": ("image/gif", gif),
    "bmp": ("image/bmp", bmp),
    "webp": ("image/webp", webp_vp8x),
    "avif": ("image/avif", avif),
}
LIMITS = {"png": 2**32 - 1, "jpeg": 2**16 - 1, "gif": 2**16 - 1, "bmp": 2**31 - 1}


@pytest.mark.parametrize("fmt", HEADERS)
def test_header_dimensions_outside_1_to_65535_are_unknown(fmt: str) -> None:
    media_type, header = HEADERS[fmt]
    assert sniff_media_type(header(40, 30)) == media_type
    assert dimensions(header(40, 30), media_type) == (40, 30)
    assert dimensions(header(65_535, 1), media_type) == (65_535, 1)
    too_big = min(LIMITS.get(fmt, 2**24), 2**32 - 1)
    if too_big > 65_535:
        assert dimensions(header(too_big, too_big), media_type) is None
        assert dimensions(header(65_536, 10), media_type) is None
    if fmt != "webp":  # a VP8X header stores size - 1: it cannot say 0
        assert dimensions(header(0, 0), media_type) is None
        assert dimensions(header(10, 0), media_type) is None


def test_png_claiming_four_billion_pixels_a_side_has_unknown_size() -> None:
    image = GeneratedImage(png(4_294_967_295, 4_294_967_295), source="base64")
    assert (image.width, image.height) == (None, None)
    assert "unknown size" in repr(image)


def test_bmp_height_of_minus_two_to_the_31_is_unknown() -> None:
    assert dimensions(bmp(10, -(2**31)), "image/bmp") is None
    assert dimensions(bmp(10, -20), "image/bmp") == (10, 20)  # top-down rows


# -- active content in SVG --------------------------------------------------------------------

INERT = {
    "plain": svg('<rect width="4" height="4" fill="red"/>', 'width="4" height="4"'),
    "raster data url": svg('<image href="data:image/png;base64,iVBORw0KGgo="/>'),
    "https link": svg('<a href="https://example.test/">x</a>'),
    "fragment link": svg(
        '<defs><g id="g"/></defs><use xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="#g"/>'
    ),
    "style": svg("<style>rect { fill: blue }</style><rect/>"),
    "public doctype": b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">' + svg(),
    "opacity is no handler": svg('<rect opacity="0.5"/>'),
    "animation of a colour": svg('<rect><animate attributeName="fill" to="red"/></rect>'),
}
ACTIVE = {
    "script": svg("<script>alert(1)</script>"),
    "namespaced script": svg('<h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script>'),
    "upper-case script": svg("<SCRIPT>alert(1)</SCRIPT>"),
    "onload on the root": svg(root='onload="alert(1)"'),
    "onclick on a child": svg('<rect onclick="alert(1)"/>'),
    "namespaced handler": svg('<rect xmlns:e="urn:e" e:onmouseover="alert(1)"/>'),
    "javascript href": svg('<a href="javascript:alert(1)">x</a>'),
    "obfuscated xlink href": svg(
        '<a xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href=" JaVa&#x09;ScRipt:alert(1)"/>'
    ),
    "html data url": svg('<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;"/>'),
    "svg data url": svg('<use href="data:image/svg+xml;base64,PHN2Zy8+"/>'),
    "foreignObject": svg("<foreignObject><div>x</div></foreignObject>"),
    "xhtml element": svg('<iframe xmlns="http://www.w3.org/1999/xhtml" src="x"/>'),
    "set of a handler": svg('<set attributeName="onmouseover" to="alert(1)"/>'),
    "animated href": svg('<a><animate attributeName="xlink:href" values="https://x"/></a>'),
    "javascript in animation values": svg(
        '<a><animate attributeName="x" values="javascript:1"/></a>'
    ),
    "svg tiny handler": svg('<handler type="application/ecmascript">alert(1)</handler>'),
    "xslt stylesheet": b'<?xml-stylesheet type="text/xsl" href="x.xsl"?>' + svg(),
    "default onload from the dtd": b'<!DOCTYPE svg [<!ATTLIST svg onload CDATA "alert(1)">]>'
    + svg(),
    "entity declaration": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "malformed": svg("<rect>")[:-1],
    "unbound prefix": svg("<x:rect/>"),
    "not svg": b'<html xmlns="http://www.w3.org/1999/xhtml"/>',
    "png bytes": png(1, 1),
    "empty": b"",
    "script after 100 KiB": svg("<rect/>" * 15_000 + "<script>alert(1)</script>"),
}


@pytest.mark.parametrize("document", INERT.values(), ids=INERT)
def test_inert_svg_has_no_active_content(document: bytes) -> None:
    assert svg_has_active_content(document) is False


@pytest.mark.parametrize("document", ACTIVE.values(), ids=ACTIVE)
def test_svg_that_could_run_script_is_flagged(document: bytes) -> None:
    assert timed(lambda: svg_has_active_content(document)) is True


def test_a_large_inert_svg_is_read_to_the_end_in_time() -> None:
    document = svg('<rect width="1" height="1"/>' * 20_000)  # about 600 kB
    assert timed(lambda: svg_has_active_content(document)) is False


def test_an_svg_too_large_to_vet_counts_as_active() -> None:
    document = svg("<!--" + "x" * (8 * 1024 * 1024) + "-->")
    assert timed(lambda: svg_has_active_content(document)) is True


# -- properties: any bytes, never an exception, never slow -------------------------------------

SVG_FRAGMENTS = [
    "<svg", "</svg>", "<", ">", "/>", " ", "\n", '"', "'", "=", "<!--", "-->", "<!DOCTYPE svg",
    "[", "]>", "<!ENTITY a ", '"&a;&a;"', "&a;", "&#x41;", "&#0;", "<?xml version='1.0'?>",
    "<?pi x?>", "<![CDATA[", "]]>", " width=", " height=", " viewBox=", "0", "9" * 60, ".",
    "-", ",", "px", "%", "<script>", " onload=", "javascript:", " xmlns=", SVG_NS, "xlink:",
    "<foreignObject>", "\ufeff", "\x00", "é", "encoding='utf-16'", "encoding='latin-1'",
]  # fmt: skip
svg_like = st.lists(st.sampled_from(SVG_FRAGMENTS), max_size=120).map(
    lambda parts: "".join(parts).encode("utf-8")
)


def _never_raises_nor_hangs(data: bytes) -> None:
    media_type = timed(lambda: sniff_media_type(data))
    assert media_type is None or isinstance(media_type, str)
    for kind in (media_type, "image/svg+xml"):
        size = timed(lambda: dimensions(data, kind))  # noqa: B023 - called at once
        assert size is None or all(1 <= side <= 65_535 for side in size)
    assert isinstance(timed(lambda: svg_has_active_content(data)), bool)


@settings(max_examples=300)
@given(st.binary(max_size=2000))
def test_property_arbitrary_bytes_are_handled(data: bytes) -> None:
    _never_raises_nor_hangs(data)


@settings(max_examples=300)
@given(svg_like)
def test_property_svg_like_text_is_handled(data: bytes) -> None:
    _never_raises_nor_hangs(data)


@settings(max_examples=100)
@given(st.sampled_from([png, jpeg, gif, bmp, webp_vp8x, avif]), st.binary(max_size=64))
def test_property_real_headers_with_garbage_are_handled(
    header: Callable[[int, int], bytes], garbage: bytes
) -> None:
    _never_raises_nor_hangs(header(7, 9)[: len(garbage)] + garbage)


# -- writing files: no symbolic link is followed --------------------------------------------

PNG_B64 = base64.b64encode(png(1, 1) + b"\x00" * 8).decode()


def test_a_symlinked_directory_at_the_output_name_does_not_redirect_the_write(
    tmp_path: Path,
) -> None:
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    # The name a batch writes to next, planted as a link to a directory outside.
    (out / "item-0.png").symlink_to(elsewhere, target_is_directory=True)
    image = decode_result(PNG_B64, call_id="item-0")
    with pytest.raises(OSError, match="symbolic link"):
        image.save(out / "item-0.png", overwrite=True)
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in out.iterdir()] == ["item-0.png"]


def test_write_atomic_refuses_a_directory_that_is_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    with pytest.raises(OSError, match="symbolic link") as info:
        write_atomic(tmp_path / "link" / "a.png", b"data", overwrite=True)
    assert str(tmp_path / "link") in str(info.value)
    assert list(real.iterdir()) == []


def test_a_symlink_at_the_file_name_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    link = out / "a.png"
    link.symlink_to(outside)
    with pytest.raises(FileExistsError, match="symbolic link") as info:
        write_atomic(link, b"new", overwrite=False)
    assert "overwrite=True" in str(info.value)
    assert "--overwrite" in str(info.value)
    assert outside.read_bytes() == b"keep me"
    assert link.is_symlink()
    # With overwrite, the link itself is replaced: its target is untouched.
    write_atomic(link, b"new", overwrite=True)
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert outside.read_bytes() == b"keep me"


def test_a_dangling_symlink_at_the_file_name_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "would-be-created"
    (tmp_path / "a.png").symlink_to(target)
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "a.png", b"new", overwrite=False)
    assert not target.exists()


def test_file_exists_error_names_both_ways_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    write_atomic(path, b"one", overwrite=False)
    with pytest.raises(FileExistsError) as info:
        write_atomic(path, b"two", overwrite=False)
    message = str(info.value)
    assert "file exists" in message
    assert "overwrite=True" in message
    assert "--overwrite" in message
    assert str(path) in message
    assert path.read_bytes() == b"one"


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_honour_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        path = write_atomic(tmp_path / "a.png", b"x", overwrite=False)
        replaced = write_atomic(tmp_path / "a.png", b"y", overwrite=True)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode
    assert replaced.stat().st_mode & 0o777 == mode


def test_temporaries_are_hidden_imagegen_tmp_files_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        seen.extend(os.listdir(tmp_path))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spying_fsync)
    write_atomic(tmp_path / "a.png", b"x", overwrite=False)
    assert fnmatch.filter(seen, ".imagegen-*.tmp")
    assert os.listdir(tmp_path) == ["a.png"]


@pytest.mark.parametrize("failing", [("fsync",), ("replace",), ("link",), ("link", "replace")])
@pytest.mark.parametrize("overwrite", [False, True])
def test_failed_write_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: tuple[str, ...], overwrite: bool
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk on fire")

    for name in failing:
        monkeypatch.setattr(os, name, boom)
    target = tmp_path / "out.png"
    # Without overwrite a hard link publishes the file, and a rename only when links fail.
    renames = overwrite or "link" in failing
    if "fsync" in failing or ("replace" in failing and renames):
        with pytest.raises(OSError, match="disk on fire"):
            write_atomic(target, b"x", overwrite=overwrite)
        assert not target.exists()
    else:
        write_atomic(target, b"x", overwrite=overwrite)
        assert target.read_bytes() == b"x"
    assert fnmatch.filter(os.listdir(tmp_path), "*.tmp") == []


def test_without_hard_links_an_existing_file_is_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError("operation not permitted")

    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_atomic(target, b"new", overwrite=False)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.png"]


# -- safe file names ---------------------------------------------------------------------------


def fold(name: str) -> str:
    """What a case-insensitive, normalising file system (such as macOS's) compares."""
    return unicodedata.normalize("NFD", name).casefold()


@pytest.mark.parametrize("raw", [".hidden", "..", ".", "...x", ". x", "-x", "\u200b.x", ""])
def test_names_are_never_hidden(raw: str) -> None:
    name = safe_filename(raw, "png")
    assert not name.startswith((".", "-")), name
    assert name.endswith(".png")


PAIRS = [
    ("a/b", "a_b"),
    ("a\\b", "a_b"),
    ("a:b", "a_b"),
    ("a\x00b", "a_b"),
    ("a b", "a_b"),
    ("ig_x", "IG_X"),
    ("Ig_x", "iG_X"),
    ("caf\u00e9", "cafe\u0301"),  # NFC and NFD
    ("\u212a", "k"),  # KELVIN SIGN folds to k
    ("stra\u00dfe", "strasse"),
    ("x.partial-1", "x"),
    ("con", "_con"),
    (".x", "x"),
    ("-x", "x"),
    ("x" * 300, "x" * 301),
    ("é" * 200, "é" * 201),
]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_ids_that_differ_only_in_what_gets_replaced_never_share_a_name(
    first: str, second: str
) -> None:
    one, two = safe_filename(first, "png"), safe_filename(second, "png")
    assert one != two
    assert fold(one) != fold(two)


@pytest.mark.parametrize("raw", ["a/b", "IG", "x" * 300, "", "con", "ig!"])
def test_an_id_mimicking_the_hash_suffix_gets_its_own_name(raw: str) -> None:
    name = safe_filename(raw, "png")
    mimic = name.removesuffix(".png")  # the exact stem a hashed id produced
    assert safe_filename(mimic, "png") != name


def test_plain_ids_are_kept_and_bare_hex_is_no_hash_in_disguise() -> None:
    assert safe_filename("ig_abc-123", "png") == "ig_abc-123.png"
    assert safe_filename("0123456789abcdef", "png") == "0123456789abcdef.png"
    assert safe_filename("", "png").startswith("id-")
    assert safe_filename("con", "png") != "con.png"


@pytest.mark.parametrize("raw", ["x" * 300, "é" * 200, "🙂" * 100, "a/" * 200, "ig_short"])
@pytest.mark.parametrize("suffix", ["", ".partial-3", ".partial-" + "9" * 30])
def test_names_fit_255_bytes_including_a_suffix(raw: str, suffix: str) -> None:
    name = safe_filename(raw, "png", suffix=suffix)
    assert len(name.encode()) <= 255
    assert name.endswith(f"{suffix}.png")


def test_a_suffixed_name_never_equals_an_unsuffixed_one() -> None:
    partial = safe_filename("x", "png", suffix=".partial-1")
    assert partial == "x.partial-1.png"
    assert safe_filename("x.partial-1", "png") != partial


@pytest.mark.parametrize(
    ("extension", "suffix"),
    [("png", "/x"), ("png", "partial-1"), ("png", ".a\x00"), ("p/g", ""), ("", ""),
     ("png", "." + "x" * 240)],
)  # fmt: skip
def test_unsafe_suffix_or_extension_is_refused(extension: str, suffix: str) -> None:
    with pytest.raises(ValueError, match=r"suffix|extension"):
        safe_filename("ig", extension, suffix=suffix)


def _assert_plain_name(name: str) -> None:
    assert not name.startswith(".")
    assert not any(c in name for c in "/\\\x00")
    assert len(name.encode("utf-8")) <= 255


@settings(max_examples=500)
@given(st.text(max_size=300), st.sampled_from(["", ".partial-1", ".partial-12"]))
def test_property_names_are_plain_stable_and_short(raw: str, suffix: str) -> None:
    name = safe_filename(raw, "png", suffix=suffix)
    _assert_plain_name(name)
    assert name.endswith(f"{suffix}.png")
    assert safe_filename(raw, "png", suffix=suffix) == name


@settings(max_examples=500)
@given(st.text(max_size=60), st.text(max_size=60))
def test_property_distinct_ids_get_distinct_names(first: str, second: str) -> None:
    if first != second:
        one, two = safe_filename(first, "png"), safe_filename(second, "png")
        assert one != two
        assert fold(one) != fold(two)


def _near_miss(raw: str, how: str) -> str:
    """An id made to collide with `raw` under the old rules."""
    if how == "upper":
        return raw.upper()
    if how == "nfd":
        return unicodedata.normalize("NFD", raw)
    if how == "replaced":
        return "".join("_" if c in '/\\:*?"<>| .' else c for c in raw)
    return safe_filename(raw, "png").removesuffix(".png")  # "mimic"


@settings(max_examples=500)
@given(
    st.text(alphabet=st.sampled_from("aAbé/\\:. _-0f\u0301\x00"), max_size=30),
    st.sampled_from(["upper", "nfd", "replaced", "mimic"]),
)
def test_property_near_collisions_get_distinct_names(raw: str, how: str) -> None:
    other = _near_miss(raw, how)
    if other != raw:
        one, two = safe_filename(raw, "png"), safe_filename(other, "png")
        assert one != two
        assert fold(one) != fold(two)
