"""The emulator as a package: its pytest plugin, its import cost, `python -m`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest
from _emulator import MODEL

pytest.importorskip("starlette")
pytest.importorskip("PIL")


def test_pytest_plugin_fixture_serves_a_client(openrouter_emulator: str) -> None:
    from openrouter_imagegen import ImageClient

    assert openrouter_emulator.startswith("http://127.0.0.1:")
    with ImageClient(base_url=openrouter_emulator, api_key="") as client:
        response = client.generate("from the fixture", model=MODEL, size="32x32")
    assert response.images()[0].width == 32


# -- the package and its command ------------------------------------------------------------


def test_importing_the_package_and_plugin_loads_no_server() -> None:
    code = (
        "import sys, openrouter_imagegen.emulator, openrouter_imagegen.emulator.pytest_plugin\n"
        "print(sorted({'starlette', 'uvicorn', 'PIL'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_python_dash_m_serves_and_refuses_a_remote_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "openrouter_imagegen.emulator", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/models", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        assert reply.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    refused = subprocess.run(
        [*command, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=20
    )
    assert refused.returncode == 2
    assert "allow_remote" in refused.stderr
