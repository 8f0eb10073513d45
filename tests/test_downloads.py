"""Downloading URL results: the address rule, pinning, the deadline, the cap, no credentials.

Servers run on 127.0.0.1 only. Loopback is private, so these tests check the
refusal first and use `allow_private_hosts=True` for the paths that succeed;
what a public host would do is simulated by replacing the resolver and, where
the connection itself is under test, the transport.
"""

from __future__ import annotations

import gzip
import http.server
import ipaddress
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen import ImageDownloadError
from openrouter_imagegen.images import (
    _fetch,
    afetch_image_bytes,
    decode_result,
    fetch_image_bytes,
    image_from_call,
)
from openrouter_imagegen.images._fetch import address_problem, display_url
from openrouter_imagegen.models.operations import OutputImageGenerationCall

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
PUBLIC = "93.184.215.14"  # a public address; tests that "resolve" to it never connect to it


@pytest.fixture(autouse=True)
def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test resolves a name for real: a test that needs an answer sets its own."""

    def refuse(host: str, port: int) -> list[str]:
        raise AssertionError(f"a test tried to resolve {host!r} for real")

    monkeypatch.setattr(_fetch, "_resolve", refuse)


# -- the address classifier -------------------------------------------------------------------

REFUSED = [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "0.0.0.0",
    "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.254", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fd00:ec2::254", "fc00::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
    "::10.0.0.1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe", "2001:db8::1", "100::1",
]  # fmt: skip
PUBLIC_ADDRESSES = [
    "8.8.8.8", "1.1.1.1", PUBLIC, "2606:4700:4700::1111", "2a00:1450:4001::200e",
    "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808",
]  # fmt: skip


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused(text: str) -> None:
    assert address_problem(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", PUBLIC_ADDRESSES)
def test_public_addresses_pass(text: str) -> None:
    assert address_problem(ipaddress.ip_address(text)) is None


def test_the_cloud_metadata_addresses_are_named() -> None:
    for text in ("169.254.169.254", "fd00:ec2::254"):
        assert address_problem(ipaddress.ip_address(text)) == "a cloud metadata address"


def _plainly_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Python's own properties, read independently of the classifier."""
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in ipaddress.ip_network("100.64.0.0/10")
    )


@settings(max_examples=3000)
@given(st.ip_addresses(v=4))
def test_property_ipv4_public_exactly_when_python_says_global_and_nothing_else(
    address: ipaddress.IPv4Address,
) -> None:
    assert (address_problem(address) is None) == _plainly_public(address)


@settings(max_examples=3000)
@given(st.ip_addresses(v=4))
def test_property_every_ipv6_form_of_an_ipv4_address_shares_its_verdict(
    address: ipaddress.IPv4Address,
) -> None:
    verdict = address_problem(address) is None
    value = int(address)
    forms = [
        ipaddress.IPv6Address((0xFFFF << 32) | value),  # mapped
        ipaddress.IPv6Address((0x2002 << 112) | (value << 80)),  # 6to4
        ipaddress.IPv6Address((0x0064_FF9B << 96) | value),  # NAT64
    ]
    if value > 1:
        forms.append(ipaddress.IPv6Address(value))  # compatible (::1 and :: are their own)
    for form in forms:
        assert (address_problem(form) is None) == verdict, form


@settings(max_examples=3000)
@given(st.ip_addresses(v=6))
def test_property_ipv6_without_an_ipv4_inside_follows_python(
    address: ipaddress.IPv6Address,
) -> None:
    carries_ipv4 = (
        address.ipv4_mapped is not None
        or address.sixtofour is not None
        or address in ipaddress.ip_network("64:ff9b::/96")
        or address in ipaddress.ip_network("::/96")
    )
    if not carries_ipv4:
        assert (address_problem(address) is None) == _plainly_public(address)
    else:
        # Whatever the IPv4 inside, a public verdict needs a public IPv4 there.
        if address_problem(address) is None:
            inner = int(address) & 0xFFFF_FFFF
            if address.sixtofour is not None:
                inner = int(address.sixtofour)
            assert address_problem(ipaddress.IPv4Address(inner)) is None


