"""The emulator's defences, each shown against a real server on 127.0.0.1: body and prompt
limits, idle and slow connections, cross-site and rebinding requests, and the key."""

from __future__ import annotations

import hmac
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("starlette")
pytest.importorskip("PIL")

from openrouter_imagegen.emulator import MAX_BODY_BYTES, MAX_PROMPT_CHARS, run

KEY = "sk-or-hardening-key"
MODEL = "openai/gpt-5-image"
SMALL_LIMIT = 16 * 1024


def tool_body(prompt: str = "a quiet harbour") -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": prompt,
        "tools": [{"type": "image_generation", "size": "32x32"}],
    }


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with run(max_body_bytes=SMALL_LIMIT, read_timeout=0.5, keep_alive_seconds=1) as url:
        yield url


def address(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    assert parsed.port is not None
    return parsed.host, parsed.port


def connect(url: str) -> socket.socket:
    sock = socket.create_connection(address(url), timeout=5)
    sock.settimeout(5)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def closed_within(sock: socket.socket, seconds: float) -> float:
    """How long the server took to close `sock` (failing if not within `seconds`)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        read_all(sock)
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for more than {seconds} s")
    return time.monotonic() - start


def head(url: str, method: str = "POST", path: str = "/responses", **headers: str) -> bytes:
    host, port = address(url)
    lines = [f"{method} /api/v1{path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_error(sock: socket.socket) -> tuple[int, dict[str, Any]]:
    """The status and OpenRouter error of the answer on `sock`, read by its Content-Length
    (the server reads on, dropping the rest of a refused body, so it does not close)."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), httpx.Response(200, content=body).json()["error"]


# -- 1. the body limit -------------------------------------------------------------------


def test_a_content_length_over_the_default_limit_is_refused_before_any_body() -> None:
    with run() as url, connect(url) as sock:
        sock.sendall(head(url, Content_Type="application/json", Content_Length="200000000"))
        status, error = read_error(sock)  # no body sent: an answer all the same
    assert status == 413
    assert error["code"] == 413
    assert str(MAX_BODY_BYTES) in error["message"] and "200000000" in error["message"]


def test_a_body_without_length_is_cut_off_as_soon_as_it_passes_the_limit(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(head(base_url, Content_Type="application/json", Transfer_Encoding="chunked"))
        piece = b"x" * 4096
        for _ in range(SMALL_LIMIT // len(piece) + 2):  # past the limit, and never finished
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        status, error = read_error(sock)
    assert (status, error["code"]) == (413, 413)
    assert "too large" in error["message"]


def test_a_client_that_sends_its_whole_body_first_still_gets_the_413(base_url: str) -> None:
    reply = httpx.post(
        f"{base_url}/responses",
        content=b"[" + b"1," * SMALL_LIMIT + b"1]",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == 413


def test_a_body_within_the_limit_is_served(base_url: str) -> None:
    reply = httpx.post(f"{base_url}/responses", json=tool_body("x " * (SMALL_LIMIT // 4)))
    assert reply.status_code == 200, reply.text


# -- 2. prompts: a length limit, and drawing that is quick whatever the prompt --------------


def test_a_prompt_over_the_limit_is_refused_naming_the_field(base_url: str) -> None:
    with run() as url, httpx.Client(timeout=30) as client:
        long = "y" * (MAX_PROMPT_CHARS + 1)
        responses = client.post(f"{url}/responses", json=tool_body(long))
        chat = client.post(
            f"{url}/chat/completions",
            json={
                "model": MODEL,
                "modalities": ["image", "text"],
                "messages": [{"role": "user", "content": long}],
            },
        )
        images = client.post(
            f"{url}/images", json={"model": "openai/gpt-image-1", "prompt": long, "size": "32x32"}
        )
    for reply, field in ((responses, "input"), (chat, "messages"), (images, "prompt")):
        assert reply.status_code == 400
        message = reply.json()["error"]["message"]
        assert message.startswith(f"{field}:")
        assert "prompt" in message and str(MAX_PROMPT_CHARS) in message


def test_the_longest_single_word_prompt_renders_at_once() -> None:
    with run() as url:
        body = {**tool_body("w" * MAX_PROMPT_CHARS)}
        body["tools"] = [{"type": "image_generation", "size": "1024x1024"}]
        start = time.monotonic()
        reply = httpx.post(f"{url}/responses", json=body, timeout=30)
        elapsed = time.monotonic() - start
    assert reply.status_code == 200
    assert elapsed < 5  # was minutes: word wrapping a long word was quadratic


@given(
    text=st.text(st.sampled_from("ab Ωм\n\t"), max_size=400),
    columns=st.integers(1, 40),
    rows=st.integers(1, 12),
)
def test_wrapping_keeps_to_its_box_and_the_start_of_the_text(
    text: str, columns: int, rows: int
) -> None:
    from openrouter_imagegen.emulator._render import _wrap

    wrapped = _wrap(text, columns, rows)
    lines = wrapped.split("\n") if wrapped else []
    assert len(lines) <= rows
    assert all(0 < len(line) <= columns for line in lines)
    drawn = "".join(wrapped.split())
    assert "".join(text.split()).startswith(drawn)


def test_wrapping_a_huge_word_looks_only_at_what_fits() -> None:
    from openrouter_imagegen.emulator._render import _wrap

    start = time.monotonic()
    wrapped = _wrap("z" * 20_000_000, 20, 10)
    assert time.monotonic() - start < 0.5
    assert wrapped.split("\n")[0] == "z" * 20


# -- 3. idle, slow and too many connections -----------------------------------------------


def test_a_connection_that_sends_nothing_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        assert closed_within(sock, 4) >= 0.3


def test_a_connection_that_never_finishes_its_headers_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(head(base_url)[:-4])  # the headers, but not the blank line ending them
        closed_within(sock, 4)


def test_a_connection_that_never_finishes_its_body_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(head(base_url, Content_Type="application/json", Content_Length="100"))
        sock.sendall(b'{"model": ')
        closed_within(sock, 4)


def test_an_idle_keep_alive_connection_is_closed(base_url: str) -> None:
    with connect(base_url) as sock:
        sock.sendall(head(base_url, "GET", "/models"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        closed_within(sock, 4)


def test_a_slow_answer_is_not_cut_by_the_read_timeout() -> None:
    with run(read_timeout=0.2, hold_seconds=1.0) as url:
        reply = httpx.post(
            f"{url}/responses", json=tool_body(), headers={"X-Emulator-Fault": "timeout"}
        )
    assert reply.status_code == 200


def test_connections_past_the_limit_are_turned_away() -> None:
    with run(max_connections=2) as url:
        idle = [connect(url) for _ in range(2)]
        try:
            time.sleep(0.2)  # let the server take both
            assert httpx.get(f"{url}/models").status_code == 503
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(f"{url}/models").status_code == 200


# -- 4. and 5. what a web page could send: plain-text POSTs, foreign hosts and origins --------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_post_that_is_not_json_is_refused(base_url: str, content_type: str) -> None:
    reply = httpx.post(
        f"{base_url}/responses",
        content=httpx.Response(200, json=tool_body()).content,
        headers={"Content-Type": content_type},
    )
    assert reply.status_code == 415
    error = reply.json()["error"]
    assert error["code"] == 415
    assert "Content-Type" in error["message"] and content_type in error["message"]


def test_json_with_a_charset_is_json(base_url: str) -> None:
    reply = httpx.post(
        f"{base_url}/responses",
        content=httpx.Response(200, json=tool_body()).content,
        headers={"Content-Type": "Application/JSON; charset=utf-8"},
    )
    assert reply.status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_a_foreign_host_name_is_refused(base_url: str, host: str) -> None:
    reply = httpx.get(f"{base_url}/models", headers={"Host": host})
    assert reply.status_code == 421
    message = reply.json()["error"]["message"]
    assert host in message and "allow_remote" in message


def test_the_servers_own_names_are_served(base_url: str) -> None:
    _, port = address(base_url)
    for host in ("127.0.0.1", f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "[::1]:80"):
        assert httpx.get(f"{base_url}/models", headers={"Host": host}).status_code == 200, host


def test_a_cross_site_origin_is_refused(base_url: str) -> None:
    _, port = address(base_url)
    foreign = httpx.post(
        f"{base_url}/responses", json=tool_body(), headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "Origin" in foreign.json()["error"]["message"]
    own = httpx.post(
        f"{base_url}/responses", json=tool_body(), headers={"Origin": f"http://localhost:{port}"}
    )
    assert own.status_code == 200


def test_a_remote_server_answers_any_host() -> None:
    with run(allow_remote=True, api_key=KEY) as url:
        reply = httpx.get(
            f"{url}/models",
            headers={"Host": "emulator.lan:8080", "Authorization": f"Bearer {KEY}"},
        )
    assert reply.status_code == 200


# -- 6. the key is compared in constant time -------------------------------------------------


def test_the_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    with run(api_key=KEY) as url:
        wrong = httpx.post(f"{url}/responses", json=tool_body(), headers={"Authorization": "x"})
        right = httpx.post(
            f"{url}/responses", json=tool_body(), headers={"Authorization": f"Bearer {KEY}"}
        )
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert compared == [(b"x", f"Bearer {KEY}".encode()), ((f"Bearer {KEY}".encode(),) * 2)]


# -- 7. the key from an environment variable --------------------------------------------------


def test_the_key_can_come_from_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_TEST_KEY", KEY)
    with run(api_key_env="EMULATOR_TEST_KEY") as url:
        assert httpx.post(f"{url}/responses", json=tool_body()).status_code == 401
        right = {"Authorization": f"Bearer {KEY}"}
        assert httpx.post(f"{url}/responses", json=tool_body(), headers=right).status_code == 200


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_key_variable_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    from openrouter_imagegen.emulator import serve

    if value is None:
        monkeypatch.delenv("EMULATOR_MISSING_KEY", raising=False)
    else:
        monkeypatch.setenv("EMULATOR_MISSING_KEY", value)
    with pytest.raises(ValueError, match="EMULATOR_MISSING_KEY"):
        serve(api_key_env="EMULATOR_MISSING_KEY", port=1)  # refused before binding anything
    with (
        pytest.raises(ValueError, match="EMULATOR_MISSING_KEY"),
        run(api_key_env="EMULATOR_MISSING_KEY"),
    ):
        pass


def test_a_key_and_a_key_variable_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_TEST_KEY", KEY)
    with (
        pytest.raises(ValueError, match="not both"),
        run(api_key=KEY, api_key_env="EMULATOR_TEST_KEY"),
    ):
        pass
