"""Batches that scale: images/s at 64, 256 and 512 in flight against a 1 s server, and the
peak memory of a batch at 1,000 and 100,000 items.

The rate is measured at the server, which runs in its own process: generation answers
sent over the span from the first generation request's arrival to the last answer. A
server that answers in 1 s can do at best `in_flight` per second, and a batch of `n`
items needs ceil(n / in_flight) seconds of it: that is the ideal each rate is held to.

`python -m bench._batch serve trivial|emulator PORT DELAY` runs a server;
`python -m bench._batch memory ITEMS FOLDER` runs one memory case.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._network import _free_port
from bench._timing import Table

_STATS_PATH = "/__stats"  # answers the timings so far as JSON, and forgets them
_IMAGE_MODEL = "openai/gpt-image-1"  # on the emulator's Image API catalogue
_RATE_TARGET = 0.8  # of the ideal, at 256 in flight
_MEMORY_GROWTH_TARGET = 1.25  # peak RSS at 100,000 items over that at 1,000


def _tiny_png() -> bytes:
    """A valid 1x1 grey PNG, made here rather than stored."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)  # 1x1, 8-bit greyscale
    pixels = zlib.compress(b"\x00\x80")  # filter byte, one pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _image_body() -> bytes:
    import base64

    png = base64.b64encode(_tiny_png()).decode("ascii")
    return json.dumps({"created": 1_800_000_000, "data": [{"b64_json": png}]}).encode()


# -- the servers (each in its own process) --------------------------------------------------


@dataclass
class _Timings:
    """When each generation request arrived and when each answer went, monotonic seconds."""

    arrivals: list[float] = field(default_factory=list)
    answers: list[float] = field(default_factory=list)

    def take(self) -> bytes:
        taken = json.dumps({"arrivals": self.arrivals, "answers": self.answers}).encode()
        self.arrivals, self.answers = [], []
        return taken


def _response(status: str, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-generation-id: gen-bench\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _trivial_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timings: _Timings, delay: float
) -> None:
    """HTTP/1.1 with keep-alive: `POST /api/v1/images` answers an image after `delay`."""
    image = _image_body()
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            if method == "POST" and target == "/api/v1/images":
                timings.arrivals.append(time.monotonic())
                await asyncio.sleep(delay)
                writer.write(_response("200 OK", image))
                timings.answers.append(time.monotonic())
            elif target == _STATS_PATH:
                writer.write(_response("200 OK", timings.take()))
            else:
                writer.write(_response("404 Not Found", b'{"error": {"code": 404}}'))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_trivial(port: int, delay: float) -> None:
    timings = _Timings()
    server = await asyncio.start_server(
        lambda r, w: _trivial_connection(r, w, timings, delay), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


_Scope = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
_Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _Timed:
    """ASGI middleware: times every POST (a generation) and answers `/__stats`."""

    def __init__(self, app: Any, timings: _Timings) -> None:
        self.app = app
        self.timings = timings

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] == "http" and scope["path"] == _STATS_PATH:
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": self.timings.take()})
        elif scope["type"] == "http" and scope["method"] == "POST":
            self.timings.arrivals.append(time.monotonic())

            async def timed_send(message: MutableMapping[str, Any]) -> None:
                await send(message)
                if message["type"] == "http.response.body" and not message.get("more_body"):
                    self.timings.answers.append(time.monotonic())

            await self.app(scope, receive, timed_send)
        else:
            await self.app(scope, receive, send)


def _serve_emulator(port: int, delay: float) -> None:
    """The emulator's app with every generation delayed `delay` (its `slow` fault)."""
    import uvicorn

    from openrouter_imagegen.emulator import create_app

    app = create_app(faults=("slow",), fault_rate=1.0, slow_seconds=delay)
    config = uvicorn.Config(
        _Timed(app, _Timings()), host="127.0.0.1", port=port, backlog=4096,
        access_log=False, log_level="warning", lifespan="off",
    )  # fmt: skip
    uvicorn.Server(config).run()


@contextlib.contextmanager
def _server(kind: str, delay: float) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._batch", "serve", kind, str(port), str(delay)],
        cwd=Path(__file__).resolve().parents[1],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + _STATS_PATH, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _rate(url: str) -> tuple[int, float]:
    """Answers sent since the last look, and their rate from the first arrival to the last."""
    timings = httpx.get(url + _STATS_PATH, timeout=10).json()
    answers, arrivals = timings["answers"], timings["arrivals"]
    if not answers:
        return 0, 0.0
    return len(answers), len(answers) / (max(answers) - min(arrivals))


