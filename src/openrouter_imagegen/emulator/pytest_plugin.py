"""The `openrouter_emulator` pytest fixture, registered through the `pytest11` entry point.

pytest imports this module in every run where the package is installed, so
it imports nothing heavy itself: the emulator (Starlette, uvicorn, Pillow)
loads only when a test asks for the fixture, and the fixture skips the test
when the `server` extra is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def openrouter_emulator() -> Iterator[str]:
    """The base URL (`http://127.0.0.1:PORT/api/v1`) of an emulator running for the session.

    It needs no key: point a client at it with
    `ImageClient(base_url=openrouter_emulator, api_key="")`, and ask for faults
    with the `X-Emulator-Fault` header.
    """
    for module in ("starlette", "uvicorn", "PIL"):
        pytest.importorskip(module, reason="the emulator needs openrouter-imagegen[server]")
    from openrouter_imagegen.emulator import run

    with run() as base_url:
        yield base_url
