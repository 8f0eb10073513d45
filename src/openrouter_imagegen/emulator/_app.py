"""The emulator's Starlette app: OpenRouter's image endpoints, with faults on demand."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import random
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pybase64
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from openrouter_imagegen.emulator._render import RenderSpec, render, render_preview
from openrouter_imagegen.stream._sse import encode_comment, encode_event

__all__ = ["FAULTS", "MODELS", "EmulatorConfig", "create_app"]

FAULTS = (
    "429",
    "500",
    "502",
    "503",
    "402",
    "403",
    "timeout",
    "reset",
    "truncate",
    "slow",
    "failed",
)
_STATUS_FAULTS = {"429", "500", "502", "503", "402", "403"}
_FAULT_MESSAGES = {
    "429": "Rate limit exceeded: too many requests (emulated)",
    "500": "Internal server error (emulated)",
    "502": "Provider returned error (emulated)",
    "503": "No provider available (emulated)",
    "402": "Insufficient credits: add more at openrouter.ai/credits (emulated)",
    "403": "This request was flagged by moderation (emulated)",
}
MODELS = (
    ("openai/gpt-5-image", "OpenAI: GPT-5 Image"),
    ("openai/gpt-image-1", "OpenAI: GPT Image 1"),
    ("google/gemini-2.5-flash-image", "Google: Gemini 2.5 Flash Image"),
    ("emulator/pillow-image", "Emulator: Pillow Image"),
)
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_RATIO = re.compile(r"^(\d{1,3}):(\d{1,3})$")
_MAX_SIDE = 4096
_DEFAULT_SIDE = 1024
_KEEP_ALIVE = encode_comment("OPENROUTER PROCESSING")


@dataclass
class EmulatorConfig:
    """How an emulator behaves. `faults` are drawn at `fault_rate` per request."""

    api_key: str | None = None
    faults: tuple[str, ...] = ()
    fault_rate: float = 0.0
    seed: int = 0
    hold_seconds: float = 30.0  # the `timeout` fault: longer than any sane client timeout
    slow_seconds: float = 1.0  # the `slow` fault's first-byte delay
    retry_after: int = 1
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        self.rng = random.Random(self.seed)


class BadRequest(Exception):
    """A request the emulator refuses, with OpenRouter's status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectionReset(Exception):
    """Raised inside a body to make uvicorn drop the connection (the `reset` fault)."""


@dataclass(frozen=True)
class ImageRequest:
    """What a generation request asks for, validated."""

    model: str
    prompt: str
    context: str
    width: int
    height: int
    output_format: str
    background: str
    quality: str
    n: int
    partial_images: int
    stream: bool


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(body), status, headers, media_type="application/json")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": {"code": status, "message": message}}, headers)


def _new_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def _size(value: Any, field_name: str) -> tuple[int, int] | None:
    if value is None or value == "auto":
        return None
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match:
        raise BadRequest(
            400, f"{field_name}: expected WIDTHxHEIGHT such as '1024x1024', got {value!r}"
        )
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= _MAX_SIDE and 1 <= height <= _MAX_SIDE):
        raise BadRequest(
            400, f"{field_name}: each side must be 1 to {_MAX_SIDE} pixels, got {value!r}"
        )
    return width, height


