"""The Responses API's output items and the response they arrive in.

Names follow OpenRouter's TypeScript SDK (`@openrouter/sdk/models/operations`),
whose `OutputImageGenerationCall` page is this project's seed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self, TypeVar, Unpack

import msgspec

from openrouter_imagegen.models._base import (
    MISSING,
    Converter,
    KeptWhole,
    OpenUnion,
    WireModel,
    decode_json,
    validation_error,
)

if TYPE_CHECKING:
    from pathlib import Path

    from openrouter_imagegen.images import DownloadOptions, GeneratedImage

__all__ = [
    "IncompleteDetails",
    "Output",
    "OutputAssistant",
    "OutputContent",
    "OutputFileSearchCall",
    "OutputFunctionCall",
    "OutputImageGenerationCall",
    "OutputImageGenerationServerTool",
    "OutputReasoning",
    "OutputRefusalContent",
    "OutputStatusEnum3",
    "OutputTextContent",
    "OutputTypeImageGenerationCall",
    "OutputWebSearchCall",
    "ReasoningText",
    "Response",
    "ResponseError",
    "ResponseStatus",
    "ResponseUsage",
    "UnknownContent",
    "UnknownOutput",
    "parse_response",
]


class OutputTypeImageGenerationCall(StrEnum):
    """The `type` of an image generation call: it has a single value."""

    IMAGE_GENERATION_CALL = "image_generation_call"


class OutputStatusEnum3(StrEnum):
    """The status of an image generation call."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    GENERATING = "generating"
    FAILED = "failed"


class ResponseStatus(StrEnum):
    """The status of a whole response."""

    COMPLETED = "completed"
    INCOMPLETE = "incomplete"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    CANCELLED = "cancelled"
    QUEUED = "queued"


_IMAGE_CALL_STATUSES = ", ".join(repr(s.value) for s in OutputStatusEnum3)


_E = TypeVar("_E", bound=StrEnum)


def _known(enum: type[_E], value: str) -> _E | str:
    """`value` as a member of `enum` when it is one; the raw string otherwise."""
    try:
        return enum(value)
    except ValueError:
        return value


class OutputImageGenerationCall(WireModel, kw_only=True):
    """The seed: one image generation call in a response's `output`.

    `result` is the image: bare base64 on OpenAI-style providers, sometimes a
    `data:` URL or an https URL; None while unfinished or when failed.
    `status` is an `OutputStatusEnum3` member for the four known values and
    the raw string for any other (then `status_known` is False), so that a
    new status value never stops a response from parsing.
    """

    type: OutputTypeImageGenerationCall = OutputTypeImageGenerationCall.IMAGE_GENERATION_CALL
    id: str
    result: str | None = None
    status: str
    prompt: str | None = None
    # Not in the Responses API: the media type a route declared for `result`
    # (OpenRouter's Image API does), kept so the images layer can check it.
    media_type: str | None = None

    __always_emit__: ClassVar[frozenset[str]] = frozenset({"result"})

    def __post_init__(self) -> None:
        # A plain string from a constructor becomes the enum member (or fails, if wrong).
        self.type = OutputTypeImageGenerationCall(self.type)
        if not isinstance(self.status, OutputStatusEnum3):
            self.status = _known(OutputStatusEnum3, self.status)

    @classmethod
    def _convert(cls, data: Any, path: str, strict: bool) -> Self:
        # On the wire `type` is required, even though Python gives it a default.
        if isinstance(data, dict) and data.get("type") != "image_generation_call":
            problem = None if "type" in data else "required field missing"
            found = data.get("type", None) if "type" in data else MISSING
            raise validation_error(f"{path}.type", found, "'image_generation_call'", problem)
        return super()._convert(data, path, strict)

    def _validate(self, path: str, strict: bool) -> None:
        if strict and not self.status_known:
            raise validation_error(f"{path}.status", self.status, f"one of {_IMAGE_CALL_STATUSES}")

    @property
    def status_known(self) -> bool:
        """False when the server sent a status this library does not know."""
        return isinstance(self.status, OutputStatusEnum3)

    def image(self, **options: Unpack[DownloadOptions]) -> GeneratedImage:
        """The decoded image; see `openrouter_imagegen.images.decode_result` for the options."""
        from openrouter_imagegen.images import image_from_call

        return image_from_call(self, **options)


class OutputTextContent(WireModel, kw_only=True):
    """Text in an assistant message."""

    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = msgspec.field(default_factory=list)
    logprobs: list[Any] | None = None


class OutputRefusalContent(WireModel, kw_only=True):
    """A refusal in an assistant message."""

    type: Literal["refusal"] = "refusal"
    refusal: str


class UnknownContent(KeptWhole, kw_only=True):
    """A content part of a kind this library does not model, kept whole in `raw`."""


CONTENT = OpenUnion([OutputTextContent, OutputRefusalContent], UnknownContent)

OutputContent = OutputTextContent | OutputRefusalContent | UnknownContent

if TYPE_CHECKING:
    _ContentList = list[OutputContent]
