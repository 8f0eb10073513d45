"""Images: a call's `result` to bytes, media type, dimensions, safe files and Pillow.

No network I/O unless asked (`fetch=True`); nothing heavy is imported until
used (httpx for downloads, Pillow for `to_pil()`).
"""

from openrouter_imagegen._exceptions import (
    ImageDecodeError,
    ImageDownloadError,
    ImageError,
    ImageExistsError,
    ImageIsRemoteError,
    ImageSaveError,
    ImageSkippedWarning,
    ImageUnavailableError,
    MediaTypeMismatchWarning,
    UnknownImageFormatError,
)
from openrouter_imagegen._public import publish
from openrouter_imagegen.images._decode import b64decode_lenient, parse_data_url
from openrouter_imagegen.images._fetch import (
    address_problem,
    afetch_image_bytes,
    display_url,
    fetch_image_bytes,
)
from openrouter_imagegen.images._files import safe_filename, write_atomic
from openrouter_imagegen.images._image import (
    DownloadOptions,
    GeneratedImage,
    adecode_result,
    aimage_from_call,
    aimages_from_calls,
    decode_result,
    image_from_call,
    images_from_calls,
    save_images,
)
from openrouter_imagegen.images._metadata import (
    ImageMetadata,
    content_credentials,
    embed_metadata,
    read_metadata,
    sidecar_path,
    with_provenance,
)
from openrouter_imagegen.images._save import is_directory_destination, save_all
from openrouter_imagegen.images._sniff import dimensions, sniff_media_type, svg_has_active_content

__all__ = [
    "address_problem",
    "DownloadOptions",
    "GeneratedImage",
    "ImageMetadata",
    "ImageDecodeError",
    "ImageDownloadError",
    "ImageError",
    "ImageExistsError",
    "ImageIsRemoteError",
    "ImageSaveError",
    "ImageSkippedWarning",
    "ImageUnavailableError",
    "MediaTypeMismatchWarning",
    "UnknownImageFormatError",
    "adecode_result",
    "afetch_image_bytes",
    "aimage_from_call",
    "aimages_from_calls",
    "b64decode_lenient",
    "content_credentials",
    "decode_result",
    "dimensions",
    "display_url",
    "embed_metadata",
    "fetch_image_bytes",
    "image_from_call",
    "images_from_calls",
    "is_directory_destination",
    "parse_data_url",
    "read_metadata",
    "safe_filename",
    "save_all",
    "save_images",
    "sidecar_path",
    "sniff_media_type",
    "svg_has_active_content",
    "with_provenance",
    "write_atomic",
]

publish(globals(), __all__, __name__)
