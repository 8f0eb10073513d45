"""OpenRouter's image routes, and the one `Response` shape each body becomes."""

from __future__ import annotations

from typing import Any, Literal

from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.chat import response_from_chat
from openrouter_imagegen.models.operations import Response

__all__ = ["ROUTE_PATHS", "Route", "error_of_body", "parse_body", "response_from_body"]

Route = Literal["responses", "chat", "images"]

# Each route's generation path, relative to the API's base URL.
ROUTE_PATHS: dict[Route, str] = {
    "responses": "/responses",
    "chat": "/chat/completions",
    "images": "/images",
}


def error_of_body(body: Any) -> dict[str, Any] | None:
    """The `error` object of a body that reports an error instead of a result.

    OpenRouter answers some failures with a 200 whose body is only
    `{"error": {...}}`; a response or completion that merely carries an
    `error` field beside its result is not one of them.
    """
    if not isinstance(body, dict) or "error" not in body:
        return None
    if any(key in body for key in ("output", "choices", "data")):
        return None
    error = body["error"]
    return error if isinstance(error, dict) else {"message": str(error)}


def response_from_body(route: Route, body: Any, *, generation_id: str | None = None) -> Response:
    """A decoded 2xx body of `route` as the `Response` every route gives.

    `generation_id` (the `X-Generation-Id` header) is kept on the result.
    """
    if route == "chat":
        response = response_from_chat(body)
    elif route == "images":
        from openrouter_imagegen.models.images import response_from_image_generation

        response = response_from_image_generation(body, generation_id=generation_id)
    else:
        response = Response.from_dict(body)
    response.generation_id = generation_id
    return response


def parse_body(
    route: Route, data: bytes | bytearray | memoryview | str, *, generation_id: str | None = None
) -> Response:
    """The JSON body of a 2xx answer of `route` as a `Response` (see `response_from_body`).

    Raises `ValidationError` naming the byte offset or JSON path of what is wrong.
    """
    return response_from_body(route, decode_json(data), generation_id=generation_id)
