"""Provenance metadata inside PNG, JPEG and WebP files, added without re-encoding.

`embed_metadata` only inserts (or replaces) metadata chunks and segments: every
byte of the compressed image data is copied unchanged. PNG gets our JSON in an
`iTXt` chunk plus an XMP packet; JPEG and WebP get the XMP packet alone, which
carries every field, so `read_metadata` can rebuild the same `ImageMetadata`
from any of the three.

An image with C2PA content credentials is never modified (any change breaks
their signature): its metadata goes into a JSON sidecar beside it instead.

Parsing walks chunks and segments by their declared lengths, checking each
against the bytes left, so it is linear and bounded; malformed input raises
`MetadataError` (an `ImageError`) naming the byte offset and what was expected.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import xml.parsers.expat
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from openrouter_imagegen._exceptions import (
    ContentCredentialsError,
    MetadataError,
    UnknownImageFormatError,
    UnsupportedMetadataFormatError,
    ValidationError,
    shorten,
)
from openrouter_imagegen.images._files import write_atomic
from openrouter_imagegen.images._sniff import describe_head, sniff_media_type

if TYPE_CHECKING:
    from openrouter_imagegen.images._image import GeneratedImage
    from openrouter_imagegen.models.operations import Response

__all__ = [
    "provenance",
    "with_provenance",
    "METADATA_MEDIA_TYPES",
    "SCHEMA",
    "XMP_NAMESPACE",
    "ImageMetadata",
    "content_credentials",
    "embed_metadata",
    "read_metadata",
    "sidecar_path",
    "write_sidecar",
]

SCHEMA = "openrouter-imagegen/1"
XMP_NAMESPACE = "https://github.com/openrouter-imagegen/ns/1.0/"
METADATA_MEDIA_TYPES = frozenset({"image/png", "image/jpeg", "image/webp"})

_DISTRIBUTION = "openrouter-imagegen"


@functools.cache
def _default_generator() -> str:
    import importlib.metadata  # costs ~5 ms: only when an image is first described

    try:
        version = importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # a source tree, not installed
        version = "unknown"
    return f"{_DISTRIBUTION} {version}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class ImageMetadata:
    """Where an image came from: the request that made it and what it cost.

    `route` is the endpoint family (`"images"`, `"chat"`, `"responses"`);
    `parameters` and `extra` hold JSON values only (objects with string keys,
    arrays, strings, finite numbers, booleans, null) so that they survive a
    round trip unchanged. `created` is an ISO-8601 time in UTC.
    """

    prompt: str
    model: str
    route: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    generation_id: str | None = None
    cost_usd: float | None = None
    created: str = field(default_factory=_now)
    generator: str = field(default_factory=_default_generator)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("prompt", "model", "route", "created", "generator"):
            if type(getattr(self, name)) is not str:
                raise _invalid(f"$.{name}", getattr(self, name), "a string")
        if self.generation_id is not None and type(self.generation_id) is not str:
            raise _invalid("$.generation_id", self.generation_id, "a string or null")
        if self.seed is not None and type(self.seed) is not int:
            raise _invalid("$.seed", self.seed, "an integer or null")
        if self.cost_usd is not None:
            if type(self.cost_usd) not in (int, float):
                raise _invalid("$.cost_usd", self.cost_usd, "a number or null")
            object.__setattr__(self, "cost_usd", float(self.cost_usd))
        for name in ("parameters", "extra"):
            if type(getattr(self, name)) is not dict:
                raise _invalid(f"$.{name}", getattr(self, name), "an object")
        for each in dataclasses.fields(self):
            _check_json(getattr(self, each.name), f"$.{each.name}")
        try:
            created = datetime.fromisoformat(self.created)
        except ValueError:
            raise _invalid("$.created", self.created, "an ISO-8601 time") from None
        if created.utcoffset() is None or created.utcoffset():
            raise _invalid("$.created", self.created, "a time in UTC (ending in Z or +00:00)")

    def to_json(self) -> str:
        """Compact JSON with sorted keys and a `"schema"` key: the same text for equal values."""
        document = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        document["schema"] = SCHEMA
        return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> ImageMetadata:
        """Parse what `to_json` wrote; anything else raises `ValidationError`."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"metadata JSON is not UTF-8 (byte {exc.start})",
                    offset=exc.start,
                    expected="UTF-8",
                ) from None
        try:
            document = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"malformed metadata JSON at character {exc.pos}: {exc.msg.lower()}",
                offset=exc.pos,
                expected="valid JSON",
            ) from None
        except (ValueError, RecursionError) as exc:  # NaN, overlong integers, deep nesting
            raise ValidationError(
                f"malformed metadata JSON: {exc}", expected="valid JSON"
            ) from None
        if not isinstance(document, dict):
            raise _invalid("$", document, "an object")
        return cls._from_document(document)

    @classmethod
    def _from_document(cls, document: dict[str, Any]) -> ImageMetadata:
        schema = document.pop("schema", None)
        if schema != SCHEMA:
            raise _invalid("$.schema", schema, repr(SCHEMA))
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(document) - names)
        if unknown:
            raise _invalid(f"$.{unknown[0]}", document[unknown[0]], f"one of {sorted(names)}")
        missing = sorted(f.name for f in _REQUIRED_FIELDS if f.name not in document)
        if missing:
            raise ValidationError(f"$.{missing[0]}: required field missing", path=f"$.{missing[0]}")
        return cls(**document)