# -- URLs refused before any connection --------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://2130706433/x.png", "numeric address not written as a dotted quad"),
        ("http://0x7f.1/x.png", "numeric address"),
        ("http://0177.0.0.1/x.png", "not a valid URL"),  # httpx itself refuses this one
        ("http://127.1/x.png", "numeric address"),
        ("http://017700000001/x.png", "numeric address"),
        ("http://127.0.0.1/x.png", "loopback"),
        ("http://[::1]/x.png", "loopback"),
        ("http://[::ffff:127.0.0.1]/x.png", "IPv6 form of a loopback"),
        ("http://[::ffff:7f00:1]/x.png", "IPv6 form of a loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
        ("http://[fe80::1%25eth0]/x.png", "link-local"),
        ("http://100.64.1.1/x.png", "shared"),
        ("http://10.1.2.3:8080/x.png", "private"),
        ("http://224.0.0.1/x.png", "multicast"),
        ("http://0.0.0.0/x.png", "unspecified"),
        ("ftp://example.com/x.png", "scheme must be"),
        ("file:///etc/passwd", "scheme must be"),
        ("http://[::1/x.png", "not a valid URL"),
        ("http://exa mple.com/x.png", "not a valid URL"),
        ("http://exa%41mple.com/x.png", "not a valid URL"),
        ("http://a\x00b.example/x.png", "not a valid URL"),
        ("http://host.example:99999/x.png", "not a valid URL"),
        ("http://\ud800.example/x.png", "not a valid URL"),
        ("http:///x.png", "names no host"),
    ],
)
def test_hostile_urls_are_refused_with_a_clear_error(url: str, why: str) -> None:
    with pytest.raises(ImageDownloadError, match=why) as info:
        fetch_image_bytes(url, allow_http=True, timeout=2)
    assert info.value.url == url
    str(info.value).encode("utf-8")  # printable: no lone surrogate in the message


def test_https_is_required_unless_http_is_allowed() -> None:
    with pytest.raises(ImageDownloadError, match="pass allow_http=True"):
        fetch_image_bytes("http://example.com/x.png")


@pytest.mark.parametrize(
    "answer", [["10.0.0.7"], [PUBLIC, "127.0.0.1"], ["::ffff:192.168.0.1"], ["fe80::1%2"]]
)
def test_a_name_with_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, answer: list[str]
) -> None:
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: answer)
    with pytest.raises(ImageDownloadError, match=r"images\.example resolves to .*allow_private"):
        fetch_image_bytes("https://images.example/x.png")


def test_a_name_that_does_not_resolve_is_an_image_download_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    monkeypatch.setattr(_fetch, "_resolve", fail)
    with pytest.raises(ImageDownloadError, match="could not be resolved"):
        fetch_image_bytes("https://nowhere.example/x.png")


# -- the connection goes to the vetted address, with only what a download needs --------------


