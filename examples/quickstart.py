"""Generate one image and save it.

Runs against real OpenRouter when OPENROUTER_API_KEY is set; otherwise it
starts the local emulator, so it works offline:

    python examples/quickstart.py "a lighthouse at dusk" out/
"""

from __future__ import annotations

import contextlib
import os
import sys

from openrouter_imagegen import ImageClient


def main(prompt: str, directory: str) -> None:
    with contextlib.ExitStack() as stack:
        base_url = os.environ.get("OPENROUTER_BASE_URL")
        if not os.environ.get("OPENROUTER_API_KEY") and not base_url:
            from openrouter_imagegen.emulator import run

            base_url = stack.enter_context(run())
        client = stack.enter_context(ImageClient(base_url=base_url))
        response = client.generate(prompt, model="openai/gpt-5-image", size="1024x1024")
        for path, image in zip(
            client.save_images(response, directory), response.images(), strict=True
        ):
            size = f"{image.width}x{image.height}"
            print(f"{path}: {image.media_type}, {size}, {len(image.data):,} bytes")


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["a lighthouse at dusk, oil painting", "out"]))