def _aspect(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    match = _RATIO.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) == 0 or int(match[2]) == 0:
        raise BadRequest(
            400, f"image_config.aspect_ratio: expected W:H such as '16:9', got {value!r}"
        )
    w, h = int(match[1]), int(match[2])
    if w >= h:
        return _DEFAULT_SIDE, max(1, _DEFAULT_SIDE * h // w)
    return max(1, _DEFAULT_SIDE * w // h), _DEFAULT_SIDE


def _choice(value: Any, field_name: str, allowed: Iterable[str], default: str) -> str:
    if value is None:
        return default
    allowed = tuple(allowed)
    if value not in allowed:
        raise BadRequest(400, f"{field_name}: expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _text_and_context(items: Any) -> tuple[str, str]:
    """The prompt text of an input, and a digest of the images and results it carries."""
    if isinstance(items, str):
        return items, ""
    if not isinstance(items, list):
        raise BadRequest(400, "input: expected a string or a list of input items")
    texts: list[str] = []
    carried: list[str] = []  # earlier results and input images: they change the picture
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "image_generation_call" and isinstance(item.get("result"), str):
            carried.append(item["result"])
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") in ("input_text", "text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if isinstance(url, str):
                carried.append(url)
    context = hashlib.sha256("\0".join(carried).encode()).hexdigest()[:16] if carried else ""
    return " ".join(texts), context


class Emulator:
    """The request handlers, with the state they share."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.counter = itertools.count(1)
        # previous_response_id -> (prompt, context), for continuing earlier generations.
        self.history: OrderedDict[str, tuple[str, str]] = OrderedDict()
        # (X-Emulator-Fault value, body digest) -> faults served so far, for `fault*N`.
        self.faults_served: dict[tuple[str, str], int] = {}

    # -- plumbing ---------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        if self.config.api_key is None:
            return True
        return request.headers.get("authorization") == f"Bearer {self.config.api_key}"

    async def _fault(self, request: Request) -> str | None:
        """The fault to inject: asked for by header, or drawn at the server's rate.

        `X-Emulator-Fault: 503*2` fails only the first two identical requests
        (same header, same body), so retries can be seen to recover.
        """
        asked = request.headers.get("x-emulator-fault")
        if asked:
            name, star, times = asked.partition("*")
            if name not in FAULTS or (star and not times.isdigit()):
                raise BadRequest(
                    400,
                    f"X-Emulator-Fault: expected one of {', '.join(FAULTS)}, optionally "
                    f"followed by '*N' (the first N identical requests only); got {asked!r}",
                )
            if not star:
                return name
            key = (asked, hashlib.sha256(await request.body()).hexdigest())
            served = self.faults_served.get(key, 0)
            if served >= int(times):
                return None
            self.faults_served[key] = served + 1
            return name
        config = self.config
        if config.faults and config.rng.random() < config.fault_rate:
            return config.rng.choice(config.faults)
        return None

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = msgspec.json.decode(await request.body())
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise BadRequest(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BadRequest(400, "the request body must be a JSON object")
        return body

    def _model(self, body: dict[str, Any]) -> str:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest(400, "model: a model id is required")
        if model not in dict(MODELS) and "image" not in model:
            raise BadRequest(404, f"model: {model!r} is not a valid model ID")
        return model

    async def handle(self, request: Request, endpoint: str) -> Response:
        generation_id = _new_id("gen", next(self.counter), time.time_ns())
        headers = {"X-Generation-Id": generation_id}
        try:
            if not self._authorised(request):
                return _error(401, "No auth credentials found or the key is invalid", headers)
            fault = await self._fault(request)
            if fault in _STATUS_FAULTS:
                extra = {"Retry-After": str(self.config.retry_after)} if fault == "429" else {}
                return _error(int(fault), _FAULT_MESSAGES[fault], headers | extra)
            if fault == "timeout":
                await asyncio.sleep(self.config.hold_seconds)
            body = await self._body(request)
            parse = self._chat_request if endpoint == "chat" else self._responses_request
            spec = parse(body)
        except BadRequest as exc:
            return _error(exc.status, exc.message, headers)
        if fault == "slow" and not spec.stream:
            await asyncio.sleep(self.config.slow_seconds)
        images = await run_in_threadpool(self._render_all, spec)
        build = self._chat_stream if endpoint == "chat" else self._responses_stream
        if spec.stream:
            events = build(spec, images, generation_id, fault)
            return StreamingResponse(
                self._paced(events, fault), media_type="text/event-stream", headers=headers
            )
        payload = (self._chat_body if endpoint == "chat" else self._responses_body)(
            spec, images, generation_id, fault
        )
        if fault == "reset":
            return StreamingResponse(
                _reset_midway(payload), media_type="application/json", headers=headers
            )
        return Response(payload, 200, headers, media_type="application/json")

    async def _paced(self, events: Iterable[bytes], fault: str | None) -> AsyncIterator[bytes]:
        if fault == "slow":
            await asyncio.sleep(self.config.slow_seconds)
        for event in events:
            yield event
            yield _KEEP_ALIVE

    # -- requests -----------------------------------------------------------------

    def _common(
        self,
        body: dict[str, Any],
        prompt: str,
        context: str,
        config: dict[str, Any],
        tool: dict[str, Any] | None,
    ) -> ImageRequest:
        tool = tool or {}
        tool_size = _size(tool.get("size"), "tools[0].size")
        config_size = _size(config.get("size"), "image_config.size")
        aspect = _aspect(config.get("aspect_ratio"))  # checked even when a size wins
        size = tool_size or config_size or aspect or (_DEFAULT_SIDE, _DEFAULT_SIDE)
        output_format = _choice(
            tool.get("output_format", config.get("output_format")),
            "output_format",
            ("png", "jpeg", "webp"),
            "png",
        )
        background = _choice(
            tool.get("background", config.get("background")),
            "background",
            ("transparent", "opaque", "auto"),
            "auto",
        )
        quality = _choice(
            tool.get("quality", config.get("quality")),
            "quality",
            ("low", "medium", "high", "auto"),
            "auto",
        )
        n = config.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 10:
            raise BadRequest(400, f"image_config.n: expected an integer from 1 to 10, got {n!r}")
        partial = tool.get("partial_images", 0)
        if not isinstance(partial, int) or isinstance(partial, bool) or not 0 <= partial <= 3:
            raise BadRequest(
                400, f"tools[0].partial_images: expected an integer from 0 to 3, got {partial!r}"
            )
        stream = body.get("stream") is True
        if stream and tool and partial == 0:
            raise BadRequest(
                400,
                "tools[0].partial_images: streaming the image_generation tool "
                "needs partial_images of 1 to 3",
            )
        if not prompt.strip():
            raise BadRequest(400, "input: the prompt is empty")
        return ImageRequest(
            model=self._model(body), prompt=prompt, context=context, width=size[0], height=size[1],
            output_format=output_format, background=background, quality=quality, n=n,
            partial_images=partial if stream else 0, stream=stream,
        )  # fmt: skip

    def _responses_request(self, body: dict[str, Any]) -> ImageRequest:
        if "input" not in body:
            raise BadRequest(400, "input: required")
        prompt, context = _text_and_context(body["input"])
        previous = body.get("previous_response_id")
        if previous is not None:
            if previous not in self.history:
                raise BadRequest(
                    404, f"previous_response_id: no response {previous!r} on this emulator"
                )
            earlier_prompt, earlier_context = self.history[previous]
            prompt, context = f"{earlier_prompt} / {prompt}", earlier_context + context
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            raise BadRequest(400, "tools: expected an array")
        tool = next(
            (t for t in tools if isinstance(t, dict) and t.get("type") == "image_generation"), None
        )
        config = body.get("image_config") or {}
        if not isinstance(config, dict):
            raise BadRequest(400, "image_config: expected an object")
        return self._common(body, prompt, context, config, tool)

    def _chat_request(self, body: dict[str, Any]) -> ImageRequest:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest(400, "messages: expected a non-empty array")
        modalities = body.get("modalities") or []
        if "image" not in modalities:
            raise BadRequest(400, "modalities: include 'image' to generate images")
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        prompt, context = _text_and_context(users[-1:])
        config = body.get("image_config") or {}
        if not isinstance(config, dict):
            raise BadRequest(400, "image_config: expected an object")
        return self._common(body, prompt, context, config, None)

    def _render_all(self, spec: ImageRequest) -> list[tuple[bytes, list[bytes]]]:
        results = []
        for variant in range(spec.n):
            render_spec = RenderSpec(
                spec.prompt, spec.width, spec.height, spec.output_format, spec.background,
                spec.quality, variant, spec.context,
            )  # fmt: skip
            previews = [
                render_preview(render_spec, i, spec.partial_images)
                for i in range(spec.partial_images)
            ]
            results.append((render(render_spec), previews))
        return results

    # -- Responses API ----------------------------------------------------------------

    def _response(
        self,
        spec: ImageRequest,
        images: list[tuple[bytes, list[bytes]]],
        generation_id: str,
        fault: str | None,
    ) -> dict[str, Any]:
        response_id = _new_id("resp", generation_id)
        self.history[response_id] = (spec.prompt, spec.context)
        while len(self.history) > 1000:
            self.history.popitem(last=False)
        output: list[dict[str, Any]] = []
        for variant, (data, _) in enumerate(images):
            failed = fault == "failed"
            output.append(
                {
                    "type": "image_generation_call",
                    "id": _new_id("ig", generation_id, variant),
                    "status": "failed" if failed else "completed",
                    "result": None if failed else pybase64.b64encode(data).decode("ascii"),
                    "prompt": spec.prompt,
                }
            )
        text = (
            "The image failed to generate."
            if fault == "failed"
            else f"Here is your image of: {spec.prompt}"
        )
        output.append(
            {
                "type": "message",
                "id": _new_id("msg", generation_id),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
        words = len(spec.prompt.split())
        created = int(time.time())
        return {
            "id": response_id,
            "object": "response",
            "created_at": created,
            "completed_at": created,
            "model": spec.model,
            "status": "failed" if fault == "failed" else "completed",
            "output": output,
            "error": {"code": "server_error", "message": "image generation failed (emulated)"}
            if fault == "failed"
            else None,
            "incomplete_details": None,
            "usage": {
                "input_tokens": words,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 1056 * spec.n,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": words + 1056 * spec.n,
                "cost": round(0.04 * spec.n, 6),
            },
            "tools": [],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "temperature": None,
            "top_p": None,
            "presence_penalty": None,
            "frequency_penalty": None,
            "instructions": None,
            "metadata": {},
        }

    def _responses_body(
        self,
        spec: ImageRequest,
        images: list[tuple[bytes, list[bytes]]],
        generation_id: str,
        fault: str | None,
    ) -> bytes:
        return msgspec.json.encode(self._response(spec, images, generation_id, fault))

    def _responses_stream(
        self,
        spec: ImageRequest,
        images: list[tuple[bytes, list[bytes]]],
        generation_id: str,
        fault: str | None,
    ) -> Iterable[bytes]:
        final = self._response(spec, images, generation_id, fault)
        started = {
            **final,
            "status": "in_progress",
            "output": [],
            "completed_at": None,
            "error": None,
        }
        del started["usage"]
        numbers = itertools.count()

        def event(kind: str, **fields: Any) -> bytes:
            return encode_event(
                msgspec.json.encode({"type": kind, **fields, "sequence_number": next(numbers)})
            )

        yield event("response.created", response=started)
        yield event("response.in_progress", response=started)
        for index, item in enumerate(final["output"]):
            if item["type"] != "image_generation_call":
                yield from _message_events(event, index, item)
                continue
            ids = {"item_id": item["id"], "output_index": index}
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "result": None},
            )
            yield event("response.image_generation_call.in_progress", **ids)
            yield event("response.image_generation_call.generating", **ids)
            for number, preview in enumerate(images[index][1]):
                yield event(
                    "response.image_generation_call.partial_image", **ids,
                    partial_image_b64=pybase64.b64encode(preview).decode("ascii"),
                    partial_image_index=number,
                )  # fmt: skip
                if fault == "reset" and number == 0:
                    raise ConnectionReset
            if fault == "truncate":
                return
            if fault == "reset":
                raise ConnectionReset
            if item["status"] == "failed":
                yield event("response.output_item.done", output_index=index, item=item)
                yield event("response.failed", response=final)
                yield encode_event("[DONE]")
                return
            yield event("response.image_generation_call.completed", **ids)
            yield event("response.output_item.done", output_index=index, item=item)
        yield event("response.completed", response=final)
        yield encode_event("[DONE]")

    # -- chat completions --------------------------------------------------------------

    def _completion(
        self, spec: ImageRequest, images: list[tuple[bytes, list[bytes]]], generation_id: str
    ) -> dict[str, Any]:
        media = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}[spec.output_format]
        urls = [
            f"data:{media};base64,{pybase64.b64encode(data).decode('ascii')}" for data, _ in images
        ]
        words = len(spec.prompt.split())
        return {
            "id": generation_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "system_fingerprint": None,
            "model": spec.model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": f"Here is your image of: {spec.prompt}",
                        "images": [
                            {"type": "image_url", "image_url": {"url": url}} for url in urls
                        ],
                    },
                }
            ],
            "usage": {
                "prompt_tokens": words,
                "completion_tokens": 1056 * spec.n,
                "total_tokens": words + 1056 * spec.n,
                "cost": round(0.04 * spec.n, 6),
            },
        }

    def _chat_body(
        self,
        spec: ImageRequest,
        images: list[tuple[bytes, list[bytes]]],
        generation_id: str,
        fault: str | None,
    ) -> bytes:
        return msgspec.json.encode(self._completion(spec, images, generation_id))

    def _chat_stream(
        self,
        spec: ImageRequest,
        images: list[tuple[bytes, list[bytes]]],
        generation_id: str,
        fault: str | None,
    ) -> Iterable[bytes]:
        whole = self._completion(spec, images, generation_id)
        message = whole["choices"][0]["message"]
        head = {k: whole[k] for k in ("id", "created", "model")} | {
            "object": "chat.completion.chunk"
        }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            body = {
                **head,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return encode_event(msgspec.json.encode(body))

        yield chunk({"role": "assistant", "content": ""})
        for word in _words(message["content"]):
            yield chunk({"content": word})
        if fault == "reset":
            raise ConnectionReset
        if fault == "failed":
            yield encode_event(
                msgspec.json.encode(
                    {"error": {"code": 502, "message": "image generation failed (emulated)"}}
                )
            )
            return
        for image in message["images"]:
            yield chunk({"images": [image]})
        if fault == "truncate":
            return
        yield chunk({}, "stop", usage=whole["usage"])
        yield encode_event("[DONE]")

    # -- models --------------------------------------------------------------------------

    async def models(self, request: Request) -> Response:
        data = [
            {
                "id": model_id,
                "canonical_slug": model_id,
                "name": name,
                "created": 1750000000,
                "description": f"{name}, emulated locally with Pillow.",
                "context_length": 32768,
                "architecture": {
                    "modality": "text+image->text+image",
                    "input_modalities": ["text", "image"],
                    "output_modalities": ["image", "text"],
                    "tokenizer": "Other",
                    "instruct_type": None,
                },
                "pricing": {"prompt": "0", "completion": "0", "image": "0.04", "request": "0"},
                "top_provider": {
                    "context_length": 32768,
                    "max_completion_tokens": None,
                    "is_moderated": False,
                },
                "per_request_limits": None,
                "supported_parameters": ["modalities", "image_config", "tools"],
            }
            for model_id, name in MODELS
        ]
        return _json(200, {"data": data})


def _message_events(event: Any, index: int, item: dict[str, Any]) -> Iterable[bytes]:
    text = item["content"][0]["text"]
    ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
    yield event(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    yield event(
        "response.content_part.added",
        **ids,
        part={"type": "output_text", "text": "", "annotations": []},
    )
    for word in _words(text):
        yield event("response.output_text.delta", **ids, delta=word, logprobs=[])
    yield event("response.output_text.done", **ids, text=text, logprobs=[])
    yield event("response.content_part.done", **ids, part=item["content"][0])
    yield event("response.output_item.done", output_index=index, item=item)


def _words(text: str) -> list[str]:
    """`text` in word-sized deltas that join back to exactly `text`."""
    return re.findall(r"\S+\s*|\s+", text)


async def _reset_midway(payload: bytes) -> AsyncIterator[bytes]:
    yield payload[: len(payload) // 2]
    raise ConnectionReset


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app (serve it with any ASGI server)."""
    emulator = Emulator(config or EmulatorConfig())

    async def responses(request: Request) -> Response:
        return await emulator.handle(request, "responses")

    async def chat(request: Request) -> Response:
        return await emulator.handle(request, "chat")

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no route for {request.method} {request.url.path}")

    routes = [
        Route("/api/v1/responses", responses, methods=["POST"]),
        Route("/api/alpha/responses", responses, methods=["POST"]),
        Route("/api/v1/chat/completions", chat, methods=["POST"]),
        Route("/api/v1/models", emulator.models, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.add_exception_handler(404, not_found)
    app.state.emulator = emulator
    return app