_REQUIRED_FIELDS = [
    f
    for f in dataclasses.fields(ImageMetadata)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
]


def _invalid(path: str, value: Any, expected: str) -> ValidationError:
    return ValidationError(
        f"{path}: expected {expected}, found {shorten(value)}",
        path=path,
        value=value,
        expected=expected,
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_json(value: Any, path: str) -> None:
    """Check `value` holds JSON values only, with UTF-8 encodable text throughout.

    Iterative, so that nesting deep enough to pass `json.loads` passes here too.
    """
    pending = [(value, path)]
    while pending:
        value, path = pending.pop()
        if type(value) is dict:
            for key, item in value.items():
                if type(key) is not str:
                    raise _invalid(path, key, "string keys")
                _check_text(key, path)
                pending.append((item, f"{path}.{key}"))
        elif type(value) is list:
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(value))
        elif type(value) is str:
            _check_text(value, path)
        elif type(value) is float:
            if not math.isfinite(value):
                raise _invalid(path, value, "a finite number")
        elif value is not None and type(value) not in (bool, int):
            raise _invalid(path, value, "a JSON value")


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid(path, text, "text without lone surrogates") from None


# -- public operations ---------------------------------------------------------


def embed_metadata(data: bytes, media_type: str, metadata: ImageMetadata) -> bytes:
    """`data` with `metadata` added; the compressed image data is copied byte for byte.

    Metadata this library wrote before (and any other XMP packet, since a
    file holds one) is replaced, not duplicated. Raises `MetadataError` for
    media types other than PNG, JPEG and WebP, for images carrying C2PA
    content credentials (use `write_sidecar`), and for malformed images.
    """
    handler = _handler(media_type)
    if handler.credentials(data):
        raise ContentCredentialsError(
            f"the {media_type} image carries C2PA content credentials; changing any byte "
            "would break their signature, so it is left as is: write a sidecar instead"
        )
    return handler.embed(data, metadata)


def content_credentials(data: bytes, media_type: str) -> bool:
    """Whether the image carries C2PA content credentials (a JUMBF manifest store).

    PNG: a `caBX` chunk; JPEG: an `APP11` segment holding a JUMBF box; WebP:
    a `C2PA` chunk. Raises `MetadataError` for other media types and malformed images.
    """
    return _handler(media_type).credentials(data)


