"""The emulator's behaviour as a real uvicorn server on 127.0.0.1, driven with plain httpx:
the Responses API, streaming, chat completions, refusals and faults."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import httpx
import pytest
from _emulator import (
    HOLD,
    KEEP_ALIVE,
    KEY,
    MODEL,
    SLOW,
    base_url,
    chat_body,
    drain,
    fault,
    http,
    image_of,
    sse_data,
    sse_json,
    stream_body,
    tool_body,
)

from openrouter_imagegen import parse_response
from openrouter_imagegen.stream import accumulate

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")
ImageChops = pytest.importorskip("PIL.ImageChops")
ImageStat = pytest.importorskip("PIL.ImageStat")

from openrouter_imagegen.emulator import FAULTS, MODELS, run  # noqa: E402

__all__ = ["base_url", "http"]  # fixtures, found by pytest in this module


# -- the Responses API --------------------------------------------------------------


def test_responses_non_streaming(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body())
    assert reply.status_code == 200
    assert reply.headers["x-generation-id"].startswith("gen_")
    body = reply.json()
    assert body["id"].startswith("resp_")
    assert (body["object"], body["model"], body["status"]) == ("response", MODEL, "completed")
    assert [item["type"] for item in body["output"]] == ["image_generation_call", "message"]
    assert body["output"][0]["id"].startswith("ig_")
    response = parse_response(reply.content)
    (call,) = response.image_generation_calls
    assert (call.status, call.prompt) == ("completed", "a red kite")
    assert image_of(call.result or "").size == (64, 48)
    assert "a red kite" in response.output_text
    usage = reply.json()["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
    assert response.usage is not None


def test_seed_era_path_answers_too(base_url: str, http: httpx.Client) -> None:
    alpha = base_url.replace("/api/v1", "/api/alpha")
    reply = http.post(f"{alpha}/responses", json=tool_body())
    assert reply.status_code == 200
    assert parse_response(reply.content).image_generation_calls


@pytest.mark.parametrize(
    ("options", "size", "mode", "fmt"),
    [
        ({"size": "512x256"}, (512, 256), "RGB", "PNG"),
        ({"size": "64x64", "output_format": "jpeg", "quality": "low"}, (64, 64), "RGB", "JPEG"),
        ({"size": "64x64", "output_format": "webp"}, (64, 64), "RGB", "WEBP"),
        ({"size": "64x64", "background": "transparent"}, (64, 64), "RGBA", "PNG"),
        ({"size": "64x64", "background": "transparent", "output_format": "webp"}, (64, 64),
         "RGBA", "WEBP"),
        ({"size": "64x64", "background": "transparent", "output_format": "jpeg"}, (64, 64),
         "RGB", "JPEG"),
    ],
)  # fmt: skip
def test_tool_options_are_honoured(
    base_url: str,
    http: httpx.Client,
    options: dict[str, Any],
    size: tuple[int, int],
    mode: str,
    fmt: str,
) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body(**options))
    image = image_of(parse_response(reply.content).image_generation_calls[0].result or "")
    assert (image.size, image.mode, image.format) == (size, mode, fmt)
    if mode == "RGBA":
        assert image.getextrema()[3][0] == 0  # some pixels really are transparent


def test_jpeg_quality_changes_the_bytes(base_url: str, http: httpx.Client) -> None:
    sizes = {
        quality: len(
            http.post(
                f"{base_url}/responses",
                json=tool_body(size="256x256", output_format="jpeg", quality=quality),
            ).json()["output"][0]["result"]
        )
        for quality in ("low", "high")
    }
    assert sizes["low"] < sizes["high"]


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({"aspect_ratio": "16:9"}, (1024, 576)),
        ({"aspect_ratio": "9:16"}, (576, 1024)),
        ({"size": "300x200"}, (300, 200)),
        ({"size": "300x200", "aspect_ratio": "1:1"}, (300, 200)),
        ({}, (1024, 1024)),
    ],
)
def test_image_config_sizes_without_the_tool(
    base_url: str, http: httpx.Client, config: dict[str, Any], size: tuple[int, int]
) -> None:
    body = {
        "model": "google/gemini-2.5-flash-image",
        "input": "two moons",
        "modalities": ["image", "text"],
        "image_config": config,
    }
    (call,) = parse_response(
        http.post(f"{base_url}/responses", json=body).content
    ).image_generation_calls
    assert image_of(call.result or "").size == size


def test_image_config_n_gives_different_pictures(base_url: str, http: httpx.Client) -> None:
    body = {**tool_body("three moons"), "image_config": {"n": 3}}
    calls = parse_response(
        http.post(f"{base_url}/responses", json=body).content
    ).image_generation_calls
    assert len(calls) == 3
    assert len({c.id for c in calls}) == len({c.result for c in calls}) == 3


def test_same_request_same_bytes_and_the_seed_matters(base_url: str, http: httpx.Client) -> None:
    def result(body: dict[str, Any]) -> str | None:
        reply = http.post(f"{base_url}/responses", json=body)
        return parse_response(reply.content).image_generation_calls[0].result

    first = result(tool_body("same"))
    assert first == result(tool_body("same"))
    assert first != result(tool_body("different"))
    seeded = result({**tool_body("same"), "seed": 7})
    assert seeded == result({**tool_body("same"), "seed": 7})
    assert seeded not in (first, result({**tool_body("same"), "seed": 8}))


def test_input_items_give_the_prompt_and_input_images_change_the_picture(
    base_url: str, http: httpx.Client
) -> None:
    def call(parts: list[dict[str, Any]]) -> Any:
        body = {**tool_body(), "input": [{"role": "user", "content": parts}]}
        reply = http.post(f"{base_url}/responses", json=body)
        assert reply.status_code == 200, reply.text
        return parse_response(reply.content).image_generation_calls[0]

    text = [
        {"type": "input_text", "text": "a lighthouse"},
        {"type": "input_text", "text": "at dusk"},
    ]
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}
    plain, edited = call(text), call([*text, image])
    assert plain.prompt == edited.prompt == "a lighthouse at dusk"
    assert plain.result != edited.result


def test_previous_response_id_continues_the_prompt(base_url: str, http: httpx.Client) -> None:
    first = http.post(f"{base_url}/responses", json=tool_body("a castle")).json()
    body = {**tool_body("now at night"), "previous_response_id": first["id"]}
    follow_up = parse_response(http.post(f"{base_url}/responses", json=body).content)
    assert follow_up.image_generation_calls[0].prompt == "a castle / now at night"
    body["previous_response_id"] = "resp_unknown"
    missing = http.post(f"{base_url}/responses", json=body)
    assert missing.status_code == 404
    assert "previous_response_id" in missing.json()["error"]["message"]


# -- streaming -------------------------------------------------------------------------


@pytest.mark.parametrize("partials", [1, 2, 3])
def test_streaming_with_each_partial_images_value(
    base_url: str, http: httpx.Client, partials: int
) -> None:
    reply = http.post(f"{base_url}/responses", json=stream_body(partials=partials))
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-generation-id"].startswith("gen_")
    events = sse_json(reply.content)
    types = [e["type"] for e in events]
    image_call = [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        *["response.image_generation_call.partial_image"] * partials,
        "response.image_generation_call.completed",
        "response.output_item.done",
    ]
    assert types[: len(image_call)] == image_call
    message = types[len(image_call) : -1]
    assert message[0] == "response.output_item.added"
    assert "response.output_text.delta" in message
    assert message[-1] == "response.output_item.done"
    assert types[-1] == "response.completed"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    previews = [e for e in events if e["type"].endswith("partial_image")]
    assert [p["partial_image_index"] for p in previews] == list(range(partials))
    assert all(image_of(p["partial_image_b64"]).size == (64, 48) for p in previews)
    # A keep-alive comment comes before every event, and nothing after [DONE].
    assert reply.content.count(KEEP_ALIVE) == len(events) + 1
    assert reply.content.endswith(b"data: [DONE]\n\n")
    # response.completed carries what a plain request gets, result included.
    plain = http.post(f"{base_url}/responses", json=tool_body()).json()
    final = events[-1]["response"]
    assert final["output"][0]["result"] == plain["output"][0]["result"]
    assert final.keys() == plain.keys()
    assert events[-2]["item"]["content"] == plain["output"][1]["content"]
    streamed = accumulate([reply.content])
    assert streamed.image_generation_calls[0].result == plain["output"][0]["result"]


def test_previews_sharpen_and_keep_the_media_type(base_url: str, http: httpx.Client) -> None:
    body = stream_body("a sharpening owl", partials=3, size="128x128", output_format="jpeg")
    events = sse_json(http.post(f"{base_url}/responses", json=body).content)
    final = image_of(events[-1]["response"]["output"][0]["result"]).convert("RGB")
    previews = [
        image_of(e["partial_image_b64"]) for e in events if e["type"].endswith("partial_image")
    ]
    assert {p.format for p in previews} == {"JPEG"}
    distances = [
        sum(ImageStat.Stat(ImageChops.difference(p.convert("RGB"), final)).mean) for p in previews
    ]
    assert distances == sorted(distances, reverse=True)
    assert distances[0] > distances[-1]


def test_streaming_without_the_tool_has_no_previews(base_url: str, http: httpx.Client) -> None:
    body = {
        "model": "google/gemini-2.5-flash-image",
        "input": "a comet",
        "modalities": ["image", "text"],
        "image_config": {"size": "32x32"},
        "stream": True,
    }
    types = [e["type"] for e in sse_json(http.post(f"{base_url}/responses", json=body).content)]
    assert "response.image_generation_call.partial_image" not in types
    assert "response.image_generation_call.completed" in types
    assert types[-1] == "response.completed"


# -- chat completions and models ----------------------------------------------------------


def test_chat_completions(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/chat/completions", json=chat_body())
    assert reply.headers["x-generation-id"]
    completion = reply.json()
    assert completion["object"] == "chat.completion"
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "stop"
    message = choice["message"]
    assert message["role"] == "assistant"
    assert "a paper boat" in message["content"]
    (image,) = message["images"]
    assert image["type"] == "image_url"
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert image_of(url.split(",", 1)[1]).size == (32, 32)

    streamed = http.post(f"{base_url}/chat/completions", json={**chat_body(), "stream": True})
    assert KEEP_ALIVE in streamed.content
    chunks = sse_json(streamed.content)
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert completion["id"] == reply.headers["x-generation-id"]
    assert len({c["id"] for c in chunks}) == 1
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == message["content"]
    images = [i for c in chunks for i in c["choices"][0]["delta"].get("images", [])]
    assert [i["image_url"]["url"] for i in images] == [url]
    assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
    assert chunks[-1]["usage"] == completion["usage"]


def test_chat_takes_the_last_user_message_and_image_config(
    base_url: str, http: httpx.Client
) -> None:
    body = chat_body(image_config={"size": "40x20", "n": 2, "output_format": "webp"})
    body["messages"] = [
        {"role": "user", "content": "first idea"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second idea"}]},
    ]
    message = http.post(f"{base_url}/chat/completions", json=body).json()["choices"][0]["message"]
    assert "second idea" in message["content"]
    urls = [i["image_url"]["url"] for i in message["images"]]
    assert len(urls) == 2
    assert all(u.startswith("data:image/webp;base64,") for u in urls)
    assert image_of(urls[0].split(",", 1)[1]).size == (40, 20)


def test_models_listing(base_url: str, http: httpx.Client) -> None:
    listing = http.get(f"{base_url}/models").json()
    models = listing["data"]
    assert [m["id"] for m in models] == list(MODELS)
    assert listing["total_count"] == len(models)
    assert any(m.startswith("emulator/") for m in MODELS)
    for model in models:
        assert {"id", "name", "created", "description", "context_length", "pricing"} <= model.keys()
        assert model["architecture"]["output_modalities"] == ["image", "text"]
        assert "text" in model["architecture"]["input_modalities"]


# -- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"tools": [{"type": "image_generation", "size": "5000x64"}]}, 400, "tools[0].size"),
        ({"tools": [{"type": "image_generation", "size": "big"}]}, 400, "tools[0].size"),
        ({"tools": [{"type": "web_search"}, {"type": "image_generation", "size": "0x9"}]}, 400,
         "tools[1].size"),
        ({"tools": [{"type": "image_generation", "output_format": "tiff"}]}, 400,
         "tools[0].output_format"),
        ({"tools": [{"type": "image_generation", "background": "plaid"}]}, 400,
         "tools[0].background"),
        ({"tools": [{"type": "image_generation", "quality": "ultra"}]}, 400, "tools[0].quality"),
        ({"tools": [{"type": "image_generation", "partial_images": 4}]}, 400,
         "tools[0].partial_images"),
        ({"tools": [{"type": "image_generation", "partial_images": -1}]}, 400,
         "tools[0].partial_images"),
        ({"tools": [{"type": "image_generation"}], "stream": True}, 400,
         "tools[0].partial_images"),
        ({"tools": [{"type": "image_generation", "partial_images": 0}], "stream": True}, 400,
         "tools[0].partial_images"),
        ({"tools": "image_generation"}, 400, "tools"),
        ({"image_config": {"aspect_ratio": "wide"}}, 400, "image_config.aspect_ratio"),
        ({"image_config": {"aspect_ratio": "0:1"}}, 400, "image_config.aspect_ratio"),
        ({"image_config": {"size": "4097x1"}}, 400, "image_config.size"),
        ({"image_config": {"n": 0}}, 400, "image_config.n"),
        ({"image_config": "big"}, 400, "image_config"),
        ({"stream": "yes"}, 400, "stream"),
        ({"seed": "lucky"}, 400, "seed"),
        ({"model": "nobody/nothing"}, 404, "model"),
        ({"model": None}, 400, "model"),
        ({"input": ""}, 400, "input"),
        ({"input": 42}, 400, "input"),
        ({"tools": [], "modalities": ["text"]}, 400, "modalities"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_field(
    base_url: str, http: httpx.Client, change: dict[str, Any], status: int, field: str
) -> None:
    reply = http.post(f"{base_url}/responses", json={**tool_body(), **change})
    assert reply.status_code == status
    assert reply.headers["x-generation-id"]
    error = reply.json()["error"]
    assert error["code"] == status
    assert error["message"].startswith(field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"modalities": ["text"]}, "modalities"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "no user"}]}, "messages"),
        ({"image_config": {"size": "1x99999"}}, "image_config.size"),
    ],
)
def test_bad_chat_requests_name_the_field(
    base_url: str, http: httpx.Client, change: dict[str, Any], field: str
) -> None:
    reply = http.post(f"{base_url}/chat/completions", json={**chat_body(), **change})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith(field)


def test_malformed_json_unknown_route_and_wrong_method(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", content=b"{nope")
    assert reply.status_code == 400
    assert "JSON" in reply.json()["error"]["message"]
    assert http.post(f"{base_url}/responses", json=[1]).status_code == 400
    for method, path, status in (("GET", "/nothing-here", 404), ("GET", "/responses", 405)):
        reply = http.request(method, f"{base_url}{path}")
        assert reply.status_code == status
        assert reply.json()["error"]["code"] == status


def test_key_check() -> None:
    with run(api_key=KEY) as url, httpx.Client() as client:
        missing = client.post(f"{url}/responses", json=tool_body())
        assert missing.status_code == 401
        assert missing.json()["error"] == {"code": 401, "message": "No auth credentials found"}
        wrong = {"Authorization": "Bearer sk-or-wrong"}
        assert client.post(f"{url}/responses", json=tool_body(), headers=wrong).status_code == 401
        assert client.post(f"{url}/chat/completions", json=chat_body()).status_code == 401
        right = {"Authorization": f"Bearer {KEY}"}
        assert client.post(f"{url}/responses", json=tool_body(), headers=right).status_code == 200
        chat = client.post(f"{url}/chat/completions", json=chat_body(), headers=right)
        assert chat.status_code == 200


def test_binds_loopback_and_refuses_remote_hosts_without_flag_and_key() -> None:
    with run() as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/v1")
    with run(host="localhost") as url:
        assert url.startswith("http://localhost:")
    for options in ({}, {"allow_remote": True}, {"api_key": KEY}):
        with pytest.raises(ValueError, match="allow_remote"), run(host="0.0.0.0", **options):
            pass
    with pytest.raises(ValueError, match="unknown fault"), run(faults=("explode",)):
        pass
    with pytest.raises(ValueError, match="fault_rate"), run(faults=("500",), fault_rate=1.5):
        pass


def test_port_zero_picks_a_free_port_and_stopping_frees_it() -> None:
    with run() as url:
        port = httpx.URL(url).port
        assert port
        assert httpx.get(f"{url}/models").status_code == 200
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # free again: the server let go of it


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["429", "500", "502", "503", "402", "403", "413", "524", "529"])
def test_status_faults(base_url: str, http: httpx.Client, name: str) -> None:
    for path, body in (("responses", tool_body()), ("chat/completions", chat_body())):
        reply = http.post(f"{base_url}/{path}", json=body, headers=fault(name))
        assert reply.status_code == int(name)
        assert reply.headers["x-generation-id"]
        error = reply.json()["error"]
        assert error["code"] == int(name)
        assert "emulated" in error["message"]
        assert ("retry-after" in reply.headers) == (name == "429")
    assert reply.headers.get("retry-after", "1") == "1"


def test_unknown_fault_header_is_refused(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("explode"))
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("X-Emulator-Fault")


def test_timeout_fault_holds_the_request(base_url: str, http: httpx.Client) -> None:
    start = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post(f"{base_url}/responses", json=tool_body(), headers=fault("timeout"), timeout=0.5)
    assert time.monotonic() - start < HOLD
    with run(hold_seconds=0.3) as url:
        held = httpx.post(f"{url}/responses", json=tool_body(), headers=fault("timeout"))
    assert held.status_code == 200  # a hold shorter than the client's patience just delays
    assert held.elapsed.total_seconds() >= 0.3


def test_a_held_request_ends_when_its_client_leaves() -> None:
    # Shutting down waits for requests in flight: it is quick only if the hold was released.
    with run(hold_seconds=60) as url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{url}/responses", json=tool_body(), headers=fault("timeout"), timeout=0.2)
        time.sleep(0.2)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 0.9


def test_slow_fault_delays_the_first_byte(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("slow"))
    assert reply.status_code == 200
    assert reply.elapsed.total_seconds() >= SLOW
    start = time.monotonic()
    with http.stream(
        "POST", f"{base_url}/responses", json=stream_body(), headers=fault("slow")
    ) as streamed:
        assert time.monotonic() - start >= SLOW  # the headers waited too
        assert sse_data(streamed.read())[-1] == "[DONE]"


def test_reset_fault_drops_the_connection(base_url: str, http: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{base_url}/responses", json=tool_body(), headers=fault("reset"))
    with http.stream(
        "POST", f"{base_url}/responses", json=stream_body(), headers=fault("reset")
    ) as streamed:
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):
            drain(streamed, into=received)
    types = [json.loads(d)["type"] for d in sse_data(bytes(received))]
    assert types[-1] == "response.image_generation_call.partial_image"  # dropped after one
    assert types.count("response.image_generation_call.partial_image") == 1
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(
            f"{base_url}/chat/completions",
            json={**chat_body(), "stream": True},
            headers=fault("reset"),
        )


def test_truncate_fault_cuts_the_stream_before_it_completes(
    base_url: str, http: httpx.Client
) -> None:
    reply = http.post(f"{base_url}/responses", json=stream_body(), headers=fault("truncate"))
    assert reply.status_code == 200  # a clean end: no transport error
    datas = sse_data(reply.content)
    types = [json.loads(d)["type"] for d in datas if d != "[DONE]"]
    assert "[DONE]" not in datas
    assert types[-1] == "response.image_generation_call.partial_image"
    assert types.count("response.image_generation_call.partial_image") == 2
    assert "response.completed" not in types
    chat = http.post(
        f"{base_url}/chat/completions",
        json={**chat_body(), "stream": True},
        headers=fault("truncate"),
    )
    chunks = [json.loads(d) for d in sse_data(chat.content)]
    assert chunks[-1]["choices"][0]["delta"].get("images")  # the image came, the end did not
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks)


def test_truncate_fault_cuts_a_plain_body_cleanly(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("truncate"))
    assert reply.status_code == 200
    assert reply.content.startswith(b'{"id":"resp_')
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.content)


def test_failed_fault(base_url: str, http: httpx.Client) -> None:
    plain = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("failed"))
    response = parse_response(plain.content)
    assert response.status == "failed"
    assert len(response.output) == 1
    (call,) = response.image_generation_calls
    assert (call.status, call.result) == ("failed", None)
    assert plain.json()["error"]["code"] == "server_error"

    streamed = http.post(f"{base_url}/responses", json=stream_body(), headers=fault("failed"))
    events = sse_json(streamed.content)
    types = [e["type"] for e in events]
    assert types.count("response.image_generation_call.partial_image") == 2
    assert "response.image_generation_call.completed" not in types
    assert types[-2:] == ["response.output_item.done", "response.failed"]
    assert events[-2]["item"]["status"] == "failed"
    assert events[-1]["response"]["status"] == "failed"

    chat = http.post(f"{base_url}/chat/completions", json=chat_body(), headers=fault("failed"))
    choice = chat.json()["choices"][0]
    assert choice["finish_reason"] == "error"
    assert "images" not in choice["message"]
    chunks = sse_json(
        http.post(
            f"{base_url}/chat/completions",
            json={**chat_body(), "stream": True},
            headers=fault("failed"),
        ).content
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"
    assert chunks[-1]["error"]["code"] == 502
    assert not any("images" in c["choices"][0]["delta"] for c in chunks)


def test_counted_faults_fail_only_the_first_identical_requests(
    base_url: str, http: httpx.Client
) -> None:
    headers = fault("503*2")
    body = tool_body("counted")
    codes = [
        http.post(f"{base_url}/responses", json=body, headers=headers).status_code for _ in range(3)
    ]
    assert codes == [503, 503, 200]
    other = http.post(f"{base_url}/responses", json=tool_body("another body"), headers=headers)
    assert other.status_code == 503  # counted per body
    # With a request key, the key is what makes requests identical.
    keyed = {**fault("429*1"), "X-Emulator-Request-Key": "job-7"}
    first = http.post(f"{base_url}/responses", json=tool_body("one"), headers=keyed)
    second = http.post(f"{base_url}/responses", json=tool_body("two"), headers=keyed)
    assert (first.status_code, second.status_code) == (429, 200)
    for bad in ("503*x", "503*0", "503*"):
        reply = http.post(f"{base_url}/responses", json=body, headers=fault(bad))
        assert reply.status_code == 400
        assert "*N" in reply.json()["error"]["message"]


def test_server_level_faults_are_reproducible() -> None:
    def statuses() -> list[int]:
        with run(faults=("500", "503"), fault_rate=0.5, seed=3) as url, httpx.Client() as client:
            return [
                client.post(f"{url}/responses", json=tool_body()).status_code for _ in range(12)
            ]

    first = statuses()
    assert first == statuses()
    assert set(first) == {200, 500, 503}


def test_every_fault_is_covered_here() -> None:
    tested = {"429", "500", "502", "503", "402", "403", "413", "524", "529", "timeout", "reset",
              "truncate", "slow"}  # fmt: skip
    shaped = {"failed", "refused", "no_image"}  # in the spec test's exchanges, and below
    assert set(FAULTS) == tested | shaped


def test_refused_and_no_image_answers_complete_without_a_picture(
    base_url: str, http: httpx.Client
) -> None:
    chat = http.post(f"{base_url}/chat/completions", json=chat_body(), headers=fault("refused"))
    (choice,) = chat.json()["choices"]
    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("content_filter", "SAFETY")
    assert not choice["message"].get("images") and choice["message"]["content"]
    refused = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("refused")).json()
    assert refused["status"] == "incomplete"
    assert refused["incomplete_details"] == {"reason": "content_filter"}
    assert [item["type"] for item in refused["output"]] == ["message"]
    assert refused["output"][0]["content"][0]["type"] == "refusal"
    text = http.post(f"{base_url}/responses", json=tool_body(), headers=fault("no_image")).json()
    assert text["status"] == "completed"
    assert [item["type"] for item in text["output"]] == ["message"]
