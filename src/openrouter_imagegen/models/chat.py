"""Chat completions with images, and their normalisation into a `Response`.

Models that speak only `/chat/completions` return images as
`choices[].message.images[].image_url.url` (data URLs or https URLs), and
some put them among the `content` parts instead. `response_from_chat` turns a
completion into the `Response` every route gives: for each choice, one
`OutputImageGenerationCall` per image (those of `images`, then those among
the content parts) and then the assistant message. The stream of completion
chunks is translated by `openrouter_imagegen.stream` into the same items, with
the same ids, however the stream was cut into chunks.
"""

from __future__ import annotations

from typing import Any

import msgspec

from openrouter_imagegen.models._base import WireModel
from openrouter_imagegen.models.operations import (
    IncompleteDetails,
    OutputAssistant,
    OutputImageGenerationCall,
    OutputStatusEnum3,
    OutputTextContent,
    Response,
    ResponseError,
    ResponseUsage,
    UnknownContent,
)

__all__ = [
    "ChatChoice",
    "ChatCompletion",
    "ChatImage",
    "ChatImageNumbering",
    "ChatImageUrl",
    "ChatMessage",
    "ChatUsage",
    "chat_image_call",
    "chat_message_item",
    "chat_usage",
    "response_from_chat",
]


class ChatImageUrl(WireModel, kw_only=True):
    url: str


class ChatImage(WireModel, kw_only=True):
    type: str = "image_url"
    image_url: ChatImageUrl


class ChatMessage(WireModel, kw_only=True):
    """A message, or the delta of one in a chunk.

    `content` is a string, null, or an array of parts (the 2026-08 spec's
    `ChatAssistantMessage` allows all three): `text` parts are the message
    text, `image_url` parts are images like `images`, and parts of any other
    kind are kept in `content` untouched.
    """

    role: str | None = None
    content: str | list[Any] | None = None
    images: list[ChatImage] = msgspec.field(default_factory=list)

    @property
    def text(self) -> str:
        """The message's text: the string content, or its `text` parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(
            part["text"]
            for part in self.content or ()
            if isinstance(part, dict) and part.get("type") == "text"
            if isinstance(part.get("text"), str)
        )

    @property
    def content_image_urls(self) -> list[str]:
        """The URL of every `image_url` content part (a string, or an object with `url`)."""
        urls = []
        for part in self.content if isinstance(self.content, list) else ():
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = part.get("image_url")
                url = url.get("url") if isinstance(url, dict) else url
                if isinstance(url, str) and url:
                    urls.append(url)
        return urls

    @property
    def other_parts(self) -> list[UnknownContent]:
        """Content parts that are neither text nor an image, kept whole."""
        parts = self.content if isinstance(self.content, list) else []
        return [
            UnknownContent(type=str(part.get("type")), raw=part)
            for part in parts
            if isinstance(part, dict) and part.get("type") not in ("text", "image_url")
        ]


class ChatChoice(WireModel, kw_only=True):
    index: int = 0
    message: ChatMessage | None = None
    delta: ChatMessage | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None


class ChatUsage(WireModel, kw_only=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: int | float | None = None


class ChatCompletion(WireModel, kw_only=True):
    """A chat completion, or one chunk of a streamed one."""

    id: str | None = None
    object: str | None = None
    created: int | float | None = None
    model: str | None = None
    choices: list[ChatChoice] = msgspec.field(default_factory=list)
    usage: ChatUsage | None = None
    error: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """OpenRouter reports a failed generation with `error` and `finish_reason: "error"`."""
        return self.error is not None or any(c.finish_reason == "error" for c in self.choices)

    @property
    def failure(self) -> ResponseError:
        """The error of a failed completion: the server's code and message."""
        error = self.error or {}
        code, message = error.get("code"), error.get("message")
        return ResponseError(
            code=code if isinstance(code, str | int) else None,
            message=message if isinstance(message, str) and message else "the generation failed",
        )

    def envelope(self, status: str, output: list[Any]) -> Response:
        """A `Response` with this completion's envelope around `output`.

        A content filter makes it `incomplete` (as the Responses API reports
        one); the choices' finish reasons are kept on the response.
        """
        failure = self.failure if self.failed else None
        choices = sorted(self.choices, key=lambda choice: choice.index)
        finish = next((c.finish_reason for c in choices if c.finish_reason), None)
        native = next((c.native_finish_reason for c in choices if c.native_finish_reason), None)
        filtered = finish == "content_filter" and failure is None
        response = Response(
            id=self.id,
            object="response",
            created_at=self.created,
            model=self.model,
            status="failed" if failure else "incomplete" if filtered else status,
            output=output,
            error=failure,
            incomplete_details=IncompleteDetails(reason="content_filter") if filtered else None,
            usage=chat_usage(self.usage),
        )
        response.finish_reason = finish
        response.native_finish_reason = native
        return response


