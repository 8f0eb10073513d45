"""OpenRouter's Image API through both clients: routes, the catalogue, checks, estimates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from _clients import KEY, ClientFactory, CountingTransport, Kind, http_client

from openrouter_imagegen import (
    NotFoundError,
    Response,
    UnsupportedModelError,
    UnsupportedParameterError,
)

pytest.importorskip("starlette")
pytest.importorskip("PIL")

from openrouter_imagegen.emulator import run

STREAMING = "openai/gpt-image-1"  # the Image API, native streaming, priced per image
PER_MEGAPIXEL = "black-forest-labs/flux-1.1-pro"  # no streaming, priced per megapixel
SEEDED = "bytedance-seed/seedream-4.5"  # seed and resolution tiers
SVG = "recraft/recraft-v3-svg"
IMAGE_ONLY_CHAT = "black-forest-labs/flux.2-pro"  # chat completions, outputs only images
IMAGE_AND_TEXT_CHAT = "google/gemini-2.5-flash-image"
RESPONSES_MODEL = "openai/gpt-5-image"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run(api_key=KEY) as base_url:
        yield base_url


@pytest.fixture
def traced(kind: Kind, client_for: ClientFactory, server: str) -> Iterator[tuple[Any, Any]]:
    """A client of this test's kind, and the transport recording what it sent."""
    transport = CountingTransport()
    with client_for(server, http_client=http_client(kind, transport)) as client:
        yield client, transport


# -- every route, plain and streamed --------------------------------------------------


