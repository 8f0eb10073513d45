"""Generate the sync client from the async one, as httpcore does.

`src/openrouter_imagegen/client/_async.py` is the only hand-written client;
this script rewrites it token by token into `_sync.py`, so the two halves
cannot drift. `--check` (run by `make lint` and the test-suite) fails when
the generated file is not current.

    python scripts/unasync.py          # write _sync.py
    python scripts/unasync.py --check  # exit 1 if _sync.py is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1] / "src" / "openrouter_imagegen" / "client"
SOURCE, TARGET = CLIENT / "_async.py", CLIENT / "_sync.py"

HEADER = (
    "# Generated from _async.py by scripts/unasync.py: edit that file, then run\n"
    "# `python scripts/unasync.py`. `make lint` and the tests check this file is current.\n"
)

# Applied in order; each is (pattern, replacement) on whole words.
RULES: list[tuple[str, str]] = [
    (r"AsyncGenerator\[(\w+), None\]", r"Generator[\1, None, None]"),
    (r"\bAsyncImageClient\b", "ImageClient"),
    (r"\bAsyncImageStream\b", "ImageStream"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncGenerator\b", "Generator"),
    (r"\bhttpx\.AsyncClient\b", "httpx.Client"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"^import asyncio$", "import time"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\baread\b", "read"),
    (r"\baclose\b", "close"),
    (r"\baimage_from_call\b", "image_from_call"),
    (r"\baimages_from_calls\b", "images_from_calls"),
    (r"\bthe asynchronous client\b", "the synchronous client"),
]


def generate(source: str) -> str:
    text = source
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return HEADER + text


def main(argv: list[str]) -> int:
    generated = generate(SOURCE.read_text(encoding="utf-8"))
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != generated:
            print(f"{TARGET} is stale: run `python scripts/unasync.py`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(generated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
