"""A local OpenRouter-compatible image server (Starlette + uvicorn + Pillow).

It renders real, deterministic images from the prompt, streams partial
images, and injects faults on demand: the offline default for the demo, this
project's tests, and your own.

```python
from openrouter_imagegen import ImageClient
from openrouter_imagegen.emulator import run

with run() as base_url, ImageClient(base_url=base_url) as client:
    client.generate("a red fox", model="openai/gpt-5-image").save_images("out/")
```

It serves `/responses`, `/chat/completions` and `GET /models` for the chat
models (`MODELS`; `?output_modalities=image` lists the image-only ones too),
and the Image API, `POST /images` with `GET /images/models` and
`GET /images/models/{author}/{slug}/endpoints`, for `IMAGE_MODELS`: a
streaming model, per-image and per-megapixel pricing, seeds and resolution
tiers, and SVG.

Faults on the generation endpoints, by request header or per server
(`run(faults=..., fault_rate=...)`):

- `429`, `500`, `502`, `503`, `402`, `403`, `413`, `524`, `529`: that status
  with an OpenRouter error body (`429` with `Retry-After`);
- `timeout`: no answer for `hold_seconds` (30), or until the client leaves;
- `slow`: the first byte comes after `slow_seconds` (1);
- `reset`: the connection drops mid-body (a stream, after its first preview);
- `truncate`: the body ends early but cleanly (a stream, before the image
  completes: no `response.completed`, no `[DONE]`);
- `failed`: the image calls end with status `failed` and no result
  (`response.failed` in a Responses stream, an `error` chunk in a chat stream;
  on `/images`, a `502`, or an `error` event in a stream).

The header `X-Emulator-Fault: NAME*N` faults only the first `N` requests that
carry the same `X-Emulator-Request-Key` header, so that retries recover.

Serving a browser is not its job, and it guards against one: it answers
only `Host` names of its own address (DNS rebinding), refuses cross-site
`Origin`s and POSTs that are not JSON, and bounds what a request can cost:
bodies over `MAX_BODY_BYTES` (413), prompts over `MAX_PROMPT_CHARS` (400),
connections that never finish sending a request, and too many connections.

For new users: `run(url_results=True)` answers with URLs the emulator serves
itself, an edit (a request with an input image) starts from that image, and
`run(log_requests=True)` yields a URL whose `.requests` lists what was sent:

```python
with run(log_requests=True) as base_url:
    ...
    assert base_url.requests[-1].body["model"] == "openai/gpt-5-image"
```

Needs the `server` extra, but only once an emulator is made: importing this
package loads neither Starlette, Pillow nor uvicorn.
"""

from openrouter_imagegen._public import publish
from openrouter_imagegen.emulator._catalog import IMAGE_MODELS, MODELS
from openrouter_imagegen.emulator._faults import FAULTS
from openrouter_imagegen.emulator._log import LoggedRequest
from openrouter_imagegen.emulator._requests import MAX_PROMPT_CHARS
from openrouter_imagegen.emulator._server import (
    LOOPBACK_HOSTS,
    MAX_BODY_BYTES,
    EmulatorURL,
    create_app,
    run,
    serve,
)

__all__ = [
    "FAULTS",
    "IMAGE_MODELS",
    "LOOPBACK_HOSTS",
    "MAX_BODY_BYTES",
    "MAX_PROMPT_CHARS",
    "MODELS",
    "EmulatorURL",
    "LoggedRequest",
    "create_app",
    "run",
    "serve",
]

publish(globals(), __all__, __name__)
