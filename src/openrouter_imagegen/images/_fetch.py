"""Downloading a result that is a URL, where the URL comes from a server and is not trusted.

Each hop (the first request and every redirect) is checked on its own:

- the scheme is https (http only with `allow_http`);
- the host name is resolved here and every address it has must be public
  (not loopback, private, link-local, shared, multicast, reserved, a cloud
  metadata address, nor one of those inside an IPv6 form), unless
  `allow_private_hosts`; a numeric host must be a plain dotted quad;
- the connection goes to the address that was vetted: the URL is rewritten to
  it, the name travels in `Host` and in TLS SNI (the certificate is checked
  against the name), so a DNS answer that changes after the check cannot
  move the connection elsewhere.

The request carries only what a download needs: none of the HTTP client's
default headers, cookies or auth (a caller's client may hold an
`Authorization` header). One deadline bounds the whole download, not each
read; the body is asked for as `identity` and capped on the bytes received.

httpx is imported here, on first use: it costs more at import than the rest
of the library.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from openrouter_imagegen._exceptions import ImageDownloadError

if TYPE_CHECKING:
    import httpx

__all__ = ["address_problem", "afetch_image_bytes", "display_url", "fetch_image_bytes"]

MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"https": 443, "http": 80}
_USER_AGENT = "openrouter-imagegen"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_CLOUD_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the gateway connects to the IPv4 inside
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d
# What a host name (IDNA-encoded already) may hold; httpx would percent-encode the rest.
_HOST_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def display_url(url: str) -> str:
    """`url` fit for messages: no credentials, no query string (it may hold a signature).

    Never raises: a URL that cannot be parsed is shown as such.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a malformed URL>"
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    text = urlunsplit((parts.scheme, host, parts.path, "", ""))
    # A lone surrogate would make the message itself unprintable.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def address_problem(address: Address) -> str | None:
    """Why a download must not connect to `address`, or None when it is public."""
    if address in _CLOUD_METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            problem = address_problem(inner)
            return f"an IPv6 form of {problem}" if problem else None
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a globally routable address"),
    )
    return next((problem for failed, problem in checks if failed), None)


def _refused(url: str, why: str) -> ImageDownloadError:
    return ImageDownloadError(f"refusing to fetch {display_url(url)}: {why}", url=url)


class _Target:
    """One hop's URL, parsed and checked for everything but its addresses."""

    def __init__(self, url: str, allow_http: bool) -> None:
        import httpx

        try:
            parsed = httpx.URL(url)
            host = parsed.raw_host.decode("ascii")
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
            raise _refused(url, f"it is not a valid URL ({exc})") from None
        if not (parsed.scheme == "https" or (parsed.scheme == "http" and allow_http)):
            allowed = "https or http" if allow_http else "https (pass allow_http=True for http)"
            raise _refused(url, f"the scheme must be {allowed}")
        if not host:
            raise _refused(url, "it names no host")
        if parsed.port is not None and not 0 < parsed.port < 65536:
            raise _refused(url, f"it is not a valid URL (port {parsed.port})")
        self.url = url
        self.parsed = parsed
        self.host = host
        self.port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
        self.literal = _literal_address(host, url)
        if self.literal is None and not _HOST_NAME_CHARS.issuperset(host):
            raise _refused(url, f"it is not a valid URL (host {host!r})")

    def request(self, address: str | None, remaining: float) -> httpx.Request:
        """The request for this hop, sent to `address` (already vetted) when given."""
        import httpx

        headers = {
            "Host": self.parsed.netloc.decode("ascii"),
            "Accept": "image/*, */*;q=0.5",
            "Accept-Encoding": "identity",
            "User-Agent": _USER_AGENT,
        }
        extensions: dict[str, object] = {
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), remaining)
        }
        url = httpx.URL(scheme=self.parsed.scheme, host=self.host, raw_path=self.parsed.raw_path)
        if self.parsed.port is not None:
            url = url.copy_with(port=self.parsed.port)
        if address is not None:
            url = url.copy_with(host=address)
            extensions["sni_hostname"] = self.host
            # Not pooled: a later download from another name at this address would
            # reuse a connection whose certificate was checked for this name only.
            headers["Connection"] = "close"
        return httpx.Request("GET", url, headers=headers, extensions=extensions)


def _literal_address(host: str, url: str) -> Address | None:
    """The address a numeric host names; a numeric spelling other than a dotted quad is refused."""
    try:
        return ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except (OSError, ValueError):
        return None  # a name
    # `2130706433`, `0x7f.1`, `0177.0.0.1`: the resolver reads them as addresses.
    raise _refused(url, f"the host {host!r} is a numeric address not written as a dotted quad")