class _Recorder:
    """A mock transport playing `routes` (url -> response), recording every request."""

    def __init__(self, routes: dict[str, httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes.get(str(request.url), httpx.Response(404))


def test_the_request_goes_to_the_vetted_address_with_the_name_in_host_and_sni(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # a rebinding resolver: public, then loopback
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: next(answers))
    recorder = _Recorder({f"https://{PUBLIC}/a/x.png?sig=1": httpx.Response(200, content=PNG)})
    with httpx.Client(transport=httpx.MockTransport(recorder)) as client:
        data, _ = fetch_image_bytes("https://cdn.example/a/x.png?sig=1", http_client=client)
    assert data == PNG
    (request,) = recorder.requests
    assert request.url.host == PUBLIC
    assert request.headers["host"] == "cdn.example"
    assert request.extensions["sni_hostname"] == "cdn.example"
    assert request.headers["accept-encoding"] == "identity"


def test_no_header_cookie_or_auth_of_the_client_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: [PUBLIC])
    recorder = _Recorder(
        {
            f"https://{PUBLIC}/x.png": httpx.Response(302, headers={"Location": "/y.png"}),
            f"https://{PUBLIC}/y.png": httpx.Response(200, content=PNG),
        }
    )
    with httpx.Client(
        transport=httpx.MockTransport(recorder),
        headers={"Authorization": "Bearer sk-secret", "X-Api-Key": "sk-secret"},
        cookies={"session": "sk-secret"},
        auth=("user", "sk-secret"),
    ) as client:
        fetch_image_bytes("https://user:pw@api.example/x.png", http_client=client)
    assert len(recorder.requests) == 2  # the same origin as the API, and a redirect
    for request in recorder.requests:
        names = {name.lower() for name in request.headers}
        assert names <= {"host", "accept", "accept-encoding", "user-agent", "connection"}
        assert "sk-secret" not in str(request.headers) and "pw" not in str(request.url)


def test_a_redirect_to_a_private_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    addresses = {"cdn.example": [PUBLIC], "internal.example": ["10.0.0.5"]}
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: addresses[host])
    hops = {
        "https://internal.example/x.png": "10.0.0.5",
        "http://127.0.0.1:8080/x.png": "loopback",
        "http://[::ffff:169.254.169.254]/": "IPv6 form of a cloud metadata",
        "http://2130706433/": "numeric address",
        "ftp://cdn.example/x.png": "scheme",
    }
    for location, why in hops.items():
        recorder = _Recorder(
            {f"https://{PUBLIC}/go": httpx.Response(302, headers={"Location": location})}
        )
        with httpx.Client(transport=httpx.MockTransport(recorder)) as client:
            with pytest.raises(ImageDownloadError, match=why):
                fetch_image_bytes("https://cdn.example/go", allow_http=True, http_client=client)
        assert len(recorder.requests) == 1  # the second hop was never sent


def test_an_encoded_body_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: [PUBLIC])
    bomb = gzip.compress(b"\0" * 10_000_000)
    answer = httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})
    recorder = _Recorder({f"https://{PUBLIC}/x.png": answer})
    with httpx.Client(transport=httpx.MockTransport(recorder)) as client:
        with pytest.raises(ImageDownloadError, match="Content-Encoding 'gzip'"):
            fetch_image_bytes("https://cdn.example/x.png", http_client=client, max_bytes=1000)