def chat_usage(usage: ChatUsage | None) -> ResponseUsage | None:
    """Chat token counts in the Responses API's names."""
    if usage is None:
        return None
    return ResponseUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost=usage.cost,
    )


def chat_image_call(
    completion_id: str, number: int, url: str, *, choice_index: int = 0, in_content: bool = False
) -> OutputImageGenerationCall:
    """The image call for the `number`th image of a choice's `images` (or, with
    `in_content`, of its `image_url` content parts).

    The id, `{completion id}-image-{number}` for the first choice's `images`,
    names where the image was and nothing else, so a completion's images get
    the same ids streamed or not, whatever chunks carried them.
    """
    choice = f"-choice-{choice_index}" if choice_index else ""
    source = "-content" if in_content else ""
    return OutputImageGenerationCall(
        id=f"{completion_id}{choice}{source}-image-{number}",
        status=OutputStatusEnum3.COMPLETED,
        result=url,
    )


class ChatImageNumbering:
    """Numbers the images of one completion as its messages (or deltas) arrive.

    Each choice numbers the images of its `images` and those of its content
    parts apart: both arrive in order, but a stream may interleave them.
    """

    def __init__(self, completion_id: str) -> None:
        self.completion_id = completion_id
        self._counts: dict[tuple[int, bool], int] = {}

    def calls(
        self, choice_index: int, message: ChatMessage
    ) -> tuple[list[OutputImageGenerationCall], list[OutputImageGenerationCall]]:
        """The calls for the next images of a choice: those of `images`, those of its content."""
        return (
            self._number(choice_index, False, [image.image_url.url for image in message.images]),
            self._number(choice_index, True, message.content_image_urls),
        )

    def _number(
        self, choice_index: int, in_content: bool, urls: list[str]
    ) -> list[OutputImageGenerationCall]:
        first = self._counts.get((choice_index, in_content), 0)
        self._counts[choice_index, in_content] = first + len(urls)
        return [
            chat_image_call(
                self.completion_id,
                first + offset,
                url,
                choice_index=choice_index,
                in_content=in_content,
            )
            for offset, url in enumerate(urls)
        ]


def chat_message_item(
    completion_id: str, choice_index: int, text: str, others: list[UnknownContent] | None = None
) -> OutputAssistant:
    """The assistant message item for a choice's text (and parts of unknown kinds)."""
    return OutputAssistant(
        id=f"{completion_id}-message-{choice_index}",
        status="completed",
        content=[OutputTextContent(text=text), *(others or ())],
    )


def response_from_chat(body: Any) -> Response:
    """A chat completion (decoded JSON) as a `Response`."""
    completion = ChatCompletion.from_dict(body)
    completion_id = completion.id or "chatcmpl"
    numbering = ChatImageNumbering(completion_id)
    output: list[Any] = []
    for choice in sorted(completion.choices, key=lambda choice: choice.index):
        message = choice.message
        if message is None:
            continue
        images, content_images = numbering.calls(choice.index, message)
        output += images + content_images
        others = message.other_parts
        if message.text or others:
            output.append(chat_message_item(completion_id, choice.index, message.text, others))
    return completion.envelope("completed", output)
