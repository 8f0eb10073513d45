"""Suites over real HTTP on 127.0.0.1: the emulator's throughput, client overhead, batch throughput."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._timing import Table, human_seconds

MODEL = "openai/gpt-5-image"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator in its own process, so it does not share a GIL with the client measured."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openrouter_imagegen.emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/models", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the emulator did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _body(prompt: str, size: str) -> dict[str, object]:
    return {"model": MODEL, "input": prompt, "tools": [{"type": "image_generation", "size": size}]}


async def _load(url: str, clients: int, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))

    async def worker(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            reply = await http.post(
                f"{url}/responses", json=_body(f"load {next(counter)}", "256x256")
            )
            reply.raise_for_status()
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(clients)))
    return latencies


def emulator_suite(quick: bool) -> Table:
    seconds = 2.0 if quick else 6.0
    table = Table(
        "emulator: non-streaming 256x256 PNG, 32 concurrent clients, a new prompt per request",
        ("value", "", "target", "ok"),
    )
    with emulator_process() as url:
        asyncio.run(_load(url, 32, 0.5))  # warm up
        latencies = asyncio.run(_load(url, 32, seconds))
    rate = len(latencies) / seconds
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
    table.add("requests/s", rate, f"{rate:.0f}", "", ">= 200", rate >= 200)
    table.add("p50 latency", p50, human_seconds(p50))
    table.add("p99 latency", p99, human_seconds(p99))
    table.notes.append(
        "the load generator runs in this process; the emulator in its own (one uvicorn worker)"
    )
    return table


def _per_request(cases: dict[str, Any], count: int) -> dict[str, float]:
    """Median seconds per request of each case, the cases interleaved so drift hits all alike."""
    for run in cases.values():
        for _ in range(5):
            run()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(count):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def client_suite(quick: bool) -> Table:
    import msgspec
    import openai
    from openrouter import OpenRouter

    from openrouter_imagegen import ImageClient

    count = 30 if quick else 300
    prompt, size = "client overhead", "256x256"
    table = Table(
        f"one non-streaming request against the emulator ({size} PNG), median of {count}",
        ("median", "ratio", "target", "ok"),
    )
    with emulator_process() as url, httpx.Client(timeout=60) as bare_http:
        bare_body = _body(prompt, size) | {"modalities": ["image", "text"]}

        def bare() -> object:
            return msgspec.json.decode(bare_http.post(f"{url}/responses", json=bare_body).content)

        mine = ImageClient(base_url=url, api_key="bench")
        sdk = OpenRouter(api_key="bench", server_url=url)
        oai = openai.OpenAI(api_key="bench", base_url=url, max_retries=0)
        tool: Any = [{"type": "image_generation", "size": size}]
        cases = {
            "bare httpx.post + msgspec": bare,
            "openrouter-imagegen ImageClient": lambda: mine.generate(
                prompt, model=MODEL, size=size
            ),
            "openrouter SDK responses.send": lambda: sdk.responses.send(
                model=MODEL, input=prompt, tools=tool, modalities=["image", "text"]
            ),
            "openai SDK responses.create": lambda: oai.responses.create(
                model=MODEL, input=prompt, tools=tool
            ),
        }
        seconds = _per_request(cases, count)
        mine.close()
    base, ours = seconds["bare httpx.post + msgspec"], seconds["openrouter-imagegen ImageClient"]
    for name, value in seconds.items():
        target, ok = "", None
        if name.startswith("openrouter-imagegen"):
            target, ok = "<= 1.2x bare", value <= 1.2 * base
        elif "SDK" in name:
            target, ok = ">= 2x ours", value >= 2 * ours
        table.add(name, value, human_seconds(value), f"{value / base:.2f}x bare", target, ok)
    table.notes.append(
        "same emulator process, same prompt (its render is cached), sequential requests"
    )
    return table


def batch_suite(quick: bool) -> Table:
    count = 40 if quick else 100
    table = Table(
        f"`openrouter-imagegen batch` of {count} prompts (256x256) against the emulator",
        ("images/s", "wall", "", ""),
    )
    with emulator_process() as url, tempfile.TemporaryDirectory() as folder:
        prompts = Path(folder) / "prompts.jsonl"
        prompts.write_text(
            "\n".join(json.dumps({"prompt": f"batch {i}", "size": "256x256"}) for i in range(count))
        )
        env = {**os.environ, "OPENROUTER_BASE_URL": url}
        for concurrency in (1, 8, 32):
            out = Path(folder) / f"out-{concurrency}"
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "openrouter_imagegen.cli", "batch", str(prompts), "-o", str(out),
                 "--concurrency", str(concurrency)],
                env=env, check=True, capture_output=True,
            )  # fmt: skip
            wall = time.perf_counter() - start
            images = len(list(out.glob("*.png")))
            assert images == count, images
            table.add(
                f"concurrency {concurrency}",
                images / wall,
                f"{images / wall:.1f}",
                human_seconds(wall),
            )
    table.notes.append("wall time of the whole command, interpreter start-up included")
    return table
