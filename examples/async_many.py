"""Generate several images concurrently with the async client.

python examples/async_many.py out/ "a red fox" "a blue whale" "a green owl"
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from openrouter_imagegen import APIError, AsyncImageClient


async def generate_all(base_url: str | None, directory: str, prompts: list[str]) -> None:
    async with AsyncImageClient(base_url=base_url, max_retries=3) as client:

        async def one(prompt: str) -> None:
            try:
                response = await client.generate(prompt, model="openai/gpt-5-image", size="512x512")
            except APIError as exc:  # typed errors: status code, body and generation id
                print(f"{prompt!r} failed: {exc} (generation {exc.generation_id})")
                return
            for path in await client.save_images(response, directory, overwrite=True):
                print(f"{prompt!r}: {path}")

        await asyncio.gather(*(one(prompt) for prompt in prompts))


def main(directory: str, *prompts: str) -> None:
    with contextlib.ExitStack() as stack:
        base_url = os.environ.get("OPENROUTER_BASE_URL")
        if not os.environ.get("OPENROUTER_API_KEY") and not base_url:
            from openrouter_imagegen.emulator import run

            base_url = stack.enter_context(run())
        asyncio.run(
            generate_all(base_url, directory, list(prompts) or ["a red fox", "a blue whale"])
        )


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["out"]))