# -- real connections to loopback ----------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    seen: list[dict[str, str]]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(dict(self.headers))
        if self.path == "/image.png":
            self._answer(200, PNG, {"Content-Type": "image/png"})
        elif self.path == "/redirect":
            self._answer(302, b"", {"Location": "/image.png"})
        elif self.path == "/bad-length":
            self._answer(200, PNG, {"Content-Length": "many"})
        elif self.path == "/unsized":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(64):
                self.wfile.write(PNG)
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client gave up, as it should
        else:
            self._answer(404, b"no", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _base(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_loopback_is_refused_then_allowed_on_request(server: _Server) -> None:
    url = _base(server) + "/redirect"
    with pytest.raises(ImageDownloadError, match=r"loopback.*allow_private_hosts=True"):
        fetch_image_bytes(url, allow_http=True)
    data, content_type = fetch_image_bytes(url, allow_http=True, allow_private_hosts=True)
    assert (data, content_type) == (PNG, "image/png")
    image = decode_result(url, fetch=True, allow_http=True, allow_private_hosts=True)
    assert image.data == PNG and image.source == "url"


def test_download_options_pass_allow_private_hosts_through(server: _Server) -> None:
    call = OutputImageGenerationCall(
        id="ig", status="completed", result=_base(server) + "/image.png"
    )
    with pytest.raises(ImageDownloadError, match="loopback"):
        image_from_call(call, fetch=True, allow_http=True)
    image = image_from_call(call, fetch=True, allow_http=True, allow_private_hosts=True)
    assert image.data == PNG


def test_a_loopback_download_sends_none_of_the_clients_credentials(server: _Server) -> None:
    server.seen.clear()
    with httpx.Client(headers={"Authorization": "Bearer sk-secret"}, cookies={"a": "b"}) as http:
        fetch_image_bytes(
            _base(server) + "/redirect",
            allow_http=True,
            allow_private_hosts=True,
            http_client=http,
        )
    assert len(server.seen) == 2
    for headers in server.seen:
        lowered = {key.lower(): value for key, value in headers.items()}
        assert "authorization" not in lowered and "cookie" not in lowered
        assert lowered["accept-encoding"] == "identity"


def test_a_slow_drip_is_cut_by_the_whole_download_deadline(server: _Server) -> None:
    started = time.monotonic()
    with pytest.raises(ImageDownloadError, match=r"took longer than timeout=1s"):
        fetch_image_bytes(
            _base(server) + "/drip", allow_http=True, allow_private_hosts=True, timeout=1.0
        )
    assert time.monotonic() - started < 3.0  # each read is quick; the sum is what is bounded


def test_the_size_cap_holds_without_a_content_length(server: _Server) -> None:
    with pytest.raises(ImageDownloadError, match="max_bytes=60"):
        fetch_image_bytes(
            _base(server) + "/unsized", allow_http=True, allow_private_hosts=True, max_bytes=60
        )
    with pytest.raises(ImageDownloadError, match="bad Content-Length"):
        fetch_image_bytes(_base(server) + "/bad-length", allow_http=True, allow_private_hosts=True)


def test_a_malformed_length_from_a_lenient_transport_is_no_promise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: [PUBLIC])
    for length, body in (("many", PNG), ("10", PNG * 100)):
        answer = httpx.Response(200, content=body, headers={"Content-Length": length})
        recorder = _Recorder({f"https://{PUBLIC}/x.png": answer})
        with httpx.Client(transport=httpx.MockTransport(recorder)) as client:
            if len(body) > 1000:
                with pytest.raises(ImageDownloadError, match="max_bytes=1,000"):
                    fetch_image_bytes(
                        "https://cdn.example/x.png", http_client=client, max_bytes=1000
                    )
            else:
                data, _ = fetch_image_bytes("https://cdn.example/x.png", http_client=client)
                assert data == body


@pytest.mark.anyio
async def test_async_twin_refuses_allows_and_keeps_the_deadline(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _base(server) + "/redirect"
    with pytest.raises(ImageDownloadError, match="loopback"):
        await afetch_image_bytes(url, allow_http=True)
    data, _ = await afetch_image_bytes(url, allow_http=True, allow_private_hosts=True)
    assert data == PNG
    started = time.monotonic()
    with pytest.raises(ImageDownloadError, match="took longer"):
        await afetch_image_bytes(
            _base(server) + "/drip", allow_http=True, allow_private_hosts=True, timeout=1.0
        )
    assert time.monotonic() - started < 3.0
    monkeypatch.setattr(_fetch, "_resolve", lambda host, port: ["192.168.7.7"])
    with pytest.raises(ImageDownloadError, match=r"192\.168\.7\.7, a private address"):
        await afetch_image_bytes("https://images.example/x.png")


@pytest.mark.anyio
async def test_async_resolution_is_bounded_by_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(1.5)
        return [PUBLIC]

    monkeypatch.setattr(_fetch, "_resolve", slow)
    with pytest.raises(ImageDownloadError, match="took longer"):
        await afetch_image_bytes("https://slow.example/x.png", timeout=0.3)


# -- messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pass@host.example:8443/a/b?sig=SECRET#f", "https://host.example:8443/a/b"),
        ("https://[::1]:80/x", "https://[::1]:80/x"),
        ("https://[::1/x", "<a malformed URL>"),
        ("https://host:99999/x", "<a malformed URL>"),
        ("https://h\ud800.example/", "https://h\\ud800.example/"),
    ],
)
def test_display_url_never_shows_credentials_and_never_raises(url: str, shown: str) -> None:
    assert display_url(url) == shown


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_property_display_url_never_raises_and_is_encodable(text: str) -> None:
    display_url("https://" + text).encode("utf-8")
