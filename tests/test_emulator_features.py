"""What the emulator gives new users, on a real server on 127.0.0.1 driven with plain httpx:
a font for Greek and Cyrillic prompts, results served by URL, edits that start from their
input image, and a log of the requests received."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import httpx
import pytest

from openrouter_imagegen import parse_response
from openrouter_imagegen.stream import SSEDecoder, accumulate

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")
ImageStat = pytest.importorskip("PIL.ImageStat")

from openrouter_imagegen.emulator import EmulatorURL, run  # noqa: E402

KEY = "sk-or-features-key"
MODEL = "openai/gpt-5-image"


def tool_body(prompt: str = "a glass lantern", size: str = "64x48", **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": prompt,
        "tools": [{"type": "image_generation", "size": size, **extra}],
    }


def chat_body(content: Any = "a paper crane", **options: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "modalities": ["image", "text"],
        "messages": [{"role": "user", "content": content}],
        "image_config": {"size": "48x32"},
        **options,
    }


def sse_json(data: bytes) -> list[dict[str, Any]]:
    datas = [event.data for event in SSEDecoder().feed(data)]
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


def picture(data: bytes) -> Any:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with run() as url:
        yield url


@pytest.fixture(scope="module")
def url_server() -> Iterator[str]:
    with run(url_results=True, api_key=KEY) as url:
        yield url


@pytest.fixture(scope="module")
def keyed() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {KEY}"}) as client:
        yield client


# -- 8. a font with Greek and Cyrillic -------------------------------------------------------


def test_the_font_ships_with_the_package_and_its_licence() -> None:
    fonts = resources.files("openrouter_imagegen.emulator") / "fonts"
    assert (fonts / "DejaVuSans.ttf").read_bytes()[:4] == b"\x00\x01\x00\x00"  # TrueType
    assert "Bitstream" in (fonts / "LICENSE").read_text(encoding="utf-8")


def test_greek_and_cyrillic_letters_are_drawn_not_boxed() -> None:
    from openrouter_imagegen.emulator._render import _font

    font = _font(24)

    def bitmap(text: str) -> tuple[tuple[int, int], bytes]:
        mask = font.getmask(text)
        return mask.size, bytes(mask)

    missing = bitmap("\ue000")  # a private-use character: the font's empty box
    assert bitmap("中") == missing  # what any character without a glyph looks like
    letters = [bitmap(letter) for letter in "Ωмega"]
    assert missing not in letters
    assert len(set(letters)) == len(letters)


def test_a_greek_and_cyrillic_prompt_renders_its_own_picture(base_url: str) -> None:
    def drawn(prompt: str) -> Any:
        reply = httpx.post(f"{base_url}/responses", json=tool_body(prompt, "256x64"))
        result = parse_response(reply.content).image_generation_calls[0].result or ""
        return picture(base64.b64decode(result))

    assert drawn("Ωмega").size == (256, 64)


# -- 9. results served by URL -------------------------------------------------------------------


def fetch(url: str, expected_base: str) -> bytes:
    """Download a result URL with no key, checking that the emulator itself serves it."""
    assert url.startswith(expected_base.removesuffix("/api/v1") + "/api/v1/files/")
    reply = httpx.get(url)
    assert reply.status_code == 200
    return reply.content


def test_responses_results_are_urls_the_emulator_serves(
    url_server: str, base_url: str, keyed: httpx.Client
) -> None:
    reply = keyed.post(f"{url_server}/responses", json=tool_body())
    assert reply.status_code == 200
    item = reply.json()["output"][0]
    assert item["type"] == "openrouter:image_generation"
    assert item["status"] == "completed" and item["result"] == item["imageUrl"]
    data = fetch(item["result"], url_server)
    assert httpx.get(item["result"]).headers["content-type"] == "image/png"
    assert picture(data).size == (64, 48)
    plain = httpx.post(f"{base_url}/responses", json=tool_body()).json()["output"][0]
    assert base64.b64decode(plain["result"]) == data  # the same picture, by another road
    (call,) = parse_response(reply.content).output[:1]
    assert call.image_url == item["result"]  # type: ignore[union-attr]


def test_a_streamed_responses_result_is_a_url(url_server: str, keyed: httpx.Client) -> None:
    body = {**tool_body(partial_images=2), "stream": True}
    streamed = keyed.post(f"{url_server}/responses", json=body).content
    events = sse_json(streamed)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert not any(kind.startswith("response.image_generation_call.") for kind in kinds)
    added = next(e for e in events if e["type"] == "response.output_item.added")
    assert added["item"]["type"] == "openrouter:image_generation"
    assert added["item"]["result"] is None and "imageUrl" not in added["item"]
    final = events[-1]["response"]["output"][0]
    assert picture(fetch(final["result"], url_server)).format == "PNG"
    # The library puts the stream back together into the same item.
    (item,) = accumulate([streamed]).output[:1]
    assert item.image_url == final["result"]  # type: ignore[union-attr]


def test_chat_results_are_urls_in_plain_and_streamed_answers(
    url_server: str, keyed: httpx.Client
) -> None:
    plain = keyed.post(f"{url_server}/chat/completions", json=chat_body()).json()
    (image,) = plain["choices"][0]["message"]["images"]
    assert picture(fetch(image["image_url"]["url"], url_server)).size == (48, 32)
    streamed = keyed.post(f"{url_server}/chat/completions", json=chat_body(stream=True))
    images = [
        image
        for chunk in sse_json(streamed.content)
        for image in chunk["choices"][0]["delta"].get("images", [])
    ]
    assert len(images) == 1
    fetch(images[0]["image_url"]["url"], url_server)


def test_the_image_api_keeps_base64(url_server: str, keyed: httpx.Client) -> None:
    body = {"model": "openai/gpt-image-1", "prompt": "a kettle", "size": "32x32"}
    (item,) = keyed.post(f"{url_server}/images", json=body).json()["data"]
    assert picture(base64.b64decode(item["b64_json"])).size == (32, 32)


def test_a_failed_url_result_has_no_url(url_server: str, keyed: httpx.Client) -> None:
    reply = keyed.post(
        f"{url_server}/responses", json=tool_body(), headers={"X-Emulator-Fault": "failed"}
    )
    item = reply.json()["output"][0]
    assert (item["status"], item["result"]) == ("incomplete", None)
    assert "imageUrl" not in item


def test_an_unknown_file_is_not_found(url_server: str) -> None:
    reply = httpx.get(f"{url_server}/files/nothing.png")
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == 404


def test_url_results_validate_against_the_reference_spec(
    url_server: str, keyed: httpx.Client, validate: Callable[..., None]
) -> None:
    """Each item against `OutputItems`. Neither the whole response nor a stream's item events
    can validate: the spec's `OpenResponsesResult` is allOf a base whose `output`, like
    `response.output_item.added`'s `item`, lists no `openrouter:` items."""

    items = ("components", "schemas", "OutputItems")
    for failure in ({}, {"X-Emulator-Fault": "failed"}):
        reply = keyed.post(f"{url_server}/responses", json=tool_body(), headers=failure)
        for item in reply.json()["output"]:
            validate(item, *items)
    streamed = keyed.post(
        f"{url_server}/responses", json={**tool_body(partial_images=1), "stream": True}
    )
    for item in sse_json(streamed.content)[-1]["response"]["output"]:
        validate(item, *items)
    chat = keyed.post(f"{url_server}/chat/completions", json=chat_body()).json()
    validate(
        chat,
        *("paths", "/chat/completions", "post", "responses", "200", "content"),
        *("application/json", "schema"),
    )


