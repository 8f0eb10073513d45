"""Downloading a result that is a URL: https only, every redirect checked, size capped.

httpx is imported here, on first use: it costs more at import than the rest
of the library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from openrouter_imagegen._exceptions import ImageDownloadError

if TYPE_CHECKING:
    import httpx

__all__ = ["afetch_image_bytes", "display_url", "fetch_image_bytes"]

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}


def display_url(url: str) -> str:
    """`url` fit for messages: no credentials, no query string (it may hold a signature)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _check_scheme(url: str, allow_http: bool) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "https" or (scheme == "http" and allow_http):
        return
    allowed = "https or http" if allow_http else "https (pass allow_http=True for http)"
    raise ImageDownloadError(
        f"refusing to fetch {display_url(url)}: the scheme must be {allowed}", url=url
    )


def _next_url(response: httpx.Response, url: str) -> str | None:
    """The redirect target, or None when `response` is the answer itself."""
    if response.status_code not in _REDIRECTS:
        if response.status_code >= 400:
            raise ImageDownloadError(
                f"fetching {display_url(url)} failed: HTTP {response.status_code}", url=url
            )
        return None
    location: str | None = response.headers.get("location")
    if not location:
        raise ImageDownloadError(f"{display_url(url)} redirected without a Location", url=url)
    return urljoin(url, location)


def _check_size(size: int, max_bytes: int, url: str) -> None:
    if size > max_bytes:
        raise ImageDownloadError(
            f"{display_url(url)} is larger than max_bytes={max_bytes:,}", url=url
        )


def _too_many(url: str) -> ImageDownloadError:
    return ImageDownloadError(f"{display_url(url)}: more than {MAX_REDIRECTS} redirects", url=url)


def _transport_error(url: str, exc: Exception) -> ImageDownloadError:
    return ImageDownloadError(f"fetching {display_url(url)} failed: {exc}", url=url)


def fetch_image_bytes(
    url: str,
    *,
    allow_http: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.Client | None = None,
) -> tuple[bytes, str | None]:
    """The bytes at `url` and their Content-Type."""
    import httpx

    client = http_client or httpx.Client()
    try:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(current, allow_http)
            with client.stream("GET", current, timeout=timeout, follow_redirects=False) as response:
                target = _next_url(response, current)
                if target is not None:
                    current = target
                    continue
                _check_size(int(response.headers.get("content-length") or 0), max_bytes, current)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    _check_size(size, max_bytes, current)
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("content-type")
        raise _too_many(url)
    except httpx.HTTPError as exc:
        raise _transport_error(current, exc) from exc
    finally:
        if http_client is None:
            client.close()


async def afetch_image_bytes(
    url: str,
    *,
    allow_http: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.AsyncClient | None = None,
) -> tuple[bytes, str | None]:
    """The async twin of `fetch_image_bytes`."""
    import httpx

    client = http_client or httpx.AsyncClient()
    try:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(current, allow_http)
            async with client.stream(
                "GET", current, timeout=timeout, follow_redirects=False
            ) as response:
                target = _next_url(response, current)
                if target is not None:
                    current = target
                    continue
                _check_size(int(response.headers.get("content-length") or 0), max_bytes, current)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    _check_size(size, max_bytes, current)
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("content-type")
        raise _too_many(url)
    except httpx.HTTPError as exc:
        raise _transport_error(current, exc) from exc
    finally:
        if http_client is None:
            await client.aclose()