def provenance(response: Response, call: Any = None) -> ImageMetadata | None:
    """Where an image of `response` came from, as its metadata; None when not known.

    The client's record of the request (`Response.generation_request`) gives
    the prompt, model, route, parameters and seed; a response parsed from
    elsewhere still has its model and, on the Responses API, each call's
    `prompt`. The generation id and the cost come from the response.
    """
    request = response.generation_request or {}
    prompt = request.get("prompt") or getattr(call, "prompt", None)
    model = request.get("model") or response.model
    if not isinstance(prompt, str) or not isinstance(model, str):
        return None
    options = dict(request.get("options") or {})
    seed = options.pop("seed", None)
    cost = response.usage.cost if response.usage is not None else None
    created = response.created_at
    try:
        return ImageMetadata(
            prompt=prompt,
            model=model,
            route=str(request.get("route") or "responses"),
            parameters=options,
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            generation_id=response.generation_id,
            cost_usd=float(cost) if isinstance(cost, int | float) else None,
            created=_iso(created) if isinstance(created, int | float) else _now(),
        )
    except ValidationError:  # options that are no JSON: not worth losing the image over
        return None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def with_provenance(response: Response, images: list[GeneratedImage]) -> list[GeneratedImage]:
    """`images` of `response`, each given its `provenance` (by its call's id)."""
    calls = {item.id: item for item in response.image_outputs}
    for image in images:
        image.provenance = provenance(response, calls.get(image.call_id))
    return images


def sidecar_path(image_path: str | Path) -> Path:
    """Where the sidecar of `image_path` lives: its full file name plus `.json`."""
    path = Path(image_path)
    return path.with_name(path.name + ".json")


def write_sidecar(
    image_path: str | Path, metadata: ImageMetadata, *, overwrite: bool = False
) -> Path:
    """Write `metadata` atomically to `sidecar_path(image_path)` and return that path."""
    text = metadata.to_json() + "\n"
    return write_atomic(sidecar_path(image_path), text.encode("utf-8"), overwrite=overwrite)


def read_metadata(path: str | Path) -> ImageMetadata | None:
    """The metadata embedded in the image at `path`, else its sidecar's, else None.

    Raises `UnknownImageFormatError` when the file is no image, and
    `MetadataError` when the image, its metadata or the sidecar is malformed.
    """
    path = Path(path)
    data = path.read_bytes()
    media_type = sniff_media_type(data)
    if media_type is None:
        raise UnknownImageFormatError(
            f"{path} is no known image format: it starts with {describe_head(data)}",
            head=data[:16],
        )
    if media_type in METADATA_MEDIA_TYPES:
        found = _HANDLERS[media_type].read(data)
        if found is not None:
            return found
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        return ImageMetadata.from_json(sidecar.read_bytes())
    except ValidationError as exc:
        raise MetadataError(f"sidecar {sidecar} holds invalid metadata: {exc}") from exc


class _Handler(NamedTuple):
    embed: Callable[[bytes, ImageMetadata], bytes]
    read: Callable[[bytes], ImageMetadata | None]
    credentials: Callable[[bytes], bool]


def _handler(media_type: str) -> _Handler:
    handler = _HANDLERS.get(media_type)
    if handler is None:
        raise UnsupportedMetadataFormatError(
            f"cannot embed metadata in {media_type}: only PNG, JPEG and WebP are supported; "
            "write a sidecar instead"
        )
    return handler


def _malformed(kind: str, offset: int, problem: str) -> MetadataError:
    return MetadataError(f"malformed {kind} at byte {offset}: {problem}")


def _parse_embedded_json(payload: bytes, where: str) -> ImageMetadata:
    try:
        return ImageMetadata.from_json(payload)
    except ValidationError as exc:
        raise MetadataError(f"{where} holds invalid metadata: {exc}") from exc


# -- XMP -----------------------------------------------------------------------

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_DC = "http://purl.org/dc/elements/1.1/"
_XMP = "http://ns.adobe.com/xap/1.0/"

