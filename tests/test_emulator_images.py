"""The emulator's Image API (`/images`, `/images/models`) and its image-model catalogue, on a
real uvicorn server on 127.0.0.1, driven with plain httpx."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")

from openrouter_imagegen.emulator import FAULTS, IMAGE_MODELS, MODELS, run  # noqa: E402
from openrouter_imagegen.emulator._image_requests import read_image_generation  # noqa: E402
from openrouter_imagegen.emulator._requests import RequestRefused  # noqa: E402

KEEP_ALIVE = b": OPENROUTER PROCESSING\n\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
NEW_STATUS_FAULTS = ("413", "524", "529")
# The parameters `POST /images` reads, and so the fields a refusal may name.
FIELDS = (
    "model", "prompt", "n", "size", "aspect_ratio", "resolution", "quality", "background",
    "output_format", "output_compression", "input_references", "seed", "provider", "stream",
)  # fmt: skip


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with run() as url:
        yield url


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


# -- the catalogue, read from the server: each test picks its model by what it needs -----------


@pytest.fixture(scope="module")
def catalogue(base_url: str, http: httpx.Client) -> dict[str, dict[str, Any]]:
    """Each image model's listing entry, with its one endpoint under `endpoint`."""
    models = {}
    for item in http.get(f"{base_url}/images/models").json()["data"]:
        reply = http.get(base_url.removesuffix("/api/v1") + item["endpoints"])
        assert reply.status_code == 200
        (endpoint,) = reply.json()["endpoints"]
        models[item["id"]] = {**item, "endpoint": endpoint}
    return models


def parameters(model: dict[str, Any]) -> dict[str, Any]:
    return dict(model["endpoint"]["supported_parameters"])


def formats(model: dict[str, Any]) -> list[str]:
    return list(parameters(model)["output_format"]["values"])


