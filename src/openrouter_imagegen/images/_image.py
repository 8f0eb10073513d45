"""`GeneratedImage`, and turning a call's result into one."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

import pybase64

from openrouter_imagegen._exceptions import (
    ImageDecodeError,
    ImageError,
    ImageIsRemoteError,
    ImageSaveError,
    ImageSkippedWarning,
    ImageUnavailableError,
    MediaTypeMismatchWarning,
    MissingDependencyError,
    UnknownImageFormatError,
)
from openrouter_imagegen.images._decode import Source, b64decode_lenient, classify, parse_data_url
from openrouter_imagegen.images._fetch import afetch_image_bytes, display_url, fetch_image_bytes
from openrouter_imagegen.images._files import safe_filename
from openrouter_imagegen.images._save import save_all
from openrouter_imagegen.images._sniff import (
    EXTENSIONS,
    describe_head,
    dimensions,
    sniff_media_type,
    svg_has_active_content,
)

if TYPE_CHECKING:
    import httpx
    from PIL import Image

    from openrouter_imagegen.images._metadata import ImageMetadata

__all__ = [
    "DownloadOptions",
    "GeneratedImage",
    "HasImageResult",
    "adecode_result",
    "aimage_from_call",
    "aimages_from_calls",
    "decode_result",
    "image_from_call",
    "images_from_calls",
    "save_images",
]


class HasImageResult(Protocol):
    """What the images layer needs of a call: `OutputImageGenerationCall` has it."""

    @property
    def id(self) -> str | None: ...

    @property
    def result(self) -> str | None: ...

    @property
    def status(self) -> str: ...


class GeneratedImage:
    """The decoded image of a call: bytes, what they are, and ways to keep them.

    `media_type` comes from the bytes' own signature; `declared_media_type`
    is what a data URL (or a download's Content-Type) claimed.
    """

    __slots__ = (
        "call_id",
        "data",
        "declared_media_type",
        "height",
        "media_type",
        "provenance",
        "source",
        "url",
        "width",
    )

    def __init__(
        self,
        data: bytes,
        *,
        source: Source,
        call_id: str | None = None,
        declared_media_type: str | None = None,
        url: str | None = None,
    ) -> None:
        media_type = sniff_media_type(data)
        if media_type is None:
            where = f" of call {call_id!r}" if call_id else ""
            raise UnknownImageFormatError(
                f"the result{where} is no known image format: it starts with {describe_head(data)}",
                head=data[:16],
            )
        self.data = data
        self.media_type = media_type
        self.declared_media_type = declared_media_type
        self.source: Source = source
        self.call_id = call_id
        self.url = url
        # Where it came from (set from its response): what `save()` embeds.
        self.provenance: ImageMetadata | None = None
        size = dimensions(data, media_type)
        self.width: int | None = size[0] if size else None
        self.height: int | None = size[1] if size else None
        if (
            declared_media_type
            and declared_media_type != media_type
            and not (declared_media_type == "image/jpg" and media_type == "image/jpeg")
        ):
            warnings.warn(
                f"call {call_id!r} claims {declared_media_type} but its bytes are {media_type}",
                MediaTypeMismatchWarning,
                stacklevel=4,
            )

    @property
    def extension(self) -> str:
        """The usual file extension, without the dot (`png`, `jpg`, ...)."""
        return EXTENSIONS[self.media_type]

    @property
    def size(self) -> int:
        """The byte count."""
        return len(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        dims = f"{self.width}x{self.height}" if self.width is not None else "unknown size"
        return (
            f"<GeneratedImage {self.media_type} {dims}, {len(self.data):,} bytes, "
            f"call_id={self.call_id!r}, source={self.source!r}>"
        )

    def filename(self) -> str:
        """The file name `save(directory)` uses: the safe call id and the extension."""
        stem = self.call_id or "image_" + hashlib.sha256(self.data).hexdigest()[:16]
        return safe_filename(stem, self.extension)

    def save(
        self,
        path: str | Path,
        *,
        overwrite: bool = False,
        metadata: ImageMetadata | bool = True,
        sidecar: bool = False,
    ) -> Path:
        """Write the image atomically and return where.

        An existing directory, or a path ending with a separator (created if
        missing), gets `<safe call id>.<extension>`; any other path is the
        file to write, used as given. A symbolic link at `path`
        is refused (a link planted at a predictable name must not redirect
        the write); to save into a linked directory, use `save_all`. Refuses
        to replace an existing file (`ImageExistsError`, a `FileExistsError`)
        unless `overwrite=True`; other failures raise `ImageSaveError` (an
        `OSError`).

        The image's `provenance` (or the `ImageMetadata` given) is embedded
        without re-encoding: PNG iTXt and XMP, JPEG and WebP XMP. An image
        that cannot hold it, or carries C2PA content credentials, is written
        unchanged with the metadata in a sidecar `<file name>.json`
        (`sidecar=True`: always). `metadata=False` writes the bytes alone.
        """
        from openrouter_imagegen.images._save import write_image

        target = Path(path)
        if target.is_symlink():  # planted where a file will go: neither followed nor replaced
            raise ImageSaveError(
                f"{target} is a symbolic link; refusing to write through or over it",
                errno=errno.ELOOP,
                filename=str(target),
            )
        if target.is_dir() or str(path).endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)
            target = target / self.filename()
        # The caller's own directory may be a link (resolved here, once); the file
        # name this library adds is never followed (see `write_atomic`).
        target = target.parent.resolve() / target.name
        chosen = self.provenance if metadata is True else metadata or None
        return write_image(self, target, overwrite=overwrite, metadata=chosen, sidecar=sidecar)

    def to_pil(self, *, max_pixels: int | None = None) -> Image.Image:
        """The image as a loaded Pillow image (the `pil` extra).

        An image of more than `max_pixels` pixels (by default Pillow's own
        `PIL.Image.MAX_IMAGE_PIXELS`) is refused with `ImageDecodeError` before
        a pixel is decoded, by the size its header declares; bytes Pillow
        cannot read raise `ImageDecodeError` too. Pillow's own
        decompression-bomb guard stays on as well.
        """
        try:
            from PIL import Image
        except ImportError as exc:
            raise MissingDependencyError("GeneratedImage.to_pil()", "pil", "Pillow") from exc
        limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels

        def refuse_over_limit(width: int, height: int) -> None:
            if limit is not None and width * height > limit:
                raise ImageDecodeError(
                    f"the image of call {self.call_id!r} is {width} x {height} = "
                    f"{width * height:,} pixels, more than max_pixels={limit:,}; "
                    "pass a larger max_pixels to load it"
                )

        if self.width is not None and self.height is not None:
            refuse_over_limit(self.width, self.height)
        try:
            image = Image.open(io.BytesIO(self.data))  # lazy: reads the header only
            refuse_over_limit(*image.size)
            image.load()
        except ImageError:
            raise
        except Exception as exc:  # Pillow's plugins raise nearly any built-in exception
            what = f"the {self.media_type} image of call {self.call_id!r}"
            raise ImageDecodeError(
                f"Pillow cannot read {what}: {str(exc) or type(exc).__name__}"
            ) from exc
        return image

    def base64(self) -> str:
        """The bytes as standard base64."""
        return pybase64.b64encode(self.data).decode("ascii")

    @property
    def has_active_content(self) -> bool:
        """True for an SVG that carries scripts, event handlers or other active
        content (or cannot be parsed safely): never inline it where it could run."""
        return self.media_type == "image/svg+xml" and svg_has_active_content(self.data)

    def data_url(self) -> str:
        """The image as a `data:` URL with its real media type.

        An SVG with active content is refused (`ImageError`): a `data:` URL
        opened in a browser would run its scripts. Save it as a file instead.
        """
        if self.has_active_content:
            raise ImageError(
                f"the SVG of call {self.call_id!r} carries scripts or event handlers; "
                "it is not handed out as a data: URL"
            )
        return f"data:{self.media_type};base64,{self.base64()}"


def _media_type_of(content_type: str | None) -> str | None:
    return content_type.split(";")[0].strip().lower() or None if content_type else None


def _unavailable(call_id: str | None, status: str | None) -> ImageUnavailableError:
    return ImageUnavailableError(
        f"image generation call {call_id!r} has no image (status {status or 'unknown'})",
        call_id=call_id,
        status=status,
    )


def _from_inline(
    result: str, source: Source, call_id: str | None, declared: str | None
) -> GeneratedImage:
    if source == "data_url":
        data, declared = parse_data_url(result)
        return GeneratedImage(data, source=source, call_id=call_id, declared_media_type=declared)
    return GeneratedImage(
        b64decode_lenient(result), source=source, call_id=call_id, declared_media_type=declared
    )


def _remote(result: str, call_id: str | None) -> ImageIsRemoteError:
    return ImageIsRemoteError(
        f"the result of call {call_id!r} is a URL ({display_url(result)}); "
        "pass fetch=True to download it",
        url=result,
        call_id=call_id,
    )


def _inline_or_url(
    result: str | None, call_id: str | None, status: str | None, fetch: bool, declared: str | None
) -> GeneratedImage | str:
    """The image when `result` carries it inline, else the URL to download."""
    if not result or not result.strip():
        raise _unavailable(call_id, status)
    source = classify(result)
    if source != "url":
        return _from_inline(result, source, call_id, declared)
    if not fetch:
        raise _remote(result, call_id)
    return result.strip()


def _downloaded(
    data: bytes, content_type: str | None, call_id: str | None, url: str
) -> GeneratedImage:
    declared = _media_type_of(content_type)
    return GeneratedImage(
        data, source="url", call_id=call_id, declared_media_type=declared, url=url
    )


def decode_result(
    result: str | None,
    *,
    call_id: str | None = None,
    status: str | None = None,
    media_type: str | None = None,
    fetch: bool = False,
    allow_http: bool = False,
    allow_private_hosts: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.Client | None = None,
) -> GeneratedImage:
    """A result string (bare base64, a data URL, or a URL) as a `GeneratedImage`.

    `media_type` is what the route declared for bare base64 (checked against
    the bytes). A URL is downloaded only with `fetch=True`, otherwise it raises
    `ImageIsRemoteError`: https only unless `allow_http`, from public addresses
    only unless `allow_private_hosts` (for your own local server), at most
    `max_bytes`, all within `timeout` seconds, through `http_client`'s
    transport when given (never with its headers or credentials).
    """
    inline_or_url = _inline_or_url(result, call_id, status, fetch, media_type)
    if isinstance(inline_or_url, GeneratedImage):
        return inline_or_url
    data, content_type = fetch_image_bytes(
        inline_or_url,
        allow_http=allow_http,
        allow_private_hosts=allow_private_hosts,
        max_bytes=max_bytes,
        timeout=timeout,
        http_client=http_client,
    )
    return _downloaded(data, content_type, call_id, inline_or_url)


async def adecode_result(
    result: str | None,
    *,
    call_id: str | None = None,
    status: str | None = None,
    media_type: str | None = None,
    fetch: bool = False,
    allow_http: bool = False,
    allow_private_hosts: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.AsyncClient | None = None,
) -> GeneratedImage:
    """The async twin of `decode_result` (only a download awaits)."""
    inline_or_url = _inline_or_url(result, call_id, status, fetch, media_type)
    if isinstance(inline_or_url, GeneratedImage):
        return inline_or_url
    data, content_type = await afetch_image_bytes(
        inline_or_url,
        allow_http=allow_http,
        allow_private_hosts=allow_private_hosts,
        max_bytes=max_bytes,
        timeout=timeout,
        http_client=http_client,
    )
    return _downloaded(data, content_type, call_id, inline_or_url)


class DownloadOptions(TypedDict, total=False):
    """How a result that is a URL may be downloaded; see `decode_result`."""

    fetch: bool
    allow_http: bool
    allow_private_hosts: bool
    max_bytes: int
    timeout: float


def image_from_call(
    call: HasImageResult,
    *,
    http_client: httpx.Client | None = None,
    **options: Unpack[DownloadOptions],
) -> GeneratedImage:
    """The image of one call; see `decode_result` for the options."""
    return decode_result(
        call.result,
        call_id=call.id,
        status=str(call.status),
        media_type=getattr(call, "media_type", None),
        http_client=http_client,
        **options,
    )


async def aimage_from_call(
    call: HasImageResult,
    *,
    http_client: httpx.AsyncClient | None = None,
    **options: Unpack[DownloadOptions],
) -> GeneratedImage:
    """The async twin of `image_from_call`."""
    return await adecode_result(
        call.result,
        call_id=call.id,
        status=str(call.status),
        media_type=getattr(call, "media_type", None),
        http_client=http_client,
        **options,
    )


def _with_images(calls: Iterable[HasImageResult], strict: bool) -> list[HasImageResult]:
    """The calls that carry an image; the others raise (strict) or are named in one warning."""
    kept, skipped = [], []
    for call in calls:
        if call.result and call.result.strip():
            kept.append(call)
        elif strict:
            raise _unavailable(call.id, str(call.status))
        else:
            skipped.append(f"{call.id} ({call.status})")
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} image generation call(s) without an image: "
            + ", ".join(skipped),
            ImageSkippedWarning,
            stacklevel=3,
        )
    return kept


def images_from_calls(
    calls: Iterable[HasImageResult],
    *,
    strict: bool = False,
    http_client: httpx.Client | None = None,
    **options: Unpack[DownloadOptions],
) -> list[GeneratedImage]:
    """The image of every call that has one, in order.

    Calls without an image (failed or unfinished) are skipped with an
    `ImageSkippedWarning`; with `strict=True` the first raises
    `ImageUnavailableError` instead.
    """
    return [
        image_from_call(call, http_client=http_client, **options)
        for call in _with_images(calls, strict)
    ]


async def aimages_from_calls(
    calls: Iterable[HasImageResult],
    *,
    strict: bool = False,
    http_client: httpx.AsyncClient | None = None,
    **options: Unpack[DownloadOptions],
) -> list[GeneratedImage]:
    """The async twin of `images_from_calls`."""
    return [
        await aimage_from_call(call, http_client=http_client, **options)
        for call in _with_images(calls, strict)
    ]


class _HasImageOutputs(Protocol):
    @property
    def image_outputs(self) -> list[Any]: ...


def save_images(
    response_or_calls: _HasImageOutputs | Iterable[HasImageResult],
    destination: str | Path,
    *,
    strict: bool = False,
    overwrite: bool = False,
    http_client: httpx.Client | None = None,
    **options: Unpack[DownloadOptions],
) -> list[Path]:
    """Save every image of a response (or of some calls) to `destination`.

    `destination` is a directory (created if needed; each file is
    `<safe call id>.<ext>`) or a file name, by the rule of `save_all`.
    Files are written atomically. Calls without an image are skipped as in
    `images_from_calls`.
    """
    calls: Iterable[HasImageResult] = (
        response_or_calls.image_outputs
        if hasattr(response_or_calls, "image_outputs")
        else response_or_calls
    )
    images = images_from_calls(calls, strict=strict, http_client=http_client, **options)
    return save_all(images, destination, overwrite=overwrite)
