"""Stream a generation and save each partial image as it arrives.

python examples/streaming.py "a castle in fog" out/
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from openrouter_imagegen import ImageClient, StreamError


def main(prompt: str, directory: str) -> None:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        base_url = os.environ.get("OPENROUTER_BASE_URL")
        if not os.environ.get("OPENROUTER_API_KEY") and not base_url:
            from openrouter_imagegen.emulator import run

            base_url = stack.enter_context(run())
        client = stack.enter_context(ImageClient(base_url=base_url))
        try:
            with client.stream(
                prompt, model="openai/gpt-image-1", partial_images=2, size="512x512"
            ) as stream:
                for update in stream:
                    preview = update.partial_image
                    if preview is not None:
                        path = preview.image().save(
                            folder / f"preview-{preview.partial_image_index}.png", overwrite=True
                        )
                        print(f"partial image {preview.partial_image_index}: {path}")
                response = stream.final_response()
        except StreamError as exc:
            # Nothing received is lost: the previews and the last snapshot come with the error.
            print(f"the stream failed ({exc}); {len(exc.partial_images)} partial image(s) kept")
            raise SystemExit(1) from None
        for path in client.save_images(response, folder, overwrite=True):
            print(f"final image: {path}")


if __name__ == "__main__":
    main(*(sys.argv[1:] or ["a castle in fog", "out"]))
