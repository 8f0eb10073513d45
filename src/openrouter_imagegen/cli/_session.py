"""A command's client: checked before it sends, recording what it receives,
and its failures told with what to do about them. (Imported by the commands
that talk to a server, when they run: httpx loads with it.)"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click
import httpx

from openrouter_imagegen._exceptions import AuthenticationError, ImagegenError, NotFoundError

if TYPE_CHECKING:
    from openrouter_imagegen.client import AsyncImageClient, ImageClient

__all__ = ["KEY_ENV", "explained", "is_local", "make_async_client", "make_client", "resolved_url"]

KEY_ENV = "OPENROUTER_API_KEY"
_DEFAULT_URL = "https://openrouter.ai/api/v1"


def resolved_url(base_url: str | None) -> str:
    return (base_url or os.environ.get("OPENROUTER_BASE_URL") or _DEFAULT_URL).rstrip("/")


def is_local(base_url: str) -> bool:
    """Whether `base_url` is on this machine (the emulator needs no key)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_key(base_url: str) -> None:
    if not os.environ.get(KEY_ENV, "").strip() and not is_local(base_url):
        from openrouter_imagegen.images import display_url

        raise click.UsageError(
            f"no API key: set {KEY_ENV} (keys are at https://openrouter.ai/keys) "
            f"before sending requests to {display_url(base_url)}"
        )


class _Recording(httpx.BaseTransport):
    """A transport that copies the raw bytes of each POST's answer into `path`."""

    def __init__(self, path: Path) -> None:
        self._inner = httpx.HTTPTransport()
        self._path = path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if request.method != "POST":
            return response
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Tee(response.stream, self._path),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


class _Tee(httpx.SyncByteStream):
    def __init__(self, stream: Any, path: Path) -> None:
        self._stream = stream
        self._path = path

    def __iter__(self) -> Iterator[bytes]:
        # Each attempt writes the file anew: what is left is the answer that counted.
        with open(self._path, "wb") as file:
            for chunk in self._stream:
                file.write(chunk)
                file.flush()
                yield chunk

    def close(self) -> None:
        self._stream.close()


def make_client(options: dict[str, Any], *, record: Path | None = None) -> ImageClient:
    """The command's client; with `record`, the raw answer is saved there as it arrives."""
    from openrouter_imagegen.client import ImageClient

    base_url = resolved_url(options.get("base_url"))
    _check_key(base_url)
    http: httpx.Client | None = None
    headers: dict[str, str] = {}
    if record is not None:
        # Identity encoding, so the file holds the body itself, not gzip of it.
        headers["Accept-Encoding"] = "identity"
        http = httpx.Client(transport=_Recording(record))
    return ImageClient(
        **{**options, "base_url": base_url}, default_headers=headers, http_client=http
    )


def make_async_client(options: dict[str, Any]) -> AsyncImageClient:
    from openrouter_imagegen.client import AsyncImageClient

    base_url = resolved_url(options.get("base_url"))
    _check_key(base_url)
    return AsyncImageClient(**{**options, "base_url": base_url})


@contextlib.contextmanager
def explained(base_url: str | None) -> Iterator[None]:
    """Add what to do to the errors a new user meets first."""
    from openrouter_imagegen.images import display_url

    url = display_url(resolved_url(base_url))
    try:
        yield
    except AuthenticationError as exc:
        raise ImagegenError(
            f"{exc}: the API key was refused; set {KEY_ENV} to a valid key"
        ) from exc
    except NotFoundError as exc:
        if urlsplit(url).path.rstrip("/").endswith("/api/v1"):
            raise
        raise ImagegenError(
            f"{exc}: {url} answered 404; OpenRouter's base URL ends in /api/v1 "
            f"(try --base-url {url}/api/v1)"
        ) from exc