def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` has (the one function the tests replace)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _vetted(target: _Target, addresses: list[str]) -> str:
    """The address to connect to, when every address of the host is public."""
    if not addresses:
        raise _refused(target.url, f"{target.host} has no address")
    for text in addresses:
        address = ipaddress.ip_address(text.partition("%")[0])
        problem = address_problem(address)
        if problem:
            raise _refused(
                target.url,
                f"{target.host} resolves to {address}, {problem} "
                "(pass allow_private_hosts=True to allow it)",
            )
    return addresses[0]


def _needs_resolving(target: _Target, allow_private_hosts: bool) -> bool:
    """Whether the hop's name must be resolved and vetted; a numeric host is vetted here."""
    if allow_private_hosts:
        return False
    if target.literal is None:
        return True
    problem = address_problem(target.literal)
    if problem:
        raise _refused(
            target.url,
            f"{target.literal} is {problem} (pass allow_private_hosts=True to allow it)",
        )
    return False


def _unresolved(target: _Target, exc: OSError | UnicodeError) -> ImageDownloadError:
    return _refused(target.url, f"{target.host} could not be resolved ({exc})")


class _Deadline:
    """One time limit for a whole download, redirects and slow bodies included."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self, url: str) -> float:
        """Seconds left; none left raises."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise self.exceeded(url)
        return left

    def exceeded(self, url: str) -> ImageDownloadError:
        return ImageDownloadError(
            f"fetching {display_url(url)} took longer than timeout={self.seconds:g}s", url=url
        )


def _next_url(response: httpx.Response, url: str) -> str | None:
    """The redirect target, or None when `response` is the answer itself."""
    import httpx

    if response.status_code not in _REDIRECTS:
        if not 200 <= response.status_code < 300:
            raise ImageDownloadError(
                f"fetching {display_url(url)} failed: HTTP {response.status_code}", url=url
            )
        return None
    location: str | None = response.headers.get("location")
    if not location:
        raise ImageDownloadError(f"{display_url(url)} redirected without a Location", url=url)
    try:
        return str(httpx.URL(url).join(location))
    except (httpx.InvalidURL, ValueError, UnicodeError):
        raise ImageDownloadError(
            f"{display_url(url)} redirected to a malformed Location", url=url
        ) from None


def _check_answer(response: httpx.Response, max_bytes: int, url: str) -> None:
    """Refuse, before reading the body, an encoded body or one declared too large."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ImageDownloadError(
            f"{display_url(url)} answered with Content-Encoding {encoding!r} "
            "though the identity encoding was asked for",
            url=url,
        )
    declared = response.headers.get("content-length", "")
    if declared.isdigit():  # a malformed length is no promise; the stream is counted anyway
        _check_size(int(declared), max_bytes, url)


def _check_size(size: int, max_bytes: int, url: str) -> None:
    if size > max_bytes:
        raise ImageDownloadError(
            f"{display_url(url)} is larger than max_bytes={max_bytes:,}", url=url
        )


def _too_many(url: str) -> ImageDownloadError:
    return ImageDownloadError(f"{display_url(url)}: more than {MAX_REDIRECTS} redirects", url=url)


def _transport_error(url: str, exc: Exception) -> ImageDownloadError:
    detail = str(exc) or type(exc).__name__
    return ImageDownloadError(f"fetching {display_url(url)} failed: {detail}", url=url)


def fetch_image_bytes(
    url: str,
    *,
    allow_http: bool = False,
    allow_private_hosts: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.Client | None = None,
) -> tuple[bytes, str | None]:
    """The bytes at `url` and their Content-Type, fetched under the rules of this module.

    `timeout` bounds the whole download; `max_bytes` the body; `http_client`
    supplies the transport (proxies, mounts), never headers, cookies or auth.
    Any failure or refusal raises `ImageDownloadError`.
    """
    import httpx

    client = http_client or httpx.Client()
    deadline = _Deadline(timeout)
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = _Target(current, allow_http)
            address = None
            if _needs_resolving(target, allow_private_hosts):
                try:
                    found = _resolve(target.host, target.port)
                except (OSError, UnicodeError) as exc:
                    raise _unresolved(target, exc) from None
                address = _vetted(target, found)
            request = target.request(address, deadline.remaining(current))
            response = client.send(request, stream=True, auth=None, follow_redirects=False)
            try:
                following = _next_url(response, current)
                if following is not None:
                    current = following
                    continue
                _check_answer(response, max_bytes, current)
                chunks, size = [], 0
                for chunk in response.iter_bytes():  # identity: the bytes as sent
                    size += len(chunk)
                    _check_size(size, max_bytes, current)
                    deadline.remaining(current)
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("content-type")
            finally:
                response.close()
        raise _too_many(url)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _transport_error(current, exc) from exc
    finally:
        if http_client is None:
            client.close()


async def afetch_image_bytes(
    url: str,
    *,
    allow_http: bool = False,
    allow_private_hosts: bool = False,
    max_bytes: int = 50_000_000,
    timeout: float = 30.0,
    http_client: httpx.AsyncClient | None = None,
) -> tuple[bytes, str | None]:
    """The async twin of `fetch_image_bytes` (the name is resolved in a worker thread)."""
    import httpx

    client = http_client or httpx.AsyncClient()
    deadline = _Deadline(timeout)
    current = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = _Target(current, allow_http)
            address = None
            if _needs_resolving(target, allow_private_hosts):
                try:
                    found = await asyncio.wait_for(
                        asyncio.to_thread(_resolve, target.host, target.port),
                        deadline.remaining(current),
                    )
                except TimeoutError:  # an OSError too: caught first
                    raise deadline.exceeded(current) from None
                except (OSError, UnicodeError) as exc:
                    raise _unresolved(target, exc) from None
                address = _vetted(target, found)
            request = target.request(address, deadline.remaining(current))
            response = await client.send(request, stream=True, auth=None, follow_redirects=False)
            try:
                following = _next_url(response, current)
                if following is not None:
                    current = following
                    continue
                _check_answer(response, max_bytes, current)
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():  # identity: as sent
                    size += len(chunk)
                    _check_size(size, max_bytes, current)
                    deadline.remaining(current)
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("content-type")
            finally:
                await response.aclose()
        raise _too_many(url)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _transport_error(current, exc) from exc
    finally:
        if http_client is None:
            await client.aclose()