def pick(catalogue: dict[str, dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> str:
    found = [model_id for model_id, model in catalogue.items() if test(model)]
    assert found, "the catalogue lacks a model for this case"
    return found[0]


def streaming_raster(model: dict[str, Any]) -> bool:
    return bool(model["supports_streaming"]) and "svg" not in formats(model)


def not_streaming(model: dict[str, Any]) -> bool:
    return not model["supports_streaming"]


def svg_only(model: dict[str, Any]) -> bool:
    return formats(model) == ["svg"]


def priced_per(unit: str) -> Callable[[dict[str, Any]], bool]:
    return lambda model: any(line["unit"] == unit for line in model["endpoint"]["pricing"])


def seeded_with_tiers(model: dict[str, Any]) -> bool:
    found = parameters(model)
    return "seed" in found and found.get("resolution", {}).get("values") == ["1K", "2K", "4K"]


def lacking(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda model: name not in parameters(model)


def with_range(model: dict[str, Any]) -> bool:
    return any(d["type"] == "range" for d in parameters(model).values())


# -- helpers ---------------------------------------------------------------------------------


def body_for(model: str, prompt: str = "a paper crane", **options: Any) -> dict[str, Any]:
    return {"model": model, "prompt": prompt, "size": "64x48", **options}


def sse_data(raw: bytes) -> list[str]:
    """The `data` of each event (this emulator writes one `data:` line per event)."""
    datas = []
    for block in raw.decode().split("\n\n"):
        lines = [line.removeprefix("data: ") for line in block.split("\n") if line[:6] == "data: "]
        if lines:
            datas.append("\n".join(lines))
    return datas


def sse_json(raw: bytes) -> list[dict[str, Any]]:
    datas = sse_data(raw)
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


def decoded(b64: str) -> bytes:
    return base64.b64decode(b64, validate=True)


def picture(b64: str) -> Any:
    return Image.open(io.BytesIO(decoded(b64)))


def expected_cost(model: dict[str, Any], width: int, height: int, images: int) -> float:
    per_unit = {"image": 1.0, "megapixel": width * height / 1_000_000}
    return sum(
        float(line["cost_usd"]) * per_unit[line["unit"]] * images
        for line in model["endpoint"]["pricing"]
        if line["billable"] == "output_image"
    )


def fault(name: str) -> dict[str, str]:
    return {"X-Emulator-Fault": name}


# -- the catalogue ----------------------------------------------------------------------------


def test_the_catalogue_covers_every_case(catalogue: dict[str, dict[str, Any]]) -> None:
    assert list(catalogue) == list(IMAGE_MODELS)
    for case in (
        streaming_raster, not_streaming, svg_only, priced_per("image"),
        priced_per("megapixel"), seeded_with_tiers, with_range,
    ):  # fmt: skip
        pick(catalogue, case)
    for model_id, model in catalogue.items():
        endpoint = model["endpoint"]
        assert model["endpoints"] == f"/api/v1/images/models/{model_id}/endpoints"
        assert model["supported_parameters"] == endpoint["supported_parameters"]
        assert model["supports_streaming"] == endpoint["supports_streaming"]
        assert model["architecture"]["output_modalities"] == ["image"]
        assert endpoint["pricing"]
        assert {"model", "prompt"}.isdisjoint(endpoint["supported_parameters"])


def test_an_unknown_model_has_no_endpoints(base_url: str, http: httpx.Client) -> None:
    reply = http.get(f"{base_url}/images/models/nobody/nothing/endpoints")
    assert reply.status_code == 404
    error = reply.json()["error"]
    assert error["code"] == 404
    assert "nobody/nothing" in error["message"]


# -- generating -------------------------------------------------------------------------------


def test_a_plain_request(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, streaming_raster)
    before = int(time.time())
    reply = http.post(f"{base_url}/images", json=body_for(model))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["x-generation-id"].startswith("gen_")
    body = reply.json()
    assert before <= body["created"] <= int(time.time())
    (item,) = body["data"]
    image = picture(item["b64_json"])
    assert (image.size, image.format) == ((64, 48), "PNG")
    assert item["media_type"] == "image/png"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_each_output_format_is_what_it_says(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, lambda m: {"png", "jpeg", "webp"} <= set(formats(m)))
    for fmt, pillow in (("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")):
        body = http.post(f"{base_url}/images", json=body_for(model, output_format=fmt)).json()
        assert body["data"][0]["media_type"] == f"image/{fmt}"
        assert picture(body["data"][0]["b64_json"]).format == pillow
    smaller = body_for(model, size="256x256", output_format="jpeg", output_compression=5)
    larger = {**smaller, "output_compression": 95}
    lengths = [
        len(http.post(f"{base_url}/images", json=b).json()["data"][0]["b64_json"])
        for b in (smaller, larger)
    ]
    assert lengths[0] < lengths[1]


def test_a_streamed_request_to_a_streaming_model(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, streaming_raster)
    reply = http.post(f"{base_url}/images", json=body_for(model, stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-generation-id"].startswith("gen_")
    events = sse_json(reply.content)
    *previews, completed = events
    assert 1 <= len(previews) <= 2
    assert [p["type"] for p in previews] == ["image_generation.partial_image"] * len(previews)
    assert [p["partial_image_index"] for p in previews] == list(range(len(previews)))
    assert all(picture(p["b64_json"]).size == (64, 48) for p in previews)
    assert completed["type"] == "image_generation.completed"
    # A keep-alive comment before every event, the [DONE] sentinel last.
    assert reply.content.count(KEEP_ALIVE) == len(events) + 1
    assert reply.content.endswith(b"data: [DONE]\n\n")
    plain = http.post(f"{base_url}/images", json=body_for(model)).json()
    assert completed["b64_json"] == plain["data"][0]["b64_json"]
    assert completed["media_type"] == plain["data"][0]["media_type"]
    assert completed["usage"] == plain["usage"]


def test_a_streamed_request_of_several_images_completes_each(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, lambda m: streaming_raster(m) and parameters(m)["n"]["max"] >= 2)
    events = sse_json(
        http.post(f"{base_url}/images", json=body_for(model, n=2, stream=True)).content
    )
    completed = [e for e in events if e["type"] == "image_generation.completed"]
    plain = http.post(f"{base_url}/images", json=body_for(model, n=2)).json()
    assert [c["b64_json"] for c in completed] == [d["b64_json"] for d in plain["data"]]
    assert completed[0]["b64_json"] != completed[1]["b64_json"]
    assert "usage" not in completed[0]
    assert completed[1]["usage"] == plain["usage"]


def test_a_streamed_request_to_a_model_without_streaming_gets_json(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, not_streaming)
    reply = http.post(f"{base_url}/images", json=body_for(model, stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    plain = http.post(f"{base_url}/images", json=body_for(model)).json()
    assert reply.json()["data"] == plain["data"]


def test_svg_is_markup_and_streams_as_text(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, svg_only)
    plain = http.post(f"{base_url}/images", json=body_for(model, "a fox & <a hound>")).json()
    (item,) = plain["data"]
    assert item["media_type"] == "image/svg+xml"
    markup = decoded(item["b64_json"]).decode()
    root = ElementTree.fromstring(markup)
    assert root.tag == f"{SVG_NS}svg"
    assert (root.get("width"), root.get("height")) == ("64", "48")
    lines = [tspan.text or "" for tspan in root.iter(f"{SVG_NS}tspan")]
    assert " ".join(lines) == "a fox & <a hound>"  # wrapped to the width, escaped
    streamed = http.post(
        f"{base_url}/images", json=body_for(model, "a fox & <a hound>", stream=True)
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    *chunks, completed = sse_json(streamed.content)
    assert len(chunks) > 1
    assert {(c["type"], c["phase"]) for c in chunks} == {("image_generation.text_chunk", "content")}
    assert "".join(c["text"] for c in chunks) == markup
    assert completed["type"] == "image_generation.completed"
    assert completed["b64_json"] == item["b64_json"]


def test_the_seed_decides_the_picture(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, seeded_with_tiers)

    def image(**options: Any) -> str:
        reply = http.post(f"{base_url}/images", json=body_for(model, "a seeded orchard", **options))
        assert reply.status_code == 200, reply.text
        return str(reply.json()["data"][0]["b64_json"])

    first = image(seed=7)
    assert image(seed=7) == first
    assert image(seed=8) != first
    assert image() not in (first, image(seed=8))


def test_tiers_and_aspect_ratios_set_the_pixels(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, seeded_with_tiers)
    body = {"model": model, "prompt": "a wide valley", "aspect_ratio": "16:9"}
    by_resolution = http.post(f"{base_url}/images", json={**body, "resolution": "1K"}).json()
    by_tier = http.post(f"{base_url}/images", json={**body, "size": "1K"}).json()
    assert picture(by_resolution["data"][0]["b64_json"]).size == (1024, 576)
    assert by_tier["data"] == by_resolution["data"]
    tall = http.post(f"{base_url}/images", json={**body, "aspect_ratio": "9:16"}).json()
    assert picture(tall["data"][0]["b64_json"]).size == (576, 1024)


def test_reference_images_change_the_picture(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, lambda m: "input_references" in parameters(m))
    reference = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    variants: list[dict[str, Any]] = [{}, {"input_references": [reference]}]
    results = [
        http.post(f"{base_url}/images", json=body_for(model, **options)).json()["data"][0]
        for options in variants
    ]
    assert results[0]["b64_json"] != results[1]["b64_json"]


@pytest.mark.parametrize("unit", ["image", "megapixel"])
def test_the_cost_follows_the_pricing(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]], unit: str
) -> None:
    model_id = pick(catalogue, priced_per(unit))
    most = parameters(catalogue[model_id])["n"]["max"]
    body = body_for(model_id, size="300x200", n=min(2, most))
    reply = http.post(f"{base_url}/images", json=body).json()
    sizes = {picture(item["b64_json"]).size for item in reply["data"]}
    assert sizes == {(300, 200)}
    expected = expected_cost(catalogue[model_id], 300, 200, len(reply["data"]))
    assert reply["usage"]["cost"] == pytest.approx(expected)
    assert expected > 0


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"model": None}, "model"),
        ({"n": 0}, "n"),
        ({"n": 11}, "n"),
        ({"n": "2"}, "n"),
        ({"aspect_ratio": "7:3"}, "aspect_ratio"),
        ({"resolution": "8K"}, "resolution"),
        ({"output_format": "gif"}, "output_format"),
        ({"quality": "ultra"}, "quality"),
        ({"background": "plaid"}, "background"),
        ({"background": "transparent", "output_format": "jpeg"}, "background"),
        ({"size": "big"}, "size"),
        ({"size": "0x10"}, "size"),
        ({"size": 1024}, "size"),
        ({"output_compression": 101}, "output_compression"),
        ({"output_compression": -1}, "output_compression"),
        ({"input_references": "data:image/png;base64,AA=="}, "input_references"),
        ({"input_references": [{"type": "image_url", "image_url": {"url": "x"}}] * 17},
         "input_references"),
        ({"input_references": [{"type": "input_image", "image_url": "data:image/png;base64,A"}]},
         "input_references[0]"),
        ({"input_references": [{"type": "image_url", "image_url": {"url": "ftp://x"}}]},
         "input_references[0].image_url.url"),
        ({"seed": "lucky"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"provider": "openai"}, "provider"),
        ({"stream": "yes"}, "stream"),
        ({"size": "640x480", "aspect_ratio": "1:1"}, "aspect_ratio"),
    ],
)  # fmt: skip
def test_bad_requests_name_the_parameter(
    base_url: str,
    http: httpx.Client,
    catalogue: dict[str, dict[str, Any]],
    change: dict[str, Any],
    field: str,
) -> None:
    body = {**body_for(pick(catalogue, streaming_raster)), **change}
    reply = http.post(f"{base_url}/images", json=body)
    assert reply.status_code == 400, reply.text
    assert reply.headers["x-generation-id"]
    error = reply.json()["error"]
    assert error["code"] == 400
    assert error["message"].startswith(f"{field}:")


def test_an_unknown_model_is_not_found(base_url: str, http: httpx.Client) -> None:
    reply = http.post(f"{base_url}/images", json=body_for("nobody/nothing"))
    assert reply.status_code == 404
    assert reply.json()["error"]["message"].startswith("model:")


def test_a_parameter_the_model_does_not_list_is_refused(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    for name, value in (("seed", 3), ("resolution", "2K"), ("quality", "high")):
        model = pick(catalogue, lacking(name))
        reply = http.post(f"{base_url}/images", json={**body_for(model), name: value})
        assert reply.status_code == 400, (model, name)
        assert reply.json()["error"]["message"].startswith(f"{name}:")
        assert model in reply.json()["error"]["message"]
    tierless = pick(catalogue, lacking("resolution"))
    reply = http.post(f"{base_url}/images", json={**body_for(tierless), "size": "2K"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("size:")


def test_a_value_outside_the_model_descriptor_is_refused(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    ranged = pick(catalogue, lambda m: parameters(m)["n"]["max"] < 10)
    top = parameters(catalogue[ranged])["n"]["max"]
    assert http.post(f"{base_url}/images", json=body_for(ranged, n=top)).status_code == 200
    reply = http.post(f"{base_url}/images", json=body_for(ranged, n=top + 1))
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("n:")
    assert f"1 to {top}" in reply.json()["error"]["message"]
    tiered = pick(catalogue, seeded_with_tiers)
    reply = http.post(f"{base_url}/images", json={"model": tiered, "prompt": "x", "size": "512"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("size:")
    svg = pick(catalogue, svg_only)
    reply = http.post(f"{base_url}/images", json=body_for(svg, output_format="png"))
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("output_format:")


def test_an_explicit_size_and_a_contradicting_resolution_are_refused(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, seeded_with_tiers)
    body = {"model": model, "prompt": "x", "size": "2048x1152"}
    reply = http.post(f"{base_url}/images", json={**body, "resolution": "1K"})
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith("resolution:")
    reply = http.post(f"{base_url}/images", json={**body, "size": "1K", "resolution": "2K"})
    assert reply.json()["error"]["message"].startswith("size:")


_VALUES = {
    "n": st.one_of(st.integers(-2, 12), st.just("3")),
    "size": st.sampled_from(["64x48", "2K", "512", "1K", "auto", "0x5", "big", "1:1"]),
    "aspect_ratio": st.sampled_from(["1:1", "16:9", "9:19.5", "21:9", "auto", "7:3"]),
    "resolution": st.sampled_from(["512", "1K", "2K", "4K", "8K"]),
    "quality": st.sampled_from(["auto", "low", "high", "best"]),
    "background": st.sampled_from(["auto", "transparent", "opaque", "plaid"]),
    "output_format": st.sampled_from(["png", "jpeg", "webp", "svg", "gif"]),
    "output_compression": st.integers(-5, 105),
    "seed": st.one_of(st.integers(), st.text(max_size=3)),
    "stream": st.one_of(st.booleans(), st.just("yes")),
}


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(IMAGE_MODELS),
    options=st.fixed_dictionaries({}, optional=_VALUES),
)
def test_any_body_is_read_or_refused_naming_a_parameter(
    model: str, options: dict[str, Any]
) -> None:
    body = {"model": model, "prompt": "a property", **options}
    try:
        entry, request = read_image_generation(body)
    except RequestRefused as exc:
        assert exc.status == 400
        assert exc.message.split(":")[0] in FIELDS
        return
    descriptors = entry.parameters
    for name in options.keys() & descriptors.keys():
        descriptor = descriptors[name]
        if descriptor["type"] == "enum" and name != "size":
            assert options[name] in descriptor["values"]
    assert set(options) - {"stream"} <= set(descriptors)
    assert 1 <= request.width <= 4096 and 1 <= request.height <= 4096
    assert request.stream == (options.get("stream") is True and entry.streaming)
    assert request.output_format == options.get("output_format", entry.default_format)


# -- chat models that output images -------------------------------------------------------


def test_the_models_listing_filters_by_output_modality(base_url: str, http: httpx.Client) -> None:
    def listing(**params: str) -> list[dict[str, Any]]:
        reply = http.get(f"{base_url}/models", params=params)
        assert reply.status_code == 200
        return list(reply.json()["data"])

    default = listing()
    assert [m["id"] for m in default] == list(MODELS)
    assert listing(output_modalities="text") == default
    images = listing(output_modalities="image")
    assert all("image" in m["architecture"]["output_modalities"] for m in images)
    outputs = {tuple(m["architecture"]["output_modalities"]) for m in images}
    assert {("image",), ("image", "text")} <= outputs
    assert {m["id"] for m in default} < {m["id"] for m in images}
    assert listing(output_modalities="all") == images
    refused = http.get(f"{base_url}/models", params={"output_modalities": "smell"})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("output_modalities:")


def test_chat_refuses_modalities_the_model_cannot_serve(base_url: str, http: httpx.Client) -> None:
    models = http.get(f"{base_url}/models", params={"output_modalities": "image"}).json()["data"]
    image_only = next(
        m["id"] for m in models if m["architecture"]["output_modalities"] == ["image"]
    )
    both = next(
        m["id"] for m in models if m["architecture"]["output_modalities"] == ["image", "text"]
    )

    def chat(model: str, modalities: list[str]) -> httpx.Response:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": "a lantern"}],
            "modalities": modalities,
            "image_config": {"size": "32x32"},
        }
        return http.post(f"{base_url}/chat/completions", json=body)

    for asked in (["image", "text"], ["text", "image"]):
        refused = chat(image_only, asked)
        assert refused.status_code == 404
        assert refused.json()["error"] == {
            "code": 404,
            "message": "No endpoints found that support the requested output modalities: "
            + ", ".join(asked),
        }
    served = chat(image_only, ["image"])
    assert served.status_code == 200
    assert served.json()["choices"][0]["message"]["images"]
    assert chat(both, ["image", "text"]).status_code == 200


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [f for f in FAULTS if f.isdigit()])
def test_status_faults_on_the_image_api(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]], name: str
) -> None:
    body = body_for(pick(catalogue, streaming_raster))
    reply = http.post(f"{base_url}/images", json=body, headers=fault(name))
    assert reply.status_code == int(name)
    assert reply.headers["x-generation-id"]
    assert reply.json()["error"]["code"] == int(name)
    assert "emulated" in reply.json()["error"]["message"]
    assert ("retry-after" in reply.headers) == (name == "429")


@pytest.mark.parametrize("name", NEW_STATUS_FAULTS)
def test_the_new_status_faults_on_every_generation_endpoint(
    base_url: str, http: httpx.Client, name: str
) -> None:
    chat = {"model": MODELS[0], "messages": [{"role": "user", "content": "x"}]}
    for path, body in (
        ("responses", {"model": MODELS[0], "input": "x"}),
        ("chat/completions", {**chat, "modalities": ["image", "text"]}),
    ):
        reply = http.post(f"{base_url}/{path}", json=body, headers=fault(name))
        assert reply.status_code == int(name)
        assert reply.json()["error"]["code"] == int(name)


def test_failed_reset_and_truncate_on_the_image_api(
    base_url: str, http: httpx.Client, catalogue: dict[str, dict[str, Any]]
) -> None:
    model = pick(catalogue, streaming_raster)
    plain, streamed = body_for(model), body_for(model, stream=True)
    assert http.post(f"{base_url}/images", json=plain, headers=fault("failed")).status_code == 502
    events = sse_json(
        http.post(f"{base_url}/images", json=streamed, headers=fault("failed")).content
    )
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["message"]
    assert "image_generation.completed" not in {e["type"] for e in events}
    truncated = http.post(f"{base_url}/images", json=streamed, headers=fault("truncate"))
    datas = sse_data(truncated.content)
    assert "[DONE]" not in datas
    assert {json.loads(d)["type"] for d in datas} == {"image_generation.partial_image"}
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{base_url}/images", json=streamed, headers=fault("reset"))
    cut = http.post(f"{base_url}/images", json=plain, headers=fault("truncate"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)


# -- the reference spec -----------------------------------------------------------------------

# The schema of each Image API stream event, by its `type`.
EVENT_SCHEMAS = {
    "image_generation.partial_image": "ImageGenPartialImageEvent",
    "image_generation.text_chunk": "ImageGenTextChunkEvent",
    "image_generation.completed": "ImageGenCompletedEvent",
    "error": "ImageGenStreamErrorEvent",
}


def test_everything_the_image_api_emits_validates_against_the_spec(
    base_url: str,
    http: httpx.Client,
    catalogue: dict[str, dict[str, Any]],
    validate: Callable[..., None],
) -> None:
    requests = [body_for(model, stream=stream) for model in catalogue for stream in (False, True)]
    requests.append(body_for(pick(catalogue, streaming_raster), n=2, stream=True))
    exchanges: list[tuple[str, str, httpx.Response]] = []
    for body in requests:
        validate(body, "components", "schemas", "ImageGenerationRequest")
        exchanges.append(("/images", "post", http.post(f"{base_url}/images", json=body)))
    streamed = body_for(pick(catalogue, streaming_raster), stream=True)
    for name in ("failed", *(f for f in FAULTS if f.isdigit() and f != "503")):
        reply = http.post(f"{base_url}/images", json=streamed, headers=fault(name))
        exchanges.append(("/images", "post", reply))
    for bad in ({"n": 0}, {"model": "x/y"}, {"seed": 4}):
        reply = http.post(f"{base_url}/images", json={**streamed, **bad})
        exchanges.append(("/images", "post", reply))
    endpoints = "/images/models/{author}/{slug}/endpoints"
    exchanges += [
        ("/images/models", "get", http.get(f"{base_url}/images/models")),
        (endpoints, "get", http.get(f"{base_url}/images/models/{IMAGE_MODELS[0]}/endpoints")),
        (endpoints, "get", http.get(f"{base_url}/images/models/x/y/endpoints")),
        ("/models", "get", http.get(f"{base_url}/models?output_modalities=image")),
        ("/models", "get", http.get(f"{base_url}/models?output_modalities=smell")),
    ]
    listed = http.get(f"{base_url}/models", params={"output_modalities": "image"}).json()["data"]
    image_only = next(
        m["id"] for m in listed if m["architecture"]["output_modalities"] == ["image"]
    )
    chat = {"model": image_only, "messages": [{"role": "user", "content": "x"}]}
    for modalities in (["image", "text"], ["image"]):
        reply = http.post(f"{base_url}/chat/completions", json={**chat, "modalities": modalities})
        exchanges.append(("/chat/completions", "post", reply))
    for name in NEW_STATUS_FAULTS:
        for path, body in (
            ("/responses", {"model": MODELS[0], "input": "x"}),
            ("/chat/completions", {**chat, "modalities": ["image"]}),
        ):
            exchanges.append(
                (path, "post", http.post(base_url + path, json=body, headers=fault(name)))
            )

    seen = set()
    for path, method, reply in exchanges:
        media_type = reply.headers["content-type"].split(";")[0]
        seen.add((path, reply.status_code, media_type))
        where = ("paths", path, method, "responses", str(reply.status_code), "content", media_type)
        if media_type != "text/event-stream":
            validate(reply.json(), *where, "schema")
            continue
        datas = sse_data(reply.content)
        assert datas[-1] == "[DONE]"
        for data in datas[:-1]:
            event = json.loads(data)
            validate({"data": event}, *where, "schema")
            if path == "/images":
                validate(event, "components", "schemas", EVENT_SCHEMAS[event["type"]])
    assert {status for path, status, _ in seen if path == "/images"} == {
        200, 400, 402, 403, 404, 413, 429, 500, 502, 524, 529,
    }  # fmt: skip
    assert ("/images", 200, "text/event-stream") in seen
    assert ("/images", 200, "application/json") in seen
    assert ("/chat/completions", 404, "application/json") in seen