else:
    # Built by CONTENT, not by msgspec (see WireModel.__converters__).
    _ContentList = Any


class OutputAssistant(WireModel, kw_only=True):
    """An assistant message (`type: "message"`)."""

    type: Literal["message"] = "message"
    id: str | None = None
    role: str = "assistant"
    status: str | None = None
    content: _ContentList = msgspec.field(default_factory=list)
    phase: str | None = None

    __converters__: ClassVar[dict[str, Converter]] = {"content": CONTENT.convert_list}

    @property
    def text(self) -> str:
        """The message's text parts joined."""
        return "".join(part.text for part in self.content if isinstance(part, OutputTextContent))


class ReasoningText(WireModel, kw_only=True):
    """One summary or content part of a reasoning item."""

    type: str = "summary_text"
    text: str = ""


class OutputReasoning(WireModel, kw_only=True):
    """A reasoning item (`type: "reasoning"`)."""

    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[ReasoningText] = msgspec.field(default_factory=list)
    content: list[ReasoningText] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class OutputFunctionCall(WireModel, kw_only=True):
    """A function tool call (`type: "function_call"`)."""

    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str
    name: str
    arguments: str
    namespace: str | None = None
    status: str | None = None


class OutputWebSearchCall(WireModel, kw_only=True):
    """A web search call (`type: "web_search_call"`)."""

    type: Literal["web_search_call"] = "web_search_call"
    id: str
    status: str
    action: dict[str, Any] | None = None


class OutputFileSearchCall(WireModel, kw_only=True):
    """A file search call (`type: "file_search_call"`)."""

    type: Literal["file_search_call"] = "file_search_call"
    id: str
    status: str
    queries: list[str] = msgspec.field(default_factory=list)
    results: list[Any] | None = None


class OutputImageGenerationServerTool(WireModel, kw_only=True):
    """OpenRouter's own image tool (`type: "openrouter:image_generation"`).

    Its `result` is usually an https URL (`image(fetch=True)` downloads it);
    `Response.images()` covers these items too.
    """

    type: Literal["openrouter:image_generation"] = "openrouter:image_generation"
    id: str | None = None
    status: str
    result: str | None = None
    image_url: str | None = msgspec.field(default=None, name="imageUrl")
    image_b64: str | None = msgspec.field(default=None, name="imageB64")
    revised_prompt: str | None = msgspec.field(default=None, name="revisedPrompt")
    prompt: str | None = None

    def image(self, **options: Unpack[DownloadOptions]) -> GeneratedImage:
        """The image; see `openrouter_imagegen.images.decode_result` for the options."""
        from openrouter_imagegen.images import image_from_call

        return image_from_call(self, **options)


class UnknownOutput(KeptWhole, kw_only=True):
    """An output item of a kind this library does not model, kept whole in `raw`.

    The API adds kinds often; keeping them means one new kind never breaks a
    response, and it serialises back unchanged.
    """


OUTPUT = OpenUnion(
    [
        OutputImageGenerationCall,
        OutputAssistant,
        OutputReasoning,
        OutputFunctionCall,
        OutputWebSearchCall,
        OutputFileSearchCall,
        OutputImageGenerationServerTool,
    ],
    UnknownOutput,
)

Output = (
    OutputImageGenerationCall
    | OutputAssistant
    | OutputReasoning
    | OutputFunctionCall
    | OutputWebSearchCall
    | OutputFileSearchCall
    | OutputImageGenerationServerTool
    | UnknownOutput
)

if TYPE_CHECKING:
    _OutputList = list[Output]
else:
    # Built by OUTPUT, not by msgspec (see WireModel.__converters__).
    _OutputList = Any


class ResponseError(WireModel, kw_only=True):
    """The `error` of a failed response."""

    code: str | int | None = None
    message: str | None = None


class IncompleteDetails(WireModel, kw_only=True):
    """Why a response is incomplete."""

    reason: str | None = None


