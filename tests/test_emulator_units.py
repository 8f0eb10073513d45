"""The emulator's pure parts, without a server: fault draws, request reading, rendering."""

from __future__ import annotations

import io
from typing import Any

import pytest

from openrouter_imagegen.emulator import FAULTS
from openrouter_imagegen.emulator._faults import Faults
from openrouter_imagegen.emulator._requests import (
    RequestRefused,
    read_chat_request,
    read_responses_request,
)

# -- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"names": ("explode",)}, "unknown fault"),
        ({"names": ("500",), "rate": -0.1}, "fault_rate"),
        ({"names": ("500",), "rate": 1.01}, "fault_rate"),
        ({"hold_seconds": -1}, "negative"),
    ],
)
def test_faults_refuse_bad_settings(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Faults(**options)


def test_drawn_faults_follow_the_seed_and_the_rate() -> None:
    def draws(seed: int, rate: float) -> list[str | None]:
        faults = Faults(("500", "reset"), rate, seed=seed)
        return [faults.pick(None, None, b"") for _ in range(400)]

    assert draws(1, 0.25) == draws(1, 0.25)
    assert draws(1, 0.25) != draws(2, 0.25)
    share = sum(d is not None for d in draws(1, 0.25)) / 400
    assert 0.15 < share < 0.35
    assert set(draws(1, 1.0)) == {"500", "reset"}
    assert set(draws(1, 0.0)) == {None}


def test_an_asked_fault_wins_and_draws_nothing() -> None:
    faults, untouched = Faults(("500",), 0.5, seed=0), Faults(("500",), 0.5, seed=0)
    assert all(faults.pick(name, None, b"") == name for name in FAULTS)
    assert faults.pick("  timeout ", None, b"") == "timeout"
    # The seeded sequence is the same as if those requests had not come.
    assert [faults.pick(None, None, b"") for _ in range(50)] == [
        untouched.pick(None, None, b"") for _ in range(50)
    ]


def test_counted_faults_count_identical_requests() -> None:
    faults = Faults()
    assert [faults.pick("429*2", None, b"A") for _ in range(3)] == ["429", "429", None]
    assert faults.pick("429*2", None, b"B") == "429"  # another body counts anew
    assert faults.pick("500*2", None, b"A") == "500"  # and so does another header
    # A request key makes requests identical whatever their bodies.
    assert [faults.pick("reset*1", "job", body) for body in (b"1", b"2")] == ["reset", None]


@pytest.mark.parametrize("asked", ["nope", "429*", "429*0", "429*x", "429*101", "*2"])
def test_malformed_fault_headers_are_refused(asked: str) -> None:
    with pytest.raises(RequestRefused, match=r"X-Emulator-Fault") as info:
        Faults().pick(asked, None, b"")
    assert info.value.status == 400


# -- reading requests ------------------------------------------------------------------------


def responses_body(**changes: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-5-image", "input": "a fox", **changes}


def test_the_tool_wins_over_image_config_and_partials_only_count_when_streaming() -> None:
    body = responses_body(
        tools=[{"type": "image_generation", "size": "10x20", "output_format": "webp",
                "partial_images": 2}],
        image_config={"size": "30x40", "output_format": "jpeg", "quality": "high", "n": 2},
    )  # fmt: skip
    request = read_responses_request(body, {})
    assert (request.width, request.height, request.output_format) == (10, 20, "webp")
    assert (request.quality, request.n, request.partial_images) == ("high", 2, 0)
    assert read_responses_request({**body, "stream": True}, {}).partial_images == 2


def test_the_tool_size_auto_falls_back_to_image_config() -> None:
    body = responses_body(
        tools=[{"type": "image_generation", "size": "auto"}], image_config={"aspect_ratio": "2:1"}
    )
    request = read_responses_request(body, {})
    assert (request.width, request.height) == (1024, 512)


def test_input_items_and_history_make_the_prompt() -> None:
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "make it"}]},
        {"type": "image_generation_call", "id": "ig_1", "result": "iVBORw0KGgo=", "status": "x"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "not a prompt"}]},
        {"type": "input_text", "text": "blue"},
    ]
    request = read_responses_request(responses_body(input=items), {})
    assert request.prompt == "make it blue"
    assert request.context  # the earlier result is carried
    follow_up = read_responses_request(
        responses_body(input="and bigger", previous_response_id="resp_1"),
        {"resp_1": ("make it blue", request.context)},
    )
    assert follow_up.prompt == "make it blue / and bigger"
    assert follow_up.context == request.context


def test_any_model_naming_images_is_served_and_others_are_not_found() -> None:
    assert read_responses_request(responses_body(model="acme/new-image-9"), {}).model
    with pytest.raises(RequestRefused) as info:
        read_responses_request(responses_body(model="acme/text-only"), {})
    assert info.value.status == 404


def test_chat_needs_image_modalities_and_reads_image_parts() -> None:
    body = {
        "model": "google/gemini-2.5-flash-image",
        "modalities": ["image", "text"],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "recolour"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                ],
            }
        ],
    }
    request = read_chat_request(body)
    assert (request.prompt, bool(request.context)) == ("recolour", True)
    with pytest.raises(RequestRefused, match=r"^modalities"):
        read_chat_request({**body, "modalities": None})


# -- rendering -----------------------------------------------------------------------------


def test_renders_are_deterministic_without_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("PIL")
    from openrouter_imagegen.emulator import _render

    spec = _render.RenderSpec("a deterministic gull", 96, 64, "webp", quality="low")
    first = _render.render(spec, previews=2)
    monkeypatch.setattr(_render, "_cache", _render._RenderCache(1 << 20))
    again = _render.render(spec, previews=2)
    assert again is not first
    assert again == first


def test_the_render_cache_keeps_within_its_byte_budget() -> None:
    pytest.importorskip("PIL")
    from openrouter_imagegen.emulator._render import Rendered, RenderSpec, _RenderCache

    cache = _RenderCache(budget=100)
    keys = [(RenderSpec(f"p{i}", 1, 1), 0) for i in range(4)]
    for key in keys[:3]:
        cache.put(key, Rendered(b"x" * 40, ()))
    assert cache.get(keys[0]) is None  # evicted: 120 bytes do not fit in 100
    assert cache.get(keys[1]) is not None  # now the most recently used
    cache.put(keys[3], Rendered(b"x" * 40, ()))
    assert cache.get(keys[2]) is None
    assert cache.get(keys[1]) is not None
    cache.put((RenderSpec("huge", 1, 1), 0), Rendered(b"x" * 101, ()))
    assert cache.get((RenderSpec("huge", 1, 1), 0)) is None  # never cached, evicts nothing
    assert cache.get(keys[3]) is not None


def test_the_largest_size_renders() -> None:
    Image = pytest.importorskip("PIL.Image")
    from openrouter_imagegen.emulator._render import RenderSpec, render

    rendered = render(RenderSpec("a very wide banner", 4096, 16, "jpeg"))
    assert Image.open(io.BytesIO(rendered.data)).size == (4096, 16)