# -- 10. an edit starts from its input image ---------------------------------------------------


def mean_colour(data: bytes) -> tuple[float, float, float]:
    red, green, blue = ImageStat.Stat(picture(data).convert("RGB")).mean
    return red, green, blue


def assert_reddish(data: bytes) -> None:
    red, green, blue = mean_colour(data)
    assert red > green + 80 and red > blue + 80, (red, green, blue)


RED = solid_png((230, 20, 20))


def test_a_responses_edit_starts_from_its_input_image(base_url: str) -> None:
    parts = [
        {"type": "input_text", "text": "make it glow"},
        {"type": "input_image", "image_url": data_url(RED)},
    ]
    body = {**tool_body(size="128x96"), "input": [{"role": "user", "content": parts}]}
    reply = httpx.post(f"{base_url}/responses", json=body)
    result = parse_response(reply.content).image_generation_calls[0].result or ""
    edited = base64.b64decode(result)
    assert picture(edited).size == (128, 96)
    assert_reddish(edited)
    blue = {**body, "input": [{"role": "user", "content": [parts[0], {**parts[1]}]}]}
    blue["input"][0]["content"][1]["image_url"] = data_url(solid_png((20, 20, 230)))
    call = parse_response(httpx.post(f"{base_url}/responses", json=blue).content)
    red, _, bluish = mean_colour(base64.b64decode(call.image_generation_calls[0].result or ""))
    assert bluish > red + 80


def test_an_earlier_result_is_the_start_of_the_next_edit(base_url: str) -> None:
    item = {"type": "image_generation_call", "id": "ig_1", "status": "completed"}
    item["result"] = base64.b64encode(RED).decode()
    body = {**tool_body(size="96x96"), "input": [item, {"role": "user", "content": "brighter"}]}
    result = parse_response(httpx.post(f"{base_url}/responses", json=body).content)
    assert_reddish(base64.b64decode(result.image_generation_calls[0].result or ""))


def test_a_chat_edit_starts_from_its_input_image(base_url: str) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 200), (230, 20, 20)).save(jpeg, "JPEG")
    content = [
        {"type": "text", "text": "recolour"},
        {"type": "image_url", "image_url": {"url": data_url(jpeg.getvalue(), "image/jpeg")}},
    ]
    body = {**chat_body(content), "image_config": {"size": "160x96"}}
    (image,) = httpx.post(f"{base_url}/chat/completions", json=body).json()["choices"][0][
        "message"
    ]["images"]
    data = base64.b64decode(image["image_url"]["url"].partition(",")[2])
    assert picture(data).size == (160, 96)
    assert_reddish(data)