class ResponseUsage(WireModel, kw_only=True):
    """Token counts, and OpenRouter's cost in credits."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None
    cost: int | float | None = None
    is_byok: bool | None = None
    cost_details: dict[str, Any] | None = None


class Response(WireModel, kw_only=True):
    """A Responses API response: `output` and its envelope.

    Only `output` is required on input: providers omit envelope fields freely,
    so every other field is None when absent and comes back absent.
    """

    id: str | None = None
    object: str | None = None
    created_at: int | float | None = None
    completed_at: int | float | None = None
    model: str | None = None
    status: str | None = None
    output: _OutputList
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    usage: ResponseUsage | None = None
    given_output_text: str | None = msgspec.field(default=None, name="output_text")
    instructions: Any = None
    metadata: dict[str, Any] | None = None
    tools: list[Any] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    temperature: int | float | None = None
    top_p: int | float | None = None
    presence_penalty: int | float | None = None
    frequency_penalty: int | float | None = None
    top_logprobs: int | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    previous_response_id: str | None = None
    prompt: Any = None
    reasoning: Any = None
    text: Any = None
    truncation: Any = None
    background: bool | None = None
    store: bool | None = None
    service_tier: str | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    error_type: Any = None
    openrouter_metadata: Any = None

    __converters__: ClassVar[dict[str, Converter]] = {"output": OUTPUT.convert_list}

    def __post_init__(self) -> None:
        if self.status is not None and not isinstance(self.status, ResponseStatus):
            self.status = _known(ResponseStatus, self.status)

    @property
    def generation_id(self) -> str | None:
        """The `X-Generation-Id` the server answered with (None when it sent none).

        Not part of the wire JSON: the clients set it from the response header,
        so the generation can be looked up (and its cost queried) later.
        """
        value = self.__dict__.get("_generation_id")
        return value if isinstance(value, str) else None

    @generation_id.setter
    def generation_id(self, value: str | None) -> None:
        self.__dict__["_generation_id"] = value

    @property
    def generation_request(self) -> dict[str, Any] | None:
        """What the client asked for: `prompt`, `model`, `route` and `options` (JSON
        values). Set by the clients, kept in the images' provenance; not wire JSON."""
        value = self.__dict__.get("_generation_request")
        return value if isinstance(value, dict) else None

    @generation_request.setter
    def generation_request(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_generation_request"] = value

    @property
    def finish_reason(self) -> str | None:
        """Why the generation stopped: chat's `finish_reason` ("stop", "content_filter",
        ...) for a chat completion, else `incomplete_details.reason`. Not wire JSON."""
        value = self.__dict__.get("_finish_reason")
        if isinstance(value, str):
            return value
        details = self.incomplete_details
        return details.reason if details is not None else None

    @finish_reason.setter
    def finish_reason(self, value: str | None) -> None:
        self.__dict__["_finish_reason"] = value

    @property
    def native_finish_reason(self) -> str | None:
        """The provider's own reason for stopping (e.g. "SAFETY"), where a chat
        completion gave one. Not wire JSON."""
        value = self.__dict__.get("_native_finish_reason")
        return value if isinstance(value, str) else None

    @native_finish_reason.setter
    def native_finish_reason(self, value: str | None) -> None:
        self.__dict__["_native_finish_reason"] = value

    @property
    def refusal(self) -> str:
        """The text of the assistant messages' refusal parts, joined ("" when none)."""
        return "".join(
            part.refusal
            for item in self.output
            if isinstance(item, OutputAssistant)
            for part in item.content
            if isinstance(part, OutputRefusalContent)
        )

    @property
    def image_generation_calls(self) -> list[OutputImageGenerationCall]:
        """The image generation calls in `output`, in order."""
        return [item for item in self.output if isinstance(item, OutputImageGenerationCall)]

    @property
    def image_outputs(self) -> list[OutputImageGenerationCall | OutputImageGenerationServerTool]:
        """Every output item that carries an image, in order: the image generation
        calls and OpenRouter's `openrouter:image_generation` tool items."""
        kinds = (OutputImageGenerationCall, OutputImageGenerationServerTool)
        return [item for item in self.output if isinstance(item, kinds)]

    @property
    def output_text(self) -> str:
        """The `output_text` the server sent, else the assistant messages' text joined.

        OpenRouter sends `"output_text": ""` beside messages with real text, so
        an empty value counts as not sent.
        """
        if self.given_output_text:
            return self.given_output_text
        return "".join(item.text for item in self.output if isinstance(item, OutputAssistant))

    def images(
        self, *, strict: bool = False, **options: Unpack[DownloadOptions]
    ) -> list[GeneratedImage]:
        """The image of every item in `image_outputs`, in order; items without one
        are skipped with a warning (`strict=True` raises at the first instead).

        Each image knows where it came from (`GeneratedImage.provenance`), which
        `save()` embeds. See `openrouter_imagegen.images.decode_result` for the
        download options.
        """
        from openrouter_imagegen.images import images_from_calls, with_provenance

        return with_provenance(
            self, images_from_calls(self.image_outputs, strict=strict, **options)
        )

    def save_images(
        self,
        destination: str | Path,
        *,
        strict: bool = False,
        overwrite: bool = False,
        metadata: bool = True,
        sidecar: bool = False,
        **options: Unpack[DownloadOptions],
    ) -> list[Path]:
        """Save every image to `destination`, a directory (created when missing) or
        a file name, with its provenance embedded; see
        `openrouter_imagegen.images.save_all` for the rule and the options."""
        from openrouter_imagegen.images import save_all

        images = self.images(strict=strict, **options)
        return save_all(
            images, destination, overwrite=overwrite, metadata=metadata, sidecar=sidecar
        )


def parse_response(data: bytes | bytearray | memoryview | str, *, strict: bool = False) -> Response:
    """Parse a Responses API response body (JSON) into a `Response`.

    Raises `ValidationError` naming the JSON path (or byte offset for
    malformed JSON) and what was expected.
    """
    return Response._convert(decode_json(data), "$", strict)