@pytest.mark.parametrize(
    ("model", "endpoint", "path"),
    [
        (STREAMING, "auto", "/api/v1/images"),
        (PER_MEGAPIXEL, "auto", "/api/v1/images"),
        (IMAGE_AND_TEXT_CHAT, "auto", "/api/v1/chat/completions"),
        (IMAGE_ONLY_CHAT, "auto", "/api/v1/chat/completions"),
        (RESPONSES_MODEL, "responses", "/api/v1/responses"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_every_route_gives_the_same_response_shape(
    traced: tuple[Any, Any], model: str, endpoint: str, path: str, streamed: bool
) -> None:
    client, transport = traced
    if streamed:
        with client.stream("a harbour", model=model, endpoint=endpoint, size="64x64") as stream:
            updates = list(stream)
            response = stream.final_response()
        assert updates[-1].response.status == "completed"
    else:
        response = client.generate("a harbour", model=model, endpoint=endpoint, size="64x64")
    assert isinstance(response, Response)
    assert response.status == "completed"
    (image,) = response.images()
    assert (image.width, image.height) == (64, 64)
    assert transport.posts == [path]
    assert response.generation_id
    call = response.image_generation_calls[0]
    if path.endswith("/images"):
        assert call.id == f"{response.generation_id}-image-0"  # stable, from the generation
        assert call.media_type == image.media_type  # declared, and true to the bytes
        assert response.usage is not None and response.usage.cost


def test_a_streaming_model_gives_partial_images(traced: tuple[Any, Any]) -> None:
    client, _ = traced
    with client.stream("a lighthouse", model=STREAMING, size="64x64") as stream:
        previews = [u.partial_image for u in stream if u.partial_image is not None]
        final = stream.final_response()
    assert previews
    assert all(p.image().width == 64 for p in previews)
    assert final.images()[0].width == 64


def test_a_plain_json_answer_to_a_streamed_request_is_the_final_result(
    traced: tuple[Any, Any],
) -> None:
    client, transport = traced
    with client.stream("a meadow", model=PER_MEGAPIXEL, size="64x64") as stream:
        updates = list(stream)
        final = stream.final_response()
    assert [u.event.type for u in updates][-1] == "response.completed"
    assert not any(u.partial_image for u in updates)
    assert transport.bodies()[0]["stream"] is True
    assert final.images()[0].width == 64
    assert final.generation_id


# -- routing ----------------------------------------------------------------------


def test_auto_routing_asks_chat_models_for_their_own_modalities(traced: tuple[Any, Any]) -> None:
    client, transport = traced
    client.generate("a dune", model=IMAGE_ONLY_CHAT, size="32x32")
    client.generate("a dune", model=IMAGE_AND_TEXT_CHAT, size="32x32")
    only, both = transport.bodies()
    assert only["modalities"] == ["image"]
    assert both["modalities"] == ["image", "text"]


def test_responses_only_when_asked(traced: tuple[Any, Any]) -> None:
    client, transport = traced
    client.generate("a dune", model=STREAMING, endpoint="responses", size="32x32")
    client.generate("a dune", model=STREAMING, size="32x32")
    assert transport.posts == ["/api/v1/responses", "/api/v1/images"]


def test_a_model_that_outputs_no_images_is_refused_before_any_generation(
    traced: tuple[Any, Any],
) -> None:
    client, transport = traced
    with pytest.raises(UnsupportedModelError, match="not a model that outputs images") as info:
        client.generate("x", model="openai/gpt-image-2", size="32x32")
    assert "openai/gpt-image-1" in info.value.suggestions
    assert "openai/gpt-image-1" in str(info.value)
    with pytest.raises(UnsupportedModelError):
        client.stream("x", model="nobody/text-only").final_response()
    assert transport.posts == []


def test_the_catalogues_are_typed_and_cached(traced: tuple[Any, Any]) -> None:
    client, transport = traced
    models = client.image_models()
    assert {STREAMING, PER_MEGAPIXEL, SEEDED, SVG} <= {m.id for m in models}
    assert client.image_models() == models
    endpoints = client.image_model_endpoints(SEEDED)
    (endpoint,) = endpoints.endpoints
    assert endpoint.supported_parameters["resolution"].accepts("2K")
    assert not endpoint.supported_parameters["resolution"].accepts("8K")
    chat = {m.id: m.output_modalities for m in client.chat_image_models()}
    assert chat[IMAGE_ONLY_CHAT] == ["image"]
    client.generate("cached", model=SEEDED, size="32x32")
    client.generate("cached", model=SEEDED, size="32x32")
    assert transport.gets.count("/api/v1/images/models") == 1
    assert transport.gets.count(f"/api/v1/images/models/{SEEDED}/endpoints") == 1
    with pytest.raises(NotFoundError):
        client.image_model_endpoints("nobody/nothing")


# -- check before paying --------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options", "parameter", "accepted"),
    [
        (STREAMING, {"seed": 7}, "seed", None),
        (SEEDED, {"resolution": "512"}, "resolution", "1K, 2K, 4K"),
        (SEEDED, {"n": 5}, "n", "1 to 4"),
        (PER_MEGAPIXEL, {"quality": "high"}, "quality", None),
    ],
)
def test_an_unsupported_parameter_is_refused_before_any_generation(
    traced: tuple[Any, Any],
    model: str,
    options: dict[str, Any],
    parameter: str,
    accepted: str | None,
) -> None:
    client, transport = traced
    with pytest.raises(UnsupportedParameterError) as info:
        client.generate("x", model=model, **options)
    error = info.value
    assert (error.model, error.parameter) == (model, parameter)
    assert model in str(error)
    assert parameter in str(error)
    if accepted is None:
        assert error.accepted is None
    else:
        assert error.accepted is not None and accepted in error.accepted
    assert transport.posts == []  # nothing paid for


def test_check_parameters_false_sends_the_request_as_given(traced: tuple[Any, Any]) -> None:
    from openrouter_imagegen import BadRequestError

    client, transport = traced
    with pytest.raises(BadRequestError, match="seed"):
        client.generate("x", model=STREAMING, seed=7, check_parameters=False)
    assert transport.posts == ["/api/v1/images"]


# -- what the Image API adds ------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes(traced: tuple[Any, Any]) -> None:
    client, _ = traced
    first = client.generate("a fox", model=SEEDED, seed=7, size="64x64").images()[0]
    again = client.generate("a fox", model=SEEDED, seed=7, size="64x64").images()[0]
    other = client.generate("a fox", model=SEEDED, seed=8, size="64x64").images()[0]
    assert first.data == again.data
    assert first.data != other.data


def test_svg_output_is_an_ordinary_image(traced: tuple[Any, Any]) -> None:
    client, _ = traced
    plain = client.generate("a logo", model=SVG, output_format="svg", size="64x64")
    (image,) = plain.images()
    assert image.media_type == "image/svg+xml"
    assert image.data.lstrip().startswith((b"<svg", b"<?xml"))
    with client.stream("a logo", model=SVG, output_format="svg", size="64x64") as stream:
        chunks = [u.event for u in stream if u.event.type == "image_generation.text_chunk"]
        streamed = stream.final_response()
    assert chunks
    assert streamed.images()[0].media_type == "image/svg+xml"


def test_edit_sends_earlier_and_input_images_as_references(
    traced: tuple[Any, Any], tmp_path: Any
) -> None:
    client, transport = traced
    first = client.generate("a cat", model=SEEDED, size="64x64")
    path = first.save_images(tmp_path)[0]
    edited = client.edit(first, "make it blue", model=SEEDED, images=[path], size="64x64")
    assert edited.images()
    body = transport.bodies()[-1]
    references = body["input_references"]
    assert len(references) == 2
    assert all(r["type"] == "image_url" for r in references)
    assert all(r["image_url"]["url"].startswith("data:image/png;base64,") for r in references)


# -- cost estimates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "options"),
    [
        (STREAMING, {"n": 2, "size": "64x64"}),
        (PER_MEGAPIXEL, {"size": "640x480"}),
        (PER_MEGAPIXEL, {"size": "96x64"}),
        (SEEDED, {"resolution": "1K", "aspect_ratio": "16:9"}),
    ],
)
def test_the_estimate_is_what_the_server_charges(
    traced: tuple[Any, Any], model: str, options: dict[str, Any]
) -> None:
    client, _ = traced
    estimate = client.estimate_cost("a river", model=model, **options)
    assert estimate.known, estimate.reason
    assert estimate.low == estimate.high
    assert estimate.lines
    response = client.generate("a river", model=model, **options)
    assert response.usage is not None and response.usage.cost is not None
    assert estimate.low == pytest.approx(response.usage.cost, rel=1e-6)


def test_an_estimate_that_cannot_be_made_says_why(traced: tuple[Any, Any]) -> None:
    client, transport = traced
    no_size = client.estimate_cost("a river", model=PER_MEGAPIXEL)
    assert (no_size.low, no_size.high) == (None, None)
    assert no_size.reason is not None and "megapixel" in no_size.reason
    chat = client.estimate_cost("a river", model=IMAGE_AND_TEXT_CHAT)
    assert chat.reason is not None and "Image API" in chat.reason
    assert "unknown" in chat.describe()
    assert transport.posts == []


# -- no image: typed, the same from generate() and stream() ----------------------------


@pytest.mark.parametrize(
    ("model", "endpoint"),
    [
        (IMAGE_AND_TEXT_CHAT, "auto"),
        (RESPONSES_MODEL, "responses"),
        (STREAMING, "auto"),
    ],
)
@pytest.mark.parametrize(
    ("fault", "error"),
    [("refused", "GenerationRefusedError"), ("no_image", "NoImageReturnedError")],
)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "streamed"])
def test_no_image_is_the_same_typed_error_from_generate_and_stream(
    client_for: ClientFactory,
    server: str,
    model: str,
    endpoint: str,
    fault: str,
    error: str,
    streamed: bool,
) -> None:
    import openrouter_imagegen

    expected = getattr(openrouter_imagegen, error)
    refused = fault == "refused" and not model.startswith("openai/gpt-image")
    with client_for(server, fault) as client:

        def ask() -> Any:
            if not streamed:
                return client.generate("x", model=model, endpoint=endpoint, size="32x32")
            with client.stream("x", model=model, endpoint=endpoint, size="32x32") as stream:
                return stream.final_response()

        with pytest.raises(openrouter_imagegen.NoImageError) as info:
            ask()
        allowed = client.generate(
            "x", model=model, endpoint=endpoint, size="32x32", allow_no_image=True
        )
    found = info.value
    # The Image API has no words for a refusal: an empty answer is all it can say.
    kind = expected if refused or fault == "no_image" else openrouter_imagegen.NoImageReturnedError
    assert type(found) is kind
    assert found.response is not None
    assert (found.images_returned, found.images_requested) == (0, 1)
    if refused:
        assert "content" in found.text or found.finish_reason == "content_filter"
        assert found.finish_reason == "content_filter"
    assert allowed.images(strict=False) == []