# -- the clients ------------------------------------------------------------------------------


def _batch(url: str, folder: Path, in_flight: int, items: int, emulator: bool) -> float:
    """`openrouter-imagegen batch` as a user runs it; its rate measured at the server."""
    prompts = folder / f"prompts-{in_flight}.jsonl"
    lines = (
        json.dumps({"prompt": f"scale {in_flight} {i}", "size": "256x256"}) for i in range(items)
    )
    prompts.write_text("\n".join(lines) + "\n")
    out = folder / f"out-{'emulator' if emulator else 'trivial'}-{in_flight}"
    # The trivial server has no catalogue: the route is named and nothing checked.
    route = [] if emulator else ["--endpoint", "images", "--no-check"]
    _rate(url)  # forget the timings of anything before
    done = subprocess.run(
        [sys.executable, "-m", "openrouter_imagegen.cli", "batch", str(prompts), "-o", str(out),
         "--concurrency", str(in_flight), "--model", _IMAGE_MODEL, *route],
        env={**os.environ, "OPENROUTER_BASE_URL": f"{url}/api/v1"}, capture_output=True,
        text=True,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"the batch failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    written = len(list(out.glob("*.png")))
    answered, rate = _rate(url)
    assert written == items == answered, (written, items, answered)
    return rate


async def _streams(port: int, in_flight: int, items: int) -> None:
    """The floor: plain asyncio streams, a kept-alive connection per request in flight, the
    same bodies as the batch's (a new prompt each: the emulator draws and caches each), each
    answer's JSON decoded and dropped."""
    left = iter(range(items))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for number in left:
            body = json.dumps(
                {"model": _IMAGE_MODEL, "prompt": f"floor {in_flight} {number}", "size": "256x256"}
            ).encode()
            writer.write(
                b"POST /api/v1/images HTTP/1.1\r\nhost: 127.0.0.1\r\n"
                b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            json.loads(await reader.readexactly(length))
        writer.close()

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def _one_pool(url: str, in_flight: int, items: int) -> None:
    """asyncio and httpx as the docs show them: one client, its pool as wide as the load."""
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    left = iter(range(items))
    body = {"model": _IMAGE_MODEL, "prompt": "floor"}

    async def worker(http: httpx.AsyncClient) -> None:
        for _ in left:
            answer = await http.post(f"{url}/api/v1/images", json=body)
            answer.raise_for_status()
            answer.json()

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(in_flight)))


def _floor(url: str, in_flight: int, items: int, *, httpx_pool: bool) -> float:
    _rate(url)
    if httpx_pool:
        asyncio.run(_one_pool(url, in_flight, items))
    else:
        asyncio.run(_streams(int(url.rsplit(":", 1)[1]), in_flight, items))
    answered, rate = _rate(url)
    assert answered == items, (answered, items)
    return rate


# -- memory --------------------------------------------------------------------------------------


class _Instant:
    """A client whose every generation answers at once with the same one-image response."""

    def __init__(self) -> None:
        import msgspec

        self.body = msgspec.json.decode(_image_body())

    async def generate(self, prompt: str, **options: Any) -> Any:
        from openrouter_imagegen.models.routes import response_from_body

        await asyncio.sleep(0)
        return response_from_body("images", self.body, generation_id="gen-bench")


