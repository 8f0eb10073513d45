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

Needs the `server` extra. Importing this package loads Starlette and Pillow,
but not uvicorn until a server starts.
"""

from openrouter_imagegen.emulator._app import FAULTS, MODELS, EmulatorConfig, create_app
from openrouter_imagegen.emulator._server import run, serve

__all__ = ["FAULTS", "MODELS", "EmulatorConfig", "create_app", "run", "serve"]