def test_an_image_api_edit_starts_from_its_reference(base_url: str) -> None:
    reference = {"type": "image_url", "image_url": {"url": data_url(RED)}}
    body = {
        "model": "openai/gpt-image-1",
        "prompt": "as a poster",
        "size": "64x64",
        "input_references": [reference],
    }
    (item,) = httpx.post(f"{base_url}/images", json=body).json()["data"]
    assert_reddish(base64.b64decode(item["b64_json"]))


def test_a_transparent_edit_keeps_the_input_visible(base_url: str) -> None:
    parts = [
        {"type": "input_text", "text": "cut out"},
        {"type": "input_image", "image_url": data_url(RED)},
    ]
    body = {
        **tool_body(size="64x64", background="transparent"),
        "input": [{"role": "user", "content": parts}],
    }
    result = parse_response(httpx.post(f"{base_url}/responses", json=body).content)
    edited = picture(base64.b64decode(result.image_generation_calls[0].result or ""))
    assert edited.mode == "RGBA"
    assert_reddish(base64.b64decode(result.image_generation_calls[0].result or ""))


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,iVBORw0KGgo=",  # a PNG signature and nothing more
        "data:image/png;base64,@@not base64@@",
        "https://example.invalid/photo.png",  # never fetched: the emulator is offline
    ],
)
def test_an_input_image_that_cannot_be_read_still_changes_the_picture(
    base_url: str, url: str
) -> None:
    def result(parts: list[dict[str, Any]]) -> str | None:
        body = {**tool_body(), "input": [{"role": "user", "content": parts}]}
        reply = httpx.post(f"{base_url}/responses", json=body)
        assert reply.status_code == 200, reply.text
        return parse_response(reply.content).image_generation_calls[0].result

    text = {"type": "input_text", "text": "a lighthouse"}
    assert result([text]) != result([text, {"type": "input_image", "image_url": url}])


# -- 11. the request log ------------------------------------------------------------------------


def test_run_logs_each_request_without_the_key_or_whole_images() -> None:
    image = data_url(RED * 4)
    parts = [
        {"type": "input_text", "text": "log me"},
        {"type": "input_image", "image_url": image},
    ]
    body = {**tool_body(), "input": [{"role": "user", "content": parts}]}
    with run(api_key=KEY, log_requests=True) as url:
        assert isinstance(url, str) and isinstance(url, EmulatorURL)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1")
        headers = {"Authorization": f"Bearer {KEY}", "X-Trace": "t-1"}
        assert httpx.post(f"{url}/responses", json=body, headers=headers).status_code == 200
        httpx.get(f"{url}/models?output_modalities=image", headers=headers)
        refused = httpx.post(f"{url}/responses", content=b"{}", headers={"Content-Type": "x/y"})
        assert refused.status_code == 415
        logged = list(url.requests)
    post, listing, unsupported = logged
    assert (post.method, post.path, post.query) == ("POST", "/api/v1/responses", "")
    assert post.headers["x-trace"] == "t-1" and "authorization" not in post.headers
    assert post.body["model"] == MODEL
    content = post.body["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "log me"}
    shortened = content[1]["image_url"]
    assert shortened.startswith(image[:20]) and f"[{len(image)} characters]" in shortened
    assert len(shortened) < 100
    assert (listing.method, listing.query, listing.body) == ("GET", "output_modalities=image", None)
    assert (unsupported.path, unsupported.body) == ("/api/v1/responses", None)
    assert KEY not in repr(logged)


def test_a_long_prompt_is_logged_whole() -> None:
    prompt = "a very long and detailed prompt " * 20
    with run(log_requests=True) as url:
        httpx.post(f"{url}/responses", json=tool_body(prompt))
        (logged,) = url.requests
    assert logged.body["input"] == prompt


def test_without_log_requests_there_is_no_log() -> None:
    with run() as url, pytest.raises(RuntimeError, match="log_requests=True"):
        _ = url.requests


def test_serve_prints_a_line_a_request_and_never_the_key() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "EMULATOR_FEATURES_KEY": KEY}
    command = [
        sys.executable, "-m", "openrouter_imagegen.emulator", "--port", str(port),
        "--api-key-env", "EMULATOR_FEATURES_KEY", "--log-requests",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/models", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {KEY}"}
        reply = httpx.post(f"{url}/responses", json=tool_body("a logged fox"), headers=headers)
        assert reply.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert f"POST /api/v1/responses model={MODEL} prompt='a logged fox'" in stderr
    assert "GET /api/v1/models" in stderr
    assert KEY not in stderr


def test_the_module_command_refuses_an_unset_key_variable() -> None:
    env = {k: v for k, v in os.environ.items() if k != "EMULATOR_UNSET_KEY"}
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "openrouter_imagegen.emulator",
            "--api-key-env",
            "EMULATOR_UNSET_KEY",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
    )
    assert refused.returncode == 2
    assert "EMULATOR_UNSET_KEY" in refused.stderr