def _reset_peak() -> None:
    """Start the RSS high-water mark afresh (Linux; elsewhere it counts from the start)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss() -> int:
    with contextlib.suppress(OSError):
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux's unit: KiB


def _memory_case(items: int, folder: Path) -> int:
    """Peak RSS in bytes while this process runs a batch of `items` (printed), counted after
    the imports and a small batch: what the run holds, not what loading the code took."""
    from openrouter_imagegen.cli._batch import BatchReport, run_batch

    async def batch(count: int, name: str) -> BatchReport:
        prompts = folder / f"{name}.jsonl"
        with prompts.open("w") as file:
            for i in range(count):
                file.write(json.dumps({"prompt": f"{name} {i}", "size": "256x256"}) + "\n")
        report = BatchReport()
        await run_batch(
            prompts, folder / name, client=_Instant(), default_model=_IMAGE_MODEL,
            concurrency=64, report=report,
        )  # fmt: skip
        assert report.done == count, report
        return report

    asyncio.run(batch(100, "warm-up"))
    _reset_peak()
    asyncio.run(batch(items, "measured"))
    return _peak_rss()


def _peak_memory(items: int) -> int:
    # tmpfs where there is one: the disk's speed is not what is measured here.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        done = subprocess.run(
            [sys.executable, "-m", "bench._batch", "memory", str(items), folder],
            cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True,
        )  # fmt: skip
    return int(done.stdout)


# -- the suite --------------------------------------------------------------------------------


def scale_suite(quick: bool) -> Table:
    delay = 1.0
    # Items per row: enough whole seconds of the 1 s server to smooth the start and the end.
    items = {64: 384, 256: 1024, 512: 2048} if quick else {64: 640, 256: 4000, 512: 4000}
    table = Table(
        f"batch at scale: images/s against a server answering in {delay:.0f} s, "
        "measured at the server",
        ("value", "of ideal", "target", "ok"),
    )
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for kind in ("trivial", "emulator"):
            with _server(kind, delay) as url:
                floors = {}
                for in_flight, count in items.items():
                    ideal = count / math.ceil(count / in_flight) / delay
                    floors[in_flight] = rate = _floor(url, in_flight, count, httpx_pool=False)
                    table.add(
                        f"{kind} server, plain asyncio streams, {in_flight} in flight",
                        rate, f"{rate:.0f} answers/s", f"{rate / ideal:.0%}",
                    )  # fmt: skip
                for in_flight, count in items.items():
                    ideal = count / math.ceil(count / in_flight) / delay
                    rate = _batch(url, folder, in_flight, count, kind == "emulator")
                    target, ok = "", None
                    if in_flight == 256 and kind == "trivial":
                        target, ok = f">= {_RATE_TARGET:.0%}", rate >= _RATE_TARGET * ideal
                    elif in_flight == 256:  # the emulator cannot serve the ideal here
                        target = f">= {_RATE_TARGET:.0%} of floor"
                        ok = rate >= _RATE_TARGET * floors[in_flight]
                    table.add(
                        f"{kind} server, batch of {count} at {in_flight} in flight", rate,
                        f"{rate:.0f} images/s",
                        f"{rate / ideal:.0%} ({rate / floors[in_flight]:.0%} of floor)",
                        target, ok,
                    )  # fmt: skip
                if kind == "trivial":  # one wide pool is slow: a few waves show it
                    count = 4 * 256
                    rate = _floor(url, 256, count, httpx_pool=True)
                    table.add(
                        "trivial server, plain asyncio + one httpx pool, 256 in flight",
                        rate, f"{rate:.0f} answers/s", f"{rate / 256 * delay:.0%}",
                    )  # fmt: skip
    sizes = (1_000, 10_000) if quick else (1_000, 100_000)
    peaks = [_peak_memory(size) for size in sizes]
    for size, peak in zip(sizes, peaks, strict=True):
        target, ok = "", None
        if size == sizes[-1]:
            growth = peak / peaks[0]
            target, ok = (
                f"<= {_MEMORY_GROWTH_TARGET}x {sizes[0]:,}",
                growth <= _MEMORY_GROWTH_TARGET,
            )
        table.add(
            f"peak RSS, batch of {size:,} items", peak, f"{peak / 2**20:.0f} MiB",
            f"{peak / peaks[0]:.2f}x", target, ok,
        )  # fmt: skip
    table.notes += [
        "rate: answers / (last answer - first generation request), at the server; ideal: "
        "items / ceil(items / in_flight) per second",
        "the batch is the CLI in its own process (the emulator's route through its catalogue; "
        "the trivial server's named with --endpoint images --no-check); the floor is plain "
        "asyncio streams against the same server: the emulator, drawing each image in "
        "Python on the same two cores, cannot serve the ideal, so its target is the floor's",
        "peak RSS: a fresh process running run_batch with a client that answers at once "
        "(no HTTP), output on tmpfs, its high-water mark reset after the imports and a "
        "100-item warm-up: the prompts file, the engine, the manifest and the writes",
    ]
    return table


def main() -> None:
    command, *args = sys.argv[1:]
    if command == "serve":
        kind, port, delay = args[0], int(args[1]), float(args[2])
        if kind == "trivial":
            asyncio.run(_serve_trivial(port, delay))
        else:
            _serve_emulator(port, delay)
    elif command == "memory":
        print(_memory_case(int(args[0]), Path(args[1])))
    else:
        raise SystemExit(f"unknown command {command!r}: expected serve or memory")


if __name__ == "__main__":
    main()
