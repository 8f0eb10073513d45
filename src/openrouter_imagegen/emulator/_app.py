"""The emulator's Starlette app: OpenRouter's image endpoints, with faults on demand."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any

import anyio
import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from openrouter_imagegen.emulator._cache import BudgetCache
from openrouter_imagegen.emulator._catalog import (
    image_model_endpoints,
    image_models_listing,
    models_listing,
)
from openrouter_imagegen.emulator._faults import STATUS_FAULTS, ConnectionReset, Faults
from openrouter_imagegen.emulator._guard import Guard, error_response, json_response
from openrouter_imagegen.emulator._image_requests import read_image_generation
from openrouter_imagegen.emulator._log import LoggedRequest
from openrouter_imagegen.emulator._payloads import (
    MEDIA_TYPES,
    EventStream,
    chat_completion,
    chat_events,
    image_events,
    image_generation,
    new_id,
    refuse,
    response_events,
    response_object,
)
from openrouter_imagegen.emulator._render import Rendered, RenderSpec, render
from openrouter_imagegen.emulator._requests import (
    ImageRequest,
    RequestRefused,
    decode_body,
    read_chat_request,
    read_responses_request,
)
from openrouter_imagegen.stream import encode_comment

__all__ = ["build_app"]

_KEEP_ALIVE = encode_comment("OPENROUTER PROCESSING")
_HISTORY_KEPT = 1000  # responses that `previous_response_id` can continue
_FILES_BYTES = 256 * 1024 * 1024  # pictures served by URL: the oldest go first
_FILES_PATH = "/api/v1/files"


class _Emulator:
    """The request handlers, and the state they share."""

    def __init__(self, api_key: str | None, faults: Faults, url_results: bool) -> None:
        self.api_key = api_key
        self.faults = faults
        self.url_results = url_results
        self.counter = itertools.count(1)
        self.history: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.files: BudgetCache[str, tuple[bytes, str]] = BudgetCache(
            _FILES_BYTES, lambda name, file: len(file[0])
        )

    async def responses(self, request: Request) -> Response:
        return await self._generate(request, chat=False)

    async def chat(self, request: Request) -> Response:
        return await self._generate(request, chat=True)

    async def models(self, request: Request) -> Response:
        try:
            return json_response(200, models_listing(request.query_params.get("output_modalities")))
        except ValueError as exc:
            return error_response(400, str(exc))

    async def image_models(self, request: Request) -> Response:
        return json_response(200, image_models_listing())

    async def image_model_endpoints(self, request: Request) -> Response:
        model = f"{request.path_params['author']}/{request.path_params['slug']}"
        endpoints = image_model_endpoints(model)
        if endpoints is None:
            return error_response(404, f"No image model {model!r}: see GET /api/v1/images/models")
        return json_response(200, endpoints)

    async def file(self, request: Request) -> Response:
        """A picture served by URL (`url_results`): no key needed, as the name is unguessable."""
        name = request.path_params["name"]
        found = self.files.get(name)
        if found is None:
            return error_response(404, f"No file {name!r}: it was never made here, or is long gone")
        data, media_type = found
        return Response(data, 200, media_type=media_type)

    async def images(self, request: Request) -> Response:
        headers = self._generation_headers()
        try:
            body, fault = await self._admit(request, headers)
            model, spec = read_image_generation(body)
        except RequestRefused as exc:
            return error_response(exc.status, exc.message, headers)
        await self._delay(request, fault)
        if fault == "failed" and not spec.stream:  # no body to fail in: the provider's error
            return error_response(502, STATUS_FAULTS["502"], headers)
        images = [] if fault in _NO_IMAGE else await run_in_threadpool(_render_all, spec)
        payload = image_generation(model, spec, images, created=int(time.time()))
        streamed = spec.stream and images  # nothing to stream: the answer comes whole
        stream = image_events(images, payload, failed=fault == "failed") if streamed else None
        return _answer(payload, stream, fault, headers)

    def _generation_headers(self) -> dict[str, str]:
        return {"X-Generation-Id": new_id("gen", next(self.counter), time.time_ns())}

    def _check_key(self, request: Request) -> None:
        if self.api_key is None:
            return
        given = request.headers.get("authorization")
        if given is None:
            raise RequestRefused(401, "No auth credentials found")
        # Constant time: how long a refusal takes must not tell how much of a guess was right.
        if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            raise RequestRefused(401, "User not found.")  # what OpenRouter says for a bad key

    async def _admit(
        self, request: Request, headers: dict[str, str]
    ) -> tuple[dict[str, Any], str | None]:
        """The body of a request that passes the key check, and its fault unless that is a
        status fault, which refuses it."""
        self._check_key(request)
        raw = await request.body()
        fault = self.faults.pick(
            request.headers.get("x-emulator-fault"),
            request.headers.get("x-emulator-request-key"),
            raw,
        )
        if fault in STATUS_FAULTS:
            if fault == "429":
                headers["Retry-After"] = str(self.faults.retry_after)
            raise RequestRefused(int(fault), STATUS_FAULTS[fault])
        return decode_body(raw), fault

    async def _delay(self, request: Request, fault: str | None) -> None:
        if fault == "timeout":
            await _hold(request, self.faults.hold_seconds)
        elif fault == "slow":
            await asyncio.sleep(self.faults.slow_seconds)

    async def _generate(self, request: Request, *, chat: bool) -> Response:
        headers = self._generation_headers()
        generation_id = headers["X-Generation-Id"]
        try:
            body, fault = await self._admit(request, headers)
            spec = read_chat_request(body) if chat else read_responses_request(body, self.history)
        except RequestRefused as exc:
            return error_response(exc.status, exc.message, headers)
        await self._delay(request, fault)
        images = [] if fault in _NO_IMAGE else await run_in_threadpool(_render_all, spec)
        failed, created = fault == "failed", int(time.time())
        urls: list[str] | None = None
        if self.url_results:  # failed calls have no pictures to link to
            urls = [] if failed else self._publish(request, spec, images)
        options: dict[str, Any] = {"failed": failed, "created": created, "urls": urls}
        stream: EventStream | None = None
        if chat:
            payload = chat_completion(spec, images, generation_id, **options)
            if fault == "refused":
                refuse(payload, chat=True)
            if spec.stream:
                stream = chat_events(payload)
        else:
            payload = response_object(spec, images, generation_id, **options)
            if fault == "refused":
                refuse(payload, chat=False)
            self._remember(payload["id"], spec)
            if spec.stream:
                stream = response_events(images, payload)
        return _answer(payload, stream, fault, headers)

    def _publish(
        self, request: Request, spec: ImageRequest, images: Sequence[Rendered]
    ) -> list[str]:
        """Keep `images` to serve by URL; their URLs, on the host the client called."""
        base = str(request.base_url).rstrip("/") + _FILES_PATH
        urls = []
        for image in images:
            name = f"{secrets.token_urlsafe(18)}.{spec.output_format}"
            self.files.put(name, (image.data, MEDIA_TYPES[spec.output_format]))
            urls.append(f"{base}/{name}")
        return urls

    def _remember(self, response_id: str, spec: ImageRequest) -> None:
        self.history[response_id] = (spec.prompt, spec.context)
        while len(self.history) > _HISTORY_KEPT:
            self.history.popitem(last=False)


# Faults whose answer completes without any picture: a refusal, or text alone.
_NO_IMAGE = ("refused", "no_image")


def _answer(
    payload: dict[str, Any], stream: EventStream | None, fault: str | None, headers: dict[str, str]
) -> Response:
    """The stream when there is one, else `payload` as JSON; either cut by `reset`/`truncate`."""
    if stream is not None:
        return StreamingResponse(
            _stream_body(stream, fault), media_type="text/event-stream", headers=headers
        )
    data = msgspec.json.encode(payload)
    if fault in ("reset", "truncate"):
        return StreamingResponse(
            _cut_body(data, fault), media_type="application/json", headers=headers
        )
    return Response(data, 200, headers, media_type="application/json")


def _render_all(spec: ImageRequest) -> list[Rendered]:
    return [
        render(
            RenderSpec(
                prompt=spec.prompt,
                width=spec.width,
                height=spec.height,
                output_format=spec.output_format,
                background=spec.background,
                quality=spec.quality,
                variant=variant,
                context=spec.context,
                seed=spec.seed,
                compression=spec.compression,
                base=spec.input_image,
                model=spec.model,
            ),
            spec.partial_images,
        )
        for variant in range(spec.n)
    ]


async def _hold(request: Request, seconds: float) -> None:
    """Wait `seconds`, or less if the client gives up first: a held request is freed with it."""
    with anyio.move_on_after(seconds):
        while not await request.is_disconnected():
            await anyio.sleep(0.05)


async def _stream_body(stream: EventStream, fault: str | None) -> AsyncIterator[bytes]:
    events = stream.events
    if fault == "truncate":
        events = events[: stream.truncate_at]
    elif fault == "reset":
        events = events[: stream.reset_at]
    for event in events:
        yield _KEEP_ALIVE + event
    if fault == "reset":
        raise ConnectionReset


async def _cut_body(data: bytes, fault: str | None) -> AsyncIterator[bytes]:
    """Half the body, then an end: clean for `truncate`, a dropped connection for `reset`."""
    yield data[: len(data) // 2]
    if fault == "reset":
        raise ConnectionReset


def build_app(
    api_key: str | None,
    faults: Faults,
    *,
    url_results: bool,
    hosts: Collection[str] | None,
    max_body: int,
    log: Callable[[LoggedRequest], None] | None,
) -> Starlette:
    emulator = _Emulator(api_key, faults, url_results)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, f"{exc.detail}: {request.method} {request.url.path}")

    routes = [
        Route("/api/v1/responses", emulator.responses, methods=["POST"]),
        Route("/api/alpha/responses", emulator.responses, methods=["POST"]),
        Route("/api/v1/chat/completions", emulator.chat, methods=["POST"]),
        Route("/api/v1/models", emulator.models, methods=["GET"]),
        Route("/api/v1/images", emulator.images, methods=["POST"]),
        Route("/api/v1/images/models", emulator.image_models, methods=["GET"]),
        Route(
            "/api/v1/images/models/{author}/{slug}/endpoints",
            emulator.image_model_endpoints,
            methods=["GET"],
        ),
        Route(_FILES_PATH + "/{name}", emulator.file, methods=["GET"]),
    ]
    guard = Middleware(Guard, hosts=hosts, max_body=max_body, log=log)
    return Starlette(
        routes=routes, middleware=[guard], exception_handlers={HTTPException: http_error}
    )
