"""The emulator as a real uvicorn server on 127.0.0.1, driven with plain httpx."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import DATA, load_reference_spec

from openrouter_imagegen import parse_response
from openrouter_imagegen.models.events import parse_event
from openrouter_imagegen.stream import SSEDecoder, accumulate

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")

from openrouter_imagegen.emulator import FAULTS, EmulatorConfig, run  # noqa: E402

KEY = "sk-or-emulator-key"
MODEL = "openai/gpt-5-image"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with run() as url:
        yield url


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def tool_body(prompt: str = "a red kite", **tool: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "input": prompt,
        "modalities": ["image", "text"],
        "tools": [{"type": "image_generation", "size": "64x48", **tool}],
    }


def sse_events(data: bytes) -> list[str]:
    decoder = SSEDecoder()
    return [event.data for event in decoder.feed(data)]


def image_of(result: str) -> Any:
    return Image.open(io.BytesIO(base64.b64decode(result)))


# -- endpoints --------------------------------------------------------------------


def test_responses_non_streaming(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", json=tool_body())
    assert reply.status_code == 200
    assert reply.headers["x-generation-id"].startswith("gen_")
    response = parse_response(reply.content)
    assert response.status == "completed"
    (call,) = response.image_generation_calls
    assert call.status == "completed"
    assert image_of(call.result or "").size == (64, 48)
    assert "a red kite" in response.output_text
    assert response.usage is not None
    assert response.usage.total_tokens


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
    ],
)
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


def test_image_config_aspect_ratio_and_n(base_url: str, http: httpx.Client) -> None:
    body = {
        "model": "google/gemini-2.5-flash-image",
        "input": "two moons",
        "modalities": ["image", "text"],
        "image_config": {"aspect_ratio": "16:9", "n": 3},
    }
    calls = parse_response(
        http.post(f"{base_url}/responses", json=body).content
    ).image_generation_calls
    assert len(calls) == 3
    sizes = {image_of(c.result or "").size for c in calls}
    assert sizes == {(1024, 576)}
    assert len({c.result for c in calls}) == 3  # three different pictures


def test_same_request_same_bytes(base_url: str, http: httpx.Client) -> None:
    first = parse_response(http.post(f"{base_url}/responses", json=tool_body("same")).content)
    second = parse_response(http.post(f"{base_url}/responses", json=tool_body("same")).content)
    other = parse_response(http.post(f"{base_url}/responses", json=tool_body("different")).content)
    assert first.image_generation_calls[0].result == second.image_generation_calls[0].result
    assert first.image_generation_calls[0].result != other.image_generation_calls[0].result


@pytest.mark.parametrize("partials", [1, 2, 3])
def test_streaming_with_each_partial_images_value(
    base_url: str, http: httpx.Client, partials: int
) -> None:
    body = {**tool_body(), "stream": True}
    body["tools"][0]["partial_images"] = partials
    reply = http.post(f"{base_url}/responses", json=body)
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-generation-id"]
    assert b": OPENROUTER PROCESSING" in reply.content
    datas = sse_events(reply.content)
    assert datas[-1] == "[DONE]"
    events = [json.loads(d) for d in datas[:-1]]
    types = [e["type"] for e in events]
    assert types[:6] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
        "response.image_generation_call.partial_image",
    ]
    assert types.count("response.image_generation_call.partial_image") == partials
    assert types[-1] == "response.completed"
    numbers = [e["sequence_number"] for e in events]
    assert numbers == sorted(numbers) == list(range(len(events)))
    previews = [e["partial_image_b64"] for e in events if e["type"].endswith("partial_image")]
    assert all(image_of(p).size == (64, 48) for p in previews)
    streamed = accumulate([reply.content])
    plain = parse_response(http.post(f"{base_url}/responses", json=tool_body()).content)
    assert streamed.image_generation_calls[0].result == plain.image_generation_calls[0].result


def test_chat_completions(base_url: str, http: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "a paper boat"}],
        "modalities": ["image", "text"],
        "image_config": {"size": "32x32"},
    }
    reply = http.post(f"{base_url}/chat/completions", json=body).json()
    (image,) = reply["choices"][0]["message"]["images"]
    url = image["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert image_of(url.split(",", 1)[1]).size == (32, 32)
    streamed = http.post(f"{base_url}/chat/completions", json={**body, "stream": True})
    datas = sse_events(streamed.content)
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    images = [i for c in chunks for i in c["choices"][0]["delta"].get("images", [])]
    assert [i["image_url"]["url"] for i in images] == [url]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["total_tokens"]


def test_models_listing(base_url: str, http: httpx.Client) -> None:
    models = http.get(f"{base_url}/models").json()["data"]
    assert models
    for model in models:
        assert {"id", "name", "architecture"} <= model.keys()
        assert "image" in model["architecture"]["output_modalities"]


# -- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"tools": [{"type": "image_generation", "size": "5000x64"}]}, 400, "tools[0].size"),
        ({"tools": [{"type": "image_generation", "size": "big"}]}, 400, "tools[0].size"),
        ({"tools": [{"type": "image_generation", "output_format": "tiff"}]}, 400, "output_format"),
        ({"tools": [{"type": "image_generation", "partial_images": 4}]}, 400, "partial_images"),
        ({"tools": [{"type": "image_generation"}], "stream": True}, 400, "partial_images"),
        ({"image_config": {"aspect_ratio": "wide"}}, 400, "aspect_ratio"),
        ({"image_config": {"n": 0}}, 400, "image_config.n"),
        ({"model": "nobody/nothing"}, 404, "model"),
        ({"input": ""}, 400, "input"),
    ],
)
def test_bad_requests_name_the_field(
    base_url: str, http: httpx.Client, change: dict[str, Any], status: int, field: str
) -> None:
    reply = http.post(f"{base_url}/responses", json={**tool_body(), **change})
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["code"] == status
    assert field in error["message"]


def test_malformed_json_and_unknown_route(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/responses", content=b"{nope")
    assert reply.status_code == 400
    assert "JSON" in reply.json()["error"]["message"]
    assert http.get(f"{base_url}/nothing-here").status_code == 404


def test_key_check() -> None:
    with run(api_key=KEY) as url, httpx.Client() as client:
        assert client.post(f"{url}/responses", json=tool_body()).status_code == 401
        wrong = {"Authorization": "Bearer sk-or-wrong"}
        assert client.post(f"{url}/responses", json=tool_body(), headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {KEY}"}
        assert client.post(f"{url}/responses", json=tool_body(), headers=right).status_code == 200


def test_binds_loopback_and_refuses_remote_hosts_without_flag_and_key() -> None:
    with run() as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api/v1")
    with pytest.raises(ValueError, match="allow_remote"), run(host="0.0.0.0"):
        pass
    with pytest.raises(ValueError, match="allow_remote"), run(host="0.0.0.0", allow_remote=True):
        pass
    with pytest.raises(ValueError, match="unknown fault"):
        EmulatorConfig(faults=("explode",))


# -- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["429", "500", "502", "503", "402", "403"])
def test_status_faults(base_url: str, http: httpx.Client, fault: str) -> None:
    reply = http.post(
        f"{base_url}/responses", json=tool_body(), headers={"X-Emulator-Fault": fault}
    )
    assert reply.status_code == int(fault)
    assert reply.json()["error"]["code"] == int(fault)
    assert reply.json()["error"]["message"]
    if fault == "429":
        assert int(reply.headers["retry-after"]) >= 1


def test_timeout_fault_holds_the_request(base_url: str, http: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        http.post(
            f"{base_url}/responses",
            json=tool_body(),
            headers={"X-Emulator-Fault": "timeout"},
            timeout=0.5,
        )


def test_slow_fault_delays_the_first_byte(base_url: str, http: httpx.Client) -> None:
    reply = http.post(
        f"{base_url}/responses", json=tool_body(), headers={"X-Emulator-Fault": "slow"}
    )
    assert reply.status_code == 200
    assert reply.elapsed.total_seconds() >= 0.9


def test_reset_fault_drops_the_connection(base_url: str, http: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{base_url}/responses", json=tool_body(), headers={"X-Emulator-Fault": "reset"})
    body = {**tool_body(), "stream": True}
    body["tools"][0]["partial_images"] = 2
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{base_url}/responses", json=body, headers={"X-Emulator-Fault": "reset"})


def test_truncate_fault_cuts_the_stream_before_completed(base_url: str, http: httpx.Client) -> None:
    body = {**tool_body(), "stream": True}
    body["tools"][0]["partial_images"] = 2
    reply = http.post(f"{base_url}/responses", json=body, headers={"X-Emulator-Fault": "truncate"})
    datas = sse_events(reply.content)
    assert "[DONE]" not in datas
    assert not any('"response.completed"' in d for d in datas)
    assert sum('"partial_image_index"' in d for d in datas) == 2


def test_failed_fault(base_url: str, http: httpx.Client) -> None:
    plain = http.post(
        f"{base_url}/responses", json=tool_body(), headers={"X-Emulator-Fault": "failed"}
    )
    call = parse_response(plain.content).image_generation_calls[0]
    assert (call.status, call.result) == ("failed", None)
    body = {**tool_body(), "stream": True}
    body["tools"][0]["partial_images"] = 1
    streamed = http.post(f"{base_url}/responses", json=body, headers={"X-Emulator-Fault": "failed"})
    types = [json.loads(d)["type"] for d in sse_events(streamed.content) if d != "[DONE]"]
    assert types[-1] == "response.failed"


def test_server_level_faults_are_reproducible() -> None:
    def statuses() -> list[int]:
        with run(faults=("500", "503"), fault_rate=0.5, seed=3) as url, httpx.Client() as client:
            return [
                client.post(f"{url}/responses", json=tool_body()).status_code for _ in range(12)
            ]

    first = statuses()
    assert first == statuses()
    assert {200, 500, 503} >= set(first)
    assert 200 in first
    assert set(first) - {200}
    assert set(FAULTS) >= {
        "429",
        "500",
        "502",
        "503",
        "timeout",
        "reset",
        "truncate",
        "slow",
        "failed",
    }


# -- the reference spec ---------------------------------------------------------------


def _resolver(spec: dict[str, Any]) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:openrouter", resource)

    def validate(instance: Any, schema_name: str) -> None:
        schema = {"$ref": f"urn:openrouter#/components/schemas/{schema_name}"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return validate


def test_everything_emitted_validates_against_the_reference_spec(
    base_url: str, http: httpx.Client
) -> None:
    spec = load_reference_spec("openrouter-openapi-2026-08.yaml")
    validate = _resolver(spec)
    body = tool_body()
    validate(body, "ResponsesRequest")
    plain = http.post(f"{base_url}/responses", json=body).json()
    validate(plain, "OpenResponsesResult")
    stream_body = {**body, "stream": True}
    stream_body["tools"][0]["partial_images"] = 2
    for fault in ("none", "failed"):
        streamed = http.post(
            f"{base_url}/responses",
            json=stream_body,
            headers={"X-Emulator-Fault": fault} if fault != "none" else {},
        )
        for data in sse_events(streamed.content)[:-1]:
            event = json.loads(data)
            validate(event, "StreamEvents")
            assert parse_event(data).to_dict() == event
    failed = http.post(
        f"{base_url}/responses", json=body, headers={"X-Emulator-Fault": "429"}
    ).json()
    validate(failed, "TooManyRequestsResponse")
    chat_body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "x"}],
        "modalities": ["image", "text"],
    }
    validate(http.post(f"{base_url}/chat/completions", json=chat_body).json(), "ChatResult")
    chunks = http.post(f"{base_url}/chat/completions", json={**chat_body, "stream": True})
    for data in sse_events(chunks.content)[:-1]:
        validate(json.loads(data), "ChatStreamChunk")


def test_capture_a_stream_for_the_stream_layer(base_url: str, http: httpx.Client) -> None:
    """Keeps tests/data/emulator_stream.sse, which test_stream.py replays, true to the emulator."""
    body = {**tool_body("a captured lighthouse"), "stream": True}
    body["tools"][0].update(size="64x64", partial_images=2)
    live = http.post(f"{base_url}/responses", json=body).content
    captured = DATA / "emulator_stream.sse"
    if not captured.exists():
        captured.write_bytes(live)
    kept = accumulate([captured.read_bytes()])
    fresh = accumulate([live])
    assert kept.images()[0].data == fresh.images()[0].data


def test_pytest_plugin_fixture_serves_a_client(openrouter_emulator: str) -> None:
    from openrouter_imagegen import ImageClient

    with ImageClient(base_url=openrouter_emulator, api_key="") as client:
        response = client.generate("from the fixture", model=MODEL, size="32x32")
    assert response.images()[0].width == 32


def test_fault_times_suffix_fails_only_the_first_identical_requests(
    base_url: str, http: httpx.Client
) -> None:
    headers = {"X-Emulator-Fault": "503*2"}
    body = tool_body("counted")
    codes = [
        http.post(f"{base_url}/responses", json=body, headers=headers).status_code for _ in range(3)
    ]
    assert codes == [503, 503, 200]
    other = http.post(f"{base_url}/responses", json=tool_body("another body"), headers=headers)
    assert other.status_code == 503  # counted per body
    bad = http.post(f"{base_url}/responses", json=body, headers={"X-Emulator-Fault": "503*x"})
    assert bad.status_code == 400
    assert "*N" in bad.json()["error"]["message"]
