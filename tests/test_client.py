"""The clients against the real emulator on 127.0.0.1."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _clients import KEY, ClientFactory, CountingTransport, Kind, http_client, make_client

from openrouter_imagegen import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ImageIsRemoteError,
    ImageSkippedWarning,
    InsufficientCreditsError,
    NotFoundError,
    OutputImageGenerationCall,
    PermissionDeniedError,
    RateLimitError,
    Response,
    ServerError,
    StreamError,
)
from openrouter_imagegen.client import AsyncImageClient, generation_body
from openrouter_imagegen.client._retry import parse_retry_after
from openrouter_imagegen.images import read_metadata

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")

from openrouter_imagegen.emulator import run  # noqa: E402

MODEL = "openai/gpt-5-image"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run(api_key=KEY) as base_url:
        yield base_url


# -- generate -----------------------------------------------------------------------


def test_generate_returns_typed_image_calls(
    client_for: ClientFactory, server: str, tmp_path: Path
) -> None:
    with client_for(server) as client:
        response = client.generate(
            "a red fox in snow", model=MODEL, endpoint="responses", size="256x128"
        )
    assert isinstance(response, Response)
    assert response.status == "completed"
    (call,) = response.image_generation_calls
    assert isinstance(call, OutputImageGenerationCall)
    assert call.status == "completed"
    image = call.image()
    assert image.media_type == "image/png"
    assert (image.width, image.height) == (256, 128)
    (path,) = response.save_images(tmp_path)
    assert Image.open(path).tobytes() == image.to_pil().tobytes()  # the same pixels
    provenance = read_metadata(path)  # and where they came from
    assert provenance is not None
    assert (provenance.prompt, provenance.model, provenance.route) == (
        "a red fox in snow",
        MODEL,
        "responses",
    )
    assert provenance.parameters == {"size": "256x128"}
    assert provenance.generation_id == response.generation_id
    (bare,) = response.save_images(tmp_path / "bare", metadata=False)
    assert bare.read_bytes() == image.data
    assert response.usage is not None


def test_generate_options_reach_the_server(client_for: ClientFactory, server: str) -> None:
    with client_for(server) as client:
        response = client.generate(
            "a blue square", model="google/gemini-2.5-flash-image", aspect_ratio="16:9", n=2
        )
        jpeg = client.generate(
            "a blue square", model=MODEL, endpoint="responses", size="64x64", output_format="jpeg"
        )
    images = response.images()
    assert len(images) == 2
    assert all(img.width is not None and img.height is not None for img in images)
    assert images[0].width > images[0].height
    assert jpeg.images()[0].media_type == "image/jpeg"


def test_generate_never_mutates_the_callers_dicts() -> None:
    config = {"aspect_ratio": "1:1"}
    extra = {"metadata": {"run": "1"}}
    for route in ("responses", "chat", "images"):
        body = generation_body(
            route,
            "x",
            model="google/gemini-2.5-flash-image",
            options={"size": "64x64", "image_config": config, "extra_body": extra},
        )
        body.setdefault("image_config", {})["n"] = 3
        body["metadata"]["run"] = "2"
        assert config == {"aspect_ratio": "1:1"}
        assert extra == {"metadata": {"run": "1"}}


def test_streamed_tool_always_asks_for_one_to_three_partials() -> None:
    for asked, sent in ((0, 1), (1, 1), (3, 3), (9, 3)):
        body = generation_body(
            "responses",
            "x",
            model=MODEL,
            options={},
            stream=True,
            partial_images=asked,
        )
        assert body["tools"][0]["partial_images"] == sent


def test_a_misspelt_option_is_a_type_error_before_any_request(
    kind: Kind, client_for: ClientFactory, server: str
) -> None:
    transport = CountingTransport()
    with client_for(server, http_client=http_client(kind, transport)) as client:
        with pytest.raises(TypeError, match=r"'sise'.*did you mean 'size'"):
            client.generate("x", model=MODEL, endpoint="responses", sise="1x1")
        with pytest.raises(TypeError, match="'sise'"):
            client.stream("x", model=MODEL, endpoint="responses", sise="1x1")
        with pytest.raises(TypeError, match="'qualty'"):
            client.edit(None, "x", model=MODEL, endpoint="responses", qualty="high")
    assert transport.posts == []


def test_chat_endpoint_is_normalised_to_image_calls(client_for: ClientFactory, server: str) -> None:
    with client_for(server) as client:
        response = client.generate("a green circle", model=MODEL, endpoint="chat", size="64x64")
        same = client.stream("a green circle", model=MODEL, endpoint="chat", size="64x64")
        with same:
            same = same.final_response()
    calls = response.image_generation_calls
    assert calls
    assert calls[0].result is not None
    assert calls[0].result.startswith("data:image/")
    image = calls[0].image()
    assert image.declared_media_type == image.media_type
    assert same.images()[0].data == image.data


# -- streaming ------------------------------------------------------------------------


@pytest.mark.parametrize("partials", [1, 2, 3])
def test_stream_yields_partials_then_the_final_response(
    client_for: ClientFactory, server: str, partials: int
) -> None:
    with (
        client_for(server) as client,
        client.stream(
            "a lighthouse", model=MODEL, endpoint="responses", size="64x64", partial_images=partials
        ) as stream,
    ):
        updates = list(stream)
        final = stream.final_response()
    previews = [u.partial_image for u in updates if u.partial_image is not None]
    assert len(previews) == partials
    assert all(p.image().media_type == "image/png" for p in previews)
    assert final.status == "completed"
    assert final.image_generation_calls[0].image().width == 64
    assert stream.generation_id
    with client_for(server) as client:
        plain = client.generate("a lighthouse", model=MODEL, endpoint="responses", size="64x64")
    assert plain.images()[0].data == final.images()[0].data


def test_chat_stream_is_normalised(client_for: ClientFactory, server: str) -> None:
    with (
        client_for(server) as client,
        client.stream("a kite", model=MODEL, endpoint="chat", size="64x64") as stream,
    ):
        final = stream.final_response()
    assert final.status == "completed"
    assert final.image_generation_calls[0].image().media_type == "image/png"


def test_truncated_stream_raises_with_what_arrived(client_for: ClientFactory, server: str) -> None:
    with (
        client_for(server, "truncate") as client,
        client.stream(
            "a tree", model=MODEL, endpoint="responses", size="64x64", partial_images=2
        ) as stream,
    ):
        with pytest.raises(StreamError) as info:
            list(stream)
    assert info.value.response is not None
    assert info.value.generation_id


def test_reset_stream_is_not_replayed_unless_asked(client_for: ClientFactory, server: str) -> None:
    with client_for(server, "reset") as client:
        with client.stream("a boat", model=MODEL, endpoint="responses", size="64x64") as stream:
            with pytest.raises(StreamError) as info:
                list(stream)
        assert isinstance(info.value, APIError)


def test_failed_generation_in_a_stream_raises(client_for: ClientFactory, server: str) -> None:
    with (
        client_for(server, "failed") as client,
        client.stream("a storm", model=MODEL, endpoint="responses", size="64x64") as stream,
    ):
        with pytest.raises(StreamError) as info:
            list(stream)
    assert info.value.response is not None


# -- edit -----------------------------------------------------------------------------


def test_edit_flow_from_response_call_and_input_images(
    client_for: ClientFactory, server: str, tmp_path: Path
) -> None:
    with client_for(server) as client:
        first = client.generate("a cat", model=MODEL, endpoint="responses", size="64x64")
        refined = client.edit(
            first, "make it blue", model=MODEL, endpoint="responses", size="64x64"
        )
        from_call = client.edit(
            first.image_generation_calls[0],
            "make it blue",
            model=MODEL,
            endpoint="responses",
            size="64x64",
        )
        path = first.save_images(tmp_path)[0]
        from_file = client.edit(
            None, "add a hat", model=MODEL, endpoint="responses", images=[path], size="64x64"
        )
        from_bytes = client.edit(
            None,
            "add a hat",
            model=MODEL,
            endpoint="responses",
            images=[path.read_bytes()],
            size="64x64",
        )
    for response in (refined, from_call, from_file, from_bytes):
        assert response.status == "completed"
        assert response.images()
    assert refined.images()[0].data == from_call.images()[0].data
    assert refined.images()[0].data != first.images()[0].data
    assert from_file.images()[0].data == from_bytes.images()[0].data


def test_edit_sends_the_earlier_call_back_as_an_input_item() -> None:
    call = OutputImageGenerationCall(id="ig_1", status="completed", result="QUJD")
    body = generation_body("responses", "bluer", model=MODEL, options={}, previous=call)
    assert body["input"][0] == call.to_dict()
    assert body["input"][1]["content"][0] == {"type": "input_text", "text": "bluer"}
    previous = Response(id="resp_9", output=[call])
    body = generation_body(
        "responses",
        "x",
        model=MODEL,
        options={},
        previous=previous,
        use_previous_response_id=True,
    )
    assert body["previous_response_id"] == "resp_9"


# -- errors and retries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("402", InsufficientCreditsError),
        ("403", PermissionDeniedError),
        ("500", ServerError),
        ("502", ServerError),
        ("503", ServerError),
        ("429", RateLimitError),
    ],
)
def test_status_faults_raise_typed_errors_after_retries(
    client_for: ClientFactory, server: str, fault: str, error: type[APIError]
) -> None:
    with client_for(server, fault, max_retries=1) as client, pytest.raises(error) as info:
        client.generate("x", model=MODEL, endpoint="responses", size="64x64")
    assert info.value.status_code is not None
    assert info.value.body is not None
    assert info.value.generation_id
    if fault == "429":
        assert isinstance(info.value, RateLimitError)
        assert info.value.retry_after is not None


def test_bad_request_carries_openrouters_message(client_for: ClientFactory, server: str) -> None:
    with client_for(server) as client, pytest.raises(BadRequestError) as info:
        client.generate("x", model=MODEL, endpoint="responses", size="9000x9000")
    assert "size" in str(info.value)
    assert info.value.status_code == 400


def test_unknown_model_is_not_found(client_for: ClientFactory, server: str) -> None:
    with client_for(server) as client, pytest.raises(NotFoundError):
        client.generate("x", model="nobody/no-such-model", endpoint="responses", size="64x64")


def test_wrong_key_is_an_authentication_error_and_never_shown(
    kind: Kind, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "sk-or-wrong-key-abcdef"
    caplog.set_level(logging.DEBUG)
    client = make_client(kind, api_key=wrong, base_url=server, max_retries=0)
    with client, pytest.raises(AuthenticationError) as info:
        client.generate("x", model=MODEL, endpoint="responses", size="64x64")
    texts = [str(info.value), repr(info.value), repr(client), str(info.value.body), caplog.text]
    for text in texts:
        assert wrong not in text
        assert KEY not in text


def test_key_never_appears_in_repr_errors_or_logs(
    client_for: ClientFactory, server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with client_for(server, "500", max_retries=1) as client:
        with pytest.raises(ServerError) as info:
            client.generate("x", model=MODEL, endpoint="responses", size="64x64")
        assert KEY not in repr(client)
    with client_for(server) as client:
        client.generate("x", model=MODEL, endpoint="responses", size="64x64")
    for text in (str(info.value), repr(info.value), caplog.text, repr(info.value.__dict__)):
        assert KEY not in text


def test_retries_recover_from_server_level_faults(client_for: ClientFactory) -> None:
    with run(faults=("500", "502", "503", "429"), fault_rate=0.3, seed=7) as base_url:
        with client_for(base_url, max_retries=10) as client:
            for i in range(12):
                response = client.generate(
                    f"recovery {i}", model=MODEL, endpoint="responses", size="64x64"
                )
                assert response.images()


@pytest.mark.parametrize(("fault", "error"), [("timeout", APITimeoutError), ("reset", None)])
def test_a_generation_cut_after_sending_is_sent_once_and_says_it_may_be_billed(
    kind: Kind, client_for: ClientFactory, server: str, fault: str, error: type[Exception] | None
) -> None:
    transport = CountingTransport()
    with client_for(
        server, fault, timeout=0.5, max_retries=3, http_client=http_client(kind, transport)
    ) as client:
        with pytest.raises(APIConnectionError, match="may have run and been billed") as info:
            client.generate("x", model=MODEL, endpoint="responses", size="64x64")
    assert transport.posts == ["/api/v1/responses"]  # exactly one generation request
    assert info.value.request_sent
    if error is not None:
        assert isinstance(info.value, error)


def test_retry_unsafe_opts_in_to_retrying_a_cut_generation(
    kind: Kind, client_for: ClientFactory, server: str
) -> None:
    transport = CountingTransport()
    with client_for(
        server,
        "reset*2",
        max_retries=2,
        retry_unsafe=True,
        http_client=http_client(kind, transport),
    ) as client:
        assert client.generate(
            f"unsafe but asked for ({kind})", model=MODEL, endpoint="responses", size="32x32"
        ).images()
    assert transport.posts == ["/api/v1/responses"] * 3


def test_slow_first_byte_still_succeeds(client_for: ClientFactory, server: str) -> None:
    with client_for(server, "slow") as client:
        assert client.generate("x", model=MODEL, endpoint="responses", size="64x64").images()


def test_failed_call_in_a_plain_response(client_for: ClientFactory, server: str) -> None:
    with client_for(server, "failed") as client:
        response = client.generate("x", model=MODEL, endpoint="responses", size="64x64")
    assert [c.status for c in response.image_generation_calls] == ["failed"]
    with pytest.warns(ImageSkippedWarning, match="failed"):
        assert response.images() == []


def test_nothing_listening_is_a_connection_error_retried_as_safe(
    kind: Kind, client_for: ClientFactory
) -> None:
    transport = CountingTransport()
    with client_for(
        "http://127.0.0.1:9/api/v1", max_retries=2, http_client=http_client(kind, transport)
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            client.generate("x", model=MODEL, endpoint="responses")
    assert not info.value.request_sent  # never reached a server: retrying was safe
    assert len(transport.posts) == 3
    assert "billed" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("120", 60.0), ("-4", 0.0), ("soon", None), (None, None)],
)
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 10) == 10.0


# -- injected transport and remote results ------------------------------------------------


def test_injected_http_client_and_remote_results_fetch_through_it(
    kind: Kind, client_for: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "openrouter_imagegen.images._fetch._resolve", lambda host, port: ["93.184.215.14"]
    )

    buffer = io.BytesIO()
    Image.new("RGB", (10, 20)).save(buffer, "PNG")
    png = buffer.getvalue()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("/responses"):
            body = {
                "output": [
                    {
                        "type": "image_generation_call",
                        "id": "ig_remote",
                        "status": "completed",
                        "result": "https://images.example.test/ig_remote.png",
                    }
                ]
            }
            return httpx.Response(200, json=body)
        return httpx.Response(200, content=png, headers={"content-type": "image/png"})

    http = http_client(kind, httpx.MockTransport(handler))
    with client_for("https://openrouter.test/api/v1", http_client=http) as client:
        response = client.generate("x", model=MODEL, endpoint="responses")
        call = response.image_generation_calls[0]
        with pytest.raises(ImageIsRemoteError):
            call.image()
        image = client.image(call)
    assert image.data == png
    assert (image.width, image.height) == (10, 20)
    assert seen[-1] == "https://93.184.215.14/ig_remote.png"  # the vetted address
    assert not http.is_closed  # the caller owns it


# -- async ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_async_client_awaited_natively(server: str) -> None:
    # Every other test drives the async client from sync code; here it runs in a real loop.
    async with AsyncImageClient(api_key=KEY, base_url=server) as client:
        response = await client.generate("an owl", model=MODEL, endpoint="responses", size="64x64")
        async with client.stream(
            "an owl", model=MODEL, endpoint="responses", size="64x64", partial_images=3
        ) as stream:
            previews = [u.partial_image async for u in stream if u.partial_image is not None]
            final = await stream.final_response()
        bare = [
            u.event.type
            async for u in client.stream("bare", model=MODEL, endpoint="responses", size="32x32")
        ]
    assert len(previews) == 3
    assert final.images()[0].data == response.images()[0].data
    assert (bare[0], bare[-1]) == ("response.created", "response.completed")


def test_broken_streams_are_replayed_only_when_asked(client_for: ClientFactory) -> None:
    with run(faults=("reset", "truncate"), fault_rate=0.5, seed=5) as base_url:
        with client_for(base_url, max_retries=12) as client:
            for i in range(4):
                with client.stream(
                    f"replayed {i}",
                    model=MODEL,
                    endpoint="responses",
                    size="32x32",
                    replay_on_failure=True,
                ) as stream:
                    final = stream.final_response()
                assert final.images()[0].width == 32
            failures = 0
            for i in range(6):
                with client.stream(
                    f"not replayed {i}", model=MODEL, endpoint="responses", size="32x32"
                ) as stream:
                    try:
                        stream.final_response()
                    except StreamError as exc:
                        failures += 1
                        assert exc.response is not None
            assert failures  # seeded: some of these break, and are raised, not retried


def test_streams_iterate_without_a_with_block_too(client_for: ClientFactory, server: str) -> None:
    with client_for(server) as client:
        updates = list(client.stream("bare", model=MODEL, endpoint="responses", size="32x32"))
    assert updates[0].event.type == "response.created"
    assert updates[-1].response.status == "completed"


def test_final_response_after_a_break_reads_the_same_answer(
    kind: Kind, client_for: ClientFactory, server: str
) -> None:
    transport = CountingTransport()
    with client_for(server, http_client=http_client(kind, transport)) as client:
        with client.stream(
            "a fox", model=MODEL, endpoint="responses", size="32x32", partial_images=3
        ) as stream:
            for update in stream:
                if update.partial_image is not None:
                    break  # a user who saw enough of the previews
            final = stream.final_response()
            again = list(stream)  # iterating once more sends nothing either
            assert stream.final_response() is final
        assert again == []
        assert final.status == "completed"
        assert final.images()[0].width == 32
        assert final.generation_id == stream.generation_id
        assert transport.posts == ["/api/v1/responses"]  # one request, one payment


def test_a_stream_closed_early_reports_what_arrived(
    kind: Kind, client_for: ClientFactory, server: str
) -> None:
    transport = CountingTransport()
    with client_for(server, http_client=http_client(kind, transport)) as client:
        with client.stream(
            "a fox", model=MODEL, endpoint="responses", size="32x32", partial_images=2
        ) as stream:
            first = next(iter(stream))
        assert first.event.type == "response.created"
        with pytest.raises(StreamError, match="closed before") as info:
            stream.final_response()
        assert info.value.response is not None
    assert transport.posts == ["/api/v1/responses"]


def test_server_tool_urls_download_through_the_client(
    kind: Kind, client_for: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "openrouter_imagegen.images._fetch._resolve", lambda host, port: ["93.184.215.14"]
    )

    buffer = io.BytesIO()
    Image.new("RGB", (12, 8)).save(buffer, "PNG")
    png = buffer.getvalue()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/responses"):
            item = {
                "type": "openrouter:image_generation",
                "id": "ig_tool",
                "status": "completed",
                "result": "https://cdn.example.test/ig_tool.png",
            }
            return httpx.Response(200, json={"output": [item]})
        return httpx.Response(200, content=png, headers={"content-type": "image/png"})

    http = http_client(kind, httpx.MockTransport(handler))
    with client_for("https://openrouter.test/api/v1", http_client=http) as client:
        response = client.generate("x", model="google/gemini-2.5-flash-image", endpoint="responses")
        with pytest.raises(ImageIsRemoteError):
            response.images()
        (image,) = client.images(response)
        (saved,) = client.save_images(response, tmp_path / "new" / "dir/")
    assert saved.parent == tmp_path / "new" / "dir"
    assert Image.open(saved).tobytes() == Image.open(io.BytesIO(png)).tobytes()
    provenance = read_metadata(saved)
    assert provenance is not None and provenance.prompt == "x"
    assert (image.width, image.height, image.call_id, image.source) == (12, 8, "ig_tool", "url")


# -- the retry policy and error mapping, without a server ---------------------------------


def test_retry_policy_backs_off_exponentially_with_jitter_and_bounds() -> None:
    import time as clock

    from openrouter_imagegen.client import RetryPolicy

    policy = RetryPolicy(4, backoff=0.5, max_backoff=3.0, deadline=100.0)
    started = clock.monotonic()
    error = ServerError("boom", status_code=503)
    delays = [policy.delay(error, n, started) for n in range(5)]
    assert delays[4] is None  # max_retries reached
    for n, delay in enumerate(delays[:4]):
        ceiling = min(3.0, 0.5 * 2**n)
        assert delay is not None
        assert ceiling / 2 <= delay <= ceiling
    limited = RateLimitError("slow down", status_code=429, retry_after=7.0)
    assert policy.delay(limited, 0, started) == 7.0
    assert policy.delay(BadRequestError("bad", status_code=400), 0, started) is None
    assert policy.delay(APIError("conflict", status_code=409), 0, started) is not None
    assert policy.delay(APIError("timeout", status_code=408), 0, started) is not None
    reset = APIConnectionError("reset")  # after the request went out
    assert policy.delay(reset, 0, started) is None  # a generation may have run: not again
    assert policy.delay(reset, 0, started, generation=False) is not None  # a GET may retry
    assert RetryPolicy(4, retry_unsafe=True).delay(reset, 0, started) is not None
    refused = APIConnectionError("refused", request_sent=False)
    assert policy.delay(refused, 0, started) is not None
    temporary = InsufficientCreditsError("in-flight budget", status_code=402, retry_after=2.0)
    assert policy.delay(temporary, 0, started) == 2.0
    assert policy.delay(InsufficientCreditsError("no credits", status_code=402), 0, started) is None
    assert policy.delay(ServerError("edge timeout", status_code=524), 0, started) is not None
    assert RetryPolicy(3, deadline=1.0).delay(limited, 0, started) is None  # past the deadline
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(-1)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, None, BadRequestError),
        (401, None, AuthenticationError),
        (402, None, InsufficientCreditsError),
        (403, None, PermissionDeniedError),
        (404, None, NotFoundError),
        (429, None, RateLimitError),
        (500, None, ServerError),
        (529, None, ServerError),
        (None, 502, ServerError),  # an error reported inside a 200 body or a stream
        (None, "server_error", APIError),
    ],
)
def test_error_bodies_map_to_the_hierarchy(
    status: int | None, code: object, expected: type[APIError]
) -> None:
    from openrouter_imagegen.client._retry import error_from_body

    body = {"error": {"code": code if code is not None else status, "message": "details here"}}
    error = error_from_body(body, status_code=status, generation_id="gen_1")
    assert type(error) is expected
    assert error.message == "details here"
    assert error.body == body
    assert error.generation_id == "gen_1"


@pytest.mark.parametrize("fault", ["429", "500", "502", "503"])
def test_retries_recover_from_a_fault_that_stops(
    kind: Kind, client_for: ClientFactory, server: str, fault: str
) -> None:
    # The emulator fails the first two identical requests only: two retries recover.
    with client_for(server, f"{fault}*2", max_retries=2) as client:
        response = client.generate(
            f"recovers from {fault} ({kind})", model=MODEL, endpoint="responses", size="32x32"
        )
    assert response.images()[0].width == 32
    with client_for(server, f"{fault}*2", max_retries=1) as client:
        with pytest.raises(APIError):
            client.generate(
                f"gives up on {fault} ({kind})", model=MODEL, endpoint="responses", size="32x32"
            )


def test_chat_failures_are_failures(client_for: ClientFactory, server: str) -> None:
    with client_for(server, "failed") as client:
        response = client.generate("x", model=MODEL, endpoint="chat", size="32x32")
        assert response.status == "failed"
        assert response.error is not None
        assert response.image_outputs == []
        with client.stream("x", model=MODEL, endpoint="chat", size="32x32") as stream:
            with pytest.raises(StreamError, match="failed") as info:
                stream.final_response()
    assert info.value.response is not None
    assert info.value.generation_id


def test_a_plain_body_cut_short_is_a_connection_error_not_retried(
    kind: Kind, client_for: ClientFactory, server: str
) -> None:
    transport = CountingTransport()
    with client_for(server, "truncate", http_client=http_client(kind, transport)) as client:
        with pytest.raises(APIConnectionError, match="ended early") as info:
            client.generate("cut", model=MODEL, endpoint="responses", size="32x32")
    assert info.value.generation_id
    assert transport.posts == ["/api/v1/responses"]
    with client_for(server, "truncate*1", max_retries=1, retry_unsafe=True) as client:
        assert client.generate(
            f"cut once ({kind})", model=MODEL, endpoint="responses", size="32x32"
        ).images()


def test_total_timeout_bounds_a_whole_request(client_for: ClientFactory, server: str) -> None:
    # The emulator's `slow` fault holds the answer a second: past a 0.2 s deadline.
    with client_for(server, "slow", total_timeout=0.2) as client:
        with pytest.raises(APITimeoutError, match=r"total_timeout=0\.2"):
            client.generate("slow", model=MODEL, endpoint="responses", size="32x32")
        with client.stream("slow", model=MODEL, endpoint="responses", size="32x32") as stream:
            with pytest.raises(StreamError, match=r"total_timeout=0\.2"):
                stream.final_response()
    with client_for(server, "slow", total_timeout=30) as client:
        assert client.generate("slow", model=MODEL, endpoint="responses", size="32x32").images()