# Our XMP properties and the `ImageMetadata` fields they hold.
_XMP_FIELDS = {
    f"{_XMP} CreatorTool": "generator",
    f"{_XMP} CreateDate": "created",
    f"{XMP_NAMESPACE} schema": "schema",
    f"{XMP_NAMESPACE} model": "model",
    f"{XMP_NAMESPACE} route": "route",
    f"{XMP_NAMESPACE} seed": "seed",
    f"{XMP_NAMESPACE} generationId": "generation_id",
    f"{XMP_NAMESPACE} costUSD": "cost_usd",
    f"{XMP_NAMESPACE} parameters": "parameters",
    f"{XMP_NAMESPACE} extra": "extra",
}

# XML 1.0 cannot carry these characters at all, not even as references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """`text` as XML character data: markup escaped, CR kept, unrepresentable characters U+FFFD."""
    text = _XML_ILLEGAL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")


def _json_text(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _xmp_packet(metadata: ImageMetadata) -> bytes:
    """A minimal XMP packet: Dublin Core, XMP basic, and our namespace for the rest.

    Characters XML 1.0 cannot carry (C0 controls other than tab, LF and CR)
    become U+FFFD here; the PNG `iTXt` JSON keeps them exactly.
    """
    properties = [
        ("xmp:CreatorTool", metadata.generator),
        ("xmp:CreateDate", metadata.created),
        ("oig:schema", SCHEMA),
        ("oig:model", metadata.model),
        ("oig:route", metadata.route),
        ("oig:seed", None if metadata.seed is None else str(metadata.seed)),
        ("oig:generationId", metadata.generation_id),
        ("oig:costUSD", None if metadata.cost_usd is None else repr(metadata.cost_usd)),
        ("oig:parameters", _json_text(metadata.parameters) if metadata.parameters else None),
        ("oig:extra", _json_text(metadata.extra) if metadata.extra else None),
    ]
    lines = [
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>',
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
        f' <rdf:RDF xmlns:rdf="{_RDF}">',
        '  <rdf:Description rdf:about=""',
        f'    xmlns:dc="{_DC}"',
        f'    xmlns:xmp="{_XMP}"',
        f'    xmlns:oig="{XMP_NAMESPACE}">',
        "   <dc:description>",
        "    <rdf:Alt>",
        f'     <rdf:li xml:lang="x-default">{_xml_text(metadata.prompt)}</rdf:li>',
        "    </rdf:Alt>",
        "   </dc:description>",
        *(
            f"   <{name}>{_xml_text(value)}</{name}>"
            for name, value in properties
            if value is not None
        ),
        "  </rdf:Description>",
        " </rdf:RDF>",
        "</x:xmpmeta>",
        '<?xpacket end="w"?>',
    ]
    return "\n".join(lines).encode("utf-8")


class _XmpCollector:
    """Collects our properties from an XMP packet, in element or attribute form."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self._open: list[str] = []
        self._text: list[list[str]] = []

    def start(self, name: str, attributes: dict[str, str]) -> None:
        if name == f"{_RDF} Description":
            for attribute, value in attributes.items():
                if attribute in _XMP_FIELDS:
                    self.values.setdefault(_XMP_FIELDS[attribute], value)
        self._open.append(name)
        self._text.append([])

    def end(self, name: str) -> None:
        text = "".join(self._text.pop())
        self._open.pop()
        parent = self._open[-1] if self._open else ""
        if parent == f"{_RDF} Description" and name in _XMP_FIELDS:
            self.values.setdefault(_XMP_FIELDS[name], text)
        elif name == f"{_RDF} li" and self._open[-2:-1] == [f"{_DC} description"]:
            self.values.setdefault("prompt", text)

    def characters(self, text: str) -> None:
        if self._text:
            self._text[-1].append(text)


def _refuse_doctype(*_: Any) -> None:
    # XMP never has a DTD; refusing it rules out entity expansion attacks.
    raise MetadataError("the XMP packet has a document type declaration, which XMP does not allow")


def _metadata_from_xmp(packet: bytes, where: str) -> ImageMetadata | None:
    """Our metadata from an XMP packet; None when the packet is someone else's."""
    collector = _XmpCollector()
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.characters
    try:
        parser.Parse(packet, True)
    except xml.parsers.expat.ExpatError as exc:
        raise MetadataError(f"{where}: the XMP packet is not well-formed XML: {exc}") from None
    values: dict[str, Any] = dict(collector.values)
    if values.get("schema") != SCHEMA:
        return None
    try:
        if "seed" in values:
            values["seed"] = _parse_number(values["seed"], int, "$.seed")
        if "cost_usd" in values:
            values["cost_usd"] = _parse_number(values["cost_usd"], float, "$.cost_usd")
        for name in ("parameters", "extra"):
            if name in values:
                values[name] = _parse_json_object(values[name], f"$.{name}")
        return ImageMetadata._from_document(values)
    except ValidationError as exc:
        raise MetadataError(f"{where} holds invalid metadata: {exc}") from exc


def _parse_number(text: str, kind: type[int] | type[float], path: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise _invalid(path, text, "an integer" if kind is int else "a number") from None


def _parse_json_object(text: str, path: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise _invalid(path, text, "a JSON object") from None


# -- PNG -----------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_KEYWORD = b"openrouter-imagegen"
_PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
_PNG_MAX_LENGTH = 0x7FFFFFFF
_MAX_INFLATED = 16 << 20  # a compressed iTXt may expand this far and no further


class _Chunk(NamedTuple):
    """A PNG or WebP chunk: `start` to `end` is all of it, `data_start` to `data_end` its data."""

    kind: bytes
    start: int
    data_start: int
    data_end: int
    end: int


def _png_chunks(data: bytes) -> tuple[list[_Chunk], int]:
    """The chunks up to and including IEND, and the offset just past IEND."""
    if not data.startswith(_PNG_SIGNATURE):
        raise _malformed("PNG", 0, f"expected the PNG signature, found {describe_head(data)}")
    chunks: list[_Chunk] = []
    at = len(_PNG_SIGNATURE)
    while True:
        left = len(data) - at
        if left < 12:
            raise _malformed("PNG", at, f"expected a chunk (12 bytes or more), {left} left")
        length = int.from_bytes(data[at : at + 4], "big")
        kind = data[at + 4 : at + 8]
        if not kind.isalpha():
            raise _malformed("PNG", at + 4, f"expected a chunk type of 4 letters, found {kind!r}")
        if length > _PNG_MAX_LENGTH or length > left - 12:
            raise _malformed(
                "PNG", at, f"the {kind.decode()} chunk declares {length} bytes, {left - 12} left"
            )
        if not chunks and kind != b"IHDR":
            raise _malformed("PNG", at, f"expected IHDR first, found {kind.decode()}")
        chunks.append(_Chunk(kind, at, at + 8, at + 8 + length, at + 12 + length))
        at += 12 + length
        if kind == b"IEND":
            return chunks, at


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")


def _itxt(keyword: bytes, text: bytes) -> bytes:
    # keyword, NUL, uncompressed (0, method 0), empty language tag and translated keyword
    return keyword + b"\x00\x00\x00\x00\x00" + text


def _itxt_keyword(data: bytes, chunk: _Chunk) -> bytes | None:
    if chunk.kind != b"iTXt":
        return None
    end = data.find(b"\x00", chunk.data_start, min(chunk.data_end, chunk.data_start + 80))
    return data[chunk.data_start : end] if end != -1 else None


def _itxt_text(data: bytes, chunk: _Chunk) -> bytes:
    """The text of an iTXt chunk whose keyword was found, inflated if compressed."""
    if zlib.crc32(data[chunk.data_start - 4 : chunk.data_end]) != int.from_bytes(
        data[chunk.data_end : chunk.end], "big"
    ):
        raise _malformed("PNG", chunk.start, "the iTXt chunk's CRC does not match its data")
    payload = data[chunk.data_start : chunk.data_end]
    _, _, rest = payload.partition(b"\x00")
    if len(rest) < 2 or rest[0] not in (0, 1) or rest[1] != 0:
        raise _malformed(
            "PNG", chunk.data_start, "expected an iTXt compression flag and method of 0 or 1, 0"
        )
    compressed = rest[0] == 1
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise _malformed(
            "PNG", chunk.data_start, "the iTXt chunk lacks its language tag or translated keyword"
        )
    text = parts[2]
    if not compressed:
        return text
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(text, _MAX_INFLATED)
    except zlib.error as exc:
        raise _malformed(
            "PNG", chunk.data_start, f"the iTXt text does not inflate: {exc}"
        ) from None
    if inflater.unconsumed_tail:
        raise _malformed(
            "PNG", chunk.data_start, f"the iTXt text inflates past {_MAX_INFLATED:,} bytes"
        )
    return inflated


def _png_embed(data: bytes, metadata: ImageMetadata) -> bytes:
    chunks, end = _png_chunks(data)
    ours = (_PNG_KEYWORD, _PNG_XMP_KEYWORD)
    kept = [c for c in chunks[1:] if _itxt_keyword(data, c) not in ours]
    return b"".join(
        [
            data[: chunks[0].end],
            _png_chunk(b"iTXt", _itxt(_PNG_KEYWORD, metadata.to_json().encode("utf-8"))),
            _png_chunk(b"iTXt", _itxt(_PNG_XMP_KEYWORD, _xmp_packet(metadata))),
            *(data[c.start : c.end] for c in kept),
            data[end:],
        ]
    )


def _png_read(data: bytes) -> ImageMetadata | None:
    chunks, _ = _png_chunks(data)
    xmp: _Chunk | None = None
    for chunk in chunks:
        keyword = _itxt_keyword(data, chunk)
        if keyword == _PNG_KEYWORD:
            where = f"the PNG iTXt chunk at byte {chunk.start}"
            return _parse_embedded_json(_itxt_text(data, chunk), where)
        if keyword == _PNG_XMP_KEYWORD and xmp is None:
            xmp = chunk
    if xmp is None:
        return None
    return _metadata_from_xmp(_itxt_text(data, xmp), f"the PNG XMP chunk at byte {xmp.start}")


def _png_credentials(data: bytes) -> bool:
    chunks, _ = _png_chunks(data)
    return any(c.kind == b"caBX" for c in chunks)


# -- JPEG ----------------------------------------------------------------------

_APP0, _APP1, _APP11, _SOS, _EOI = 0xE0, 0xE1, 0xEB, 0xDA, 0xD9
_JPEG_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_JPEG_XMP_EXTENSION = b"http://ns.adobe.com/xmp/extension/\x00"
_JPEG_EXIF = b"Exif\x00\x00"
_JPEG_MAX_PAYLOAD = 0xFFFF - 2


class _Segment(NamedTuple):
    """A JPEG marker segment: `start` (fill bytes included) to `end`; payload from `data_start`."""

    marker: int
    start: int
    data_start: int
    end: int


def _jpeg_segments(data: bytes) -> tuple[list[_Segment], int]:
    """The segments between SOI and the first SOS, and the offset of that SOS marker."""
    if not data.startswith(b"\xff\xd8"):
        raise _malformed("JPEG", 0, f"expected the SOI marker FF D8, found {describe_head(data)}")
    segments: list[_Segment] = []
    at = 2
    while True:
        start = at
        while at + 1 < len(data) and data[at] == 0xFF and data[at + 1] == 0xFF:
            at += 1  # fill bytes before a marker
        if len(data) - at < 2:
            raise _malformed("JPEG", at, "the file ends before its image data (no SOS marker)")
        if data[at] != 0xFF:
            raise _malformed("JPEG", at, f"expected a marker (FF), found {data[at]:02X}")
        marker = data[at + 1]
        if marker == _SOS:
            return segments, start
        if marker == _EOI:
            raise _malformed("JPEG", at, "EOI comes before any image data (no SOS marker)")
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            segments.append(_Segment(marker, start, at + 2, at + 2))
            at += 2
            continue
        if len(data) - at < 4:
            raise _malformed("JPEG", at, f"the {marker:02X} segment's length is cut off")
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if length < 2 or length > len(data) - at - 2:
            raise _malformed(
                "JPEG",
                at + 2,
                f"the {marker:02X} segment declares {length} bytes, {len(data) - at - 2} left",
            )
        segments.append(_Segment(marker, start, at + 4, at + 2 + length))
        at += 2 + length


def _is_app(data: bytes, segment: _Segment, marker: int, prefix: bytes) -> bool:
    return segment.marker == marker and data.startswith(prefix, segment.data_start, segment.end)


def _jpeg_embed(data: bytes, metadata: ImageMetadata) -> bytes:
    segments, sos = _jpeg_segments(data)
    payload = _JPEG_XMP + _xmp_packet(metadata)
    if len(payload) > _JPEG_MAX_PAYLOAD:
        limit = _JPEG_MAX_PAYLOAD - len(_JPEG_XMP)
        raise UnsupportedMetadataFormatError(
            f"the XMP packet is {len(payload) - len(_JPEG_XMP):,} bytes but a JPEG APP1 segment "
            f"holds at most {limit:,}: shorten the prompt or parameters, or write a sidecar"
        )
    # JFIF (APP0) and Exif (APP1) must stay first; our XMP goes right after them.
    lead = 0
    while lead < len(segments) and (
        segments[lead].marker == _APP0 or _is_app(data, segments[lead], _APP1, _JPEG_EXIF)
    ):
        lead += 1
    rest = [
        s
        for s in segments[lead:]
        if not _is_app(data, s, _APP1, _JPEG_XMP)
        and not _is_app(data, s, _APP1, _JPEG_XMP_EXTENSION)
    ]
    return b"".join(
        [
            data[:2],
            *(data[s.start : s.end] for s in segments[:lead]),
            b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload,
            *(data[s.start : s.end] for s in rest),
            data[sos:],
        ]
    )


def _jpeg_read(data: bytes) -> ImageMetadata | None:
    segments, _ = _jpeg_segments(data)
    for segment in segments:
        if _is_app(data, segment, _APP1, _JPEG_XMP):
            packet = data[segment.data_start + len(_JPEG_XMP) : segment.end]
            return _metadata_from_xmp(packet, f"the JPEG XMP segment at byte {segment.start}")
    return None


def _jpeg_credentials(data: bytes) -> bool:
    # APP11 payload: "JP", box instance (2), sequence number (4), then a JUMBF
    # superbox: its length (4) and type "jumb".
    segments, _ = _jpeg_segments(data)
    return any(
        s.marker == _APP11
        and data[s.data_start : s.data_start + 2] == b"JP"
        and s.end - s.data_start >= 16
        and data[s.data_start + 12 : s.data_start + 16] == b"jumb"
        for s in segments
    )


# -- WebP ----------------------------------------------------------------------

_VP8X_XMP = 0x04
_VP8X_ALPHA = 0x10
# In an extended WebP, XMP comes after these (and before unknown chunks).
_BEFORE_XMP = {b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L", b"EXIF"}
_RIFF_MAX = 0xFFFFFFFF


def _webp_chunks(data: bytes) -> tuple[list[_Chunk], int]:
    """The chunks inside the RIFF container, and the offset just past it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _malformed("WebP", 0, f"expected RIFF....WEBP, found {describe_head(data)}")
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise _malformed("WebP", 4, f"RIFF declares {riff_end:,} bytes, the file has {len(data):,}")
    chunks: list[_Chunk] = []
    at = 12
    while at < riff_end:
        if riff_end - at < 8:
            raise _malformed("WebP", at, f"expected a chunk header (8 bytes), {riff_end - at} left")
        kind = data[at : at + 4]
        size = int.from_bytes(data[at + 4 : at + 8], "little")
        end = at + 8 + size + (size & 1)  # odd sizes are padded to even
        if end > riff_end:
            raise _malformed(
                "WebP",
                at,
                f"the {kind!r} chunk declares {size:,} bytes, {riff_end - at - 8:,} left",
            )
        chunks.append(_Chunk(kind, at, at + 8, at + 8 + size, end))
        at = end
    if not chunks:
        raise _malformed("WebP", 12, "expected an image chunk, found none")
    return chunks, riff_end


def _webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + len(payload).to_bytes(4, "little") + payload + b"\x00" * (len(payload) & 1)


def _bitstream_canvas(data: bytes, chunk: _Chunk) -> tuple[int, int, bool]:
    """(width, height, has alpha) from a VP8 or VP8L bitstream header."""
    payload = data[chunk.data_start : min(chunk.data_end, chunk.data_start + 10)]
    if chunk.kind == b"VP8 ":
        if len(payload) < 10 or payload[3:6] != b"\x9d\x01\x2a" or payload[0] & 1:
            raise _malformed("WebP", chunk.data_start, "expected a VP8 key frame header")
        width = int.from_bytes(payload[6:8], "little") & 0x3FFF
        height = int.from_bytes(payload[8:10], "little") & 0x3FFF
        if not width or not height:
            raise _malformed("WebP", chunk.data_start + 6, "the VP8 frame is 0 pixels wide or high")
        return width, height, False
    if len(payload) < 5 or payload[0] != 0x2F:
        raise _malformed("WebP", chunk.data_start, "expected a VP8L header (signature 2F)")
    bits = int.from_bytes(payload[1:5], "little")
    if bits >> 29:
        raise _malformed("WebP", chunk.data_start, f"unknown VP8L version {bits >> 29}")
    return (bits & 0x3FFF) + 1, (bits >> 14 & 0x3FFF) + 1, bool(bits >> 28 & 1)


def _webp_embed(data: bytes, metadata: ImageMetadata) -> bytes:
    chunks, riff_end = _webp_chunks(data)
    first = chunks[0]
    if first.kind == b"VP8X":
        if first.data_end - first.data_start < 10:
            raise _malformed("WebP", first.start, "the VP8X chunk is shorter than 10 bytes")
        flags = data[first.data_start] | _VP8X_XMP
        vp8x = _webp_chunk(b"VP8X", bytes([flags]) + data[first.data_start + 1 : first.data_end])
        others = chunks[1:]
    elif first.kind in (b"VP8 ", b"VP8L"):
        # A simple WebP has no room for metadata: make it extended.
        width, height, alpha = _bitstream_canvas(data, first)
        flags = _VP8X_XMP | (_VP8X_ALPHA if alpha else 0)
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        vp8x = _webp_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + canvas)
        others = chunks
    else:
        raise _malformed(
            "WebP", first.start, f"expected VP8, VP8L or VP8X first, found {first.kind!r}"
        )
    others = [c for c in others if c.kind != b"XMP "]
    split = max((i + 1 for i, c in enumerate(others) if c.kind in _BEFORE_XMP), default=0)
    body = b"".join(
        [
            b"WEBP",
            vp8x,
            *(data[c.start : c.end] for c in others[:split]),
            _webp_chunk(b"XMP ", _xmp_packet(metadata)),
            *(data[c.start : c.end] for c in others[split:]),
        ]
    )
    if len(body) > _RIFF_MAX - 1:
        raise MetadataError(f"the WebP would be {len(body) + 8:,} bytes, more than RIFF allows")
    return b"RIFF" + len(body).to_bytes(4, "little") + body + data[riff_end:]


def _webp_read(data: bytes) -> ImageMetadata | None:
    chunks, _ = _webp_chunks(data)
    for chunk in chunks:
        if chunk.kind == b"XMP ":
            packet = data[chunk.data_start : chunk.data_end]
            return _metadata_from_xmp(packet, f"the WebP XMP chunk at byte {chunk.start}")
    return None


def _webp_credentials(data: bytes) -> bool:
    chunks, _ = _webp_chunks(data)
    return any(c.kind == b"C2PA" for c in chunks)


_HANDLERS = {
    "image/png": _Handler(_png_embed, _png_read, _png_credentials),
    "image/jpeg": _Handler(_jpeg_embed, _jpeg_read, _jpeg_credentials),
    "image/webp": _Handler(_webp_embed, _webp_read, _webp_credentials),
}
