"""What lets a batch scale, tested for what it does (its speed is the benchmarks' to show):
the sharded transport, and the writer thread's order of durability under a crash.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("click")

from openrouter_imagegen.cli import _batch
from openrouter_imagegen.client._pool import ShardedTransport

# -- the sharded transport -------------------------------------------------------------------


class _HoldingServer:
    """HTTP/1.1 on 127.0.0.1 that holds every request until `release` is set, then answers
    each with the port of the connection it came on."""

    def __init__(self) -> None:
        self.ports: list[int] = []  # one per request, in arrival order
        self.open_connections = 0
        self.release = asyncio.Event()
        self.arrived = asyncio.Condition()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("peername")[1]
        self.open_connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                async with self.arrived:
                    self.ports.append(port)
                    self.arrived.notify_all()
                await self.release.wait()
                body = str(port).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()

    async def wait_for(self, count: int) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: len(self.ports) >= count), 10)


@pytest.mark.anyio
async def test_requests_spread_over_the_least_busy_pools_and_their_connections_stay_open() -> None:
    holding = _HoldingServer()
    server = await asyncio.start_server(holding.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    transport = ShardedTransport(12, per_shard=4)
    assert transport.shards == 3
    async with server, httpx.AsyncClient(transport=transport) as http:
        # 12 at once fill the 3 pools of 4 exactly: each gets a connection of its own,
        # none waits behind another.
        first = [asyncio.create_task(http.get(url)) for _ in range(12)]
        await holding.wait_for(12)
        assert len(set(holding.ports)) == 12
        holding.release.set()
        answers = await asyncio.gather(*first)
        assert sorted(int(answer.text) for answer in answers) == sorted(holding.ports)
        # A second round reuses those connections: keep-alive is as wide as each pool.
        second = await asyncio.gather(*(http.get(url) for _ in range(12)))
        assert {int(answer.text) for answer in second} <= set(holding.ports[:12])
        assert holding.open_connections == 12
    await asyncio.sleep(0.1)  # the server sees the closes
    assert holding.open_connections == 0  # closing the client closed every pool


@pytest.mark.anyio
async def test_a_response_counts_as_in_flight_until_it_is_closed() -> None:
    holding = _HoldingServer()
    holding.release.set()
    server = await asyncio.start_server(holding.handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    async with server, httpx.AsyncClient(transport=ShardedTransport(4, per_shard=2)) as http:
        async with http.stream("GET", url) as open_response:
            # The first pool still has a request open: the next goes to the other one.
            await http.get(url)
            await open_response.aread()  # read whole, so that its connection is kept
        await http.get(url)  # both pools idle again: the first one is chosen
    first, second, third = holding.ports
    assert second != first and third == first


def test_bad_sizes_and_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="max_in_flight and per_shard must be at least 1"):
        ShardedTransport(0)
    with pytest.raises(ValueError, match="got 8 and 0"):
        ShardedTransport(8, per_shard=0)
    with pytest.raises(TypeError, match="pass per_shard"):
        ShardedTransport(8, limits=httpx.Limits(max_connections=1))


# -- the writer thread -----------------------------------------------------------------------


def _png(seed: int) -> bytes:
    """A distinct small valid PNG per seed (Pillow comes with the emulator's extra)."""
    import io

    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (4, 4), (seed % 256, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


_STUB = """
import asyncio, base64, io, os, sys
from pathlib import Path
from PIL import Image
from openrouter_imagegen.cli import _batch
from openrouter_imagegen.models.routes import response_from_body


class Instant:
    # Answers at once: the image is red, its intensity the prompt's number.
    calls = 0

    async def generate(self, prompt, **options):
        Instant.calls += 1
        buffer = io.BytesIO()
        Image.new("RGB", (4, 4), (int(prompt.split()[-1]) % 256, 0, 0)).save(buffer, "PNG")
        body = {"data": [{"b64_json": base64.b64encode(buffer.getvalue()).decode()}]}
        return response_from_body("images", body, generation_id=f"gen-{prompt}")


crash_after = int(sys.argv[3])
if crash_after:
    written = 0
    from openrouter_imagegen.images import GeneratedImage

    real_save = GeneratedImage.save

    def save_then_die(self, path, **options):
        global written
        saved = real_save(self, path, **options)
        written += 1
        if written == crash_after:
            os._exit(3)  # as a kill would: this file durable, its row not yet marked done
        return saved

    GeneratedImage.save = save_then_die

report = _batch.BatchReport()
asyncio.run(
    _batch.run_batch(
        Path(sys.argv[1]), Path(sys.argv[2]), client=Instant(), default_model="a/b",
        concurrency=8, report=report,
    )
)
print(Instant.calls, report.done, report.adopted, report.before)
"""


def _stub_batch(prompts: Path, out: Path, crash_after: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _STUB, str(prompts), str(out), str(crash_after)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _rows(out: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(out / _batch.MANIFEST_NAME)
    db.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in db.execute("SELECT * FROM items ORDER BY line")]
    finally:
        db.close()


def test_a_crash_in_the_writer_leaves_no_row_done_without_its_file_and_resume_pays_nothing_written(
    tmp_path: Path,
) -> None:
    pytest.importorskip("PIL")
    count = 40
    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(f"kite {i}") + "\n" for i in range(count)))
    out = tmp_path / "out"
    crashed = _stub_batch(prompts, out, crash_after=13)
    assert crashed.returncode == 3, crashed.stderr
    rows = _rows(out)
    files = {row["key"]: json.loads(row["files"]) for row in rows}
    done = [row["key"] for row in rows if row["state"] == "done"]
    writing = [row["key"] for row in rows if row["state"] == "writing"]
    on_disk = {path.name for path in out.glob("*.png")}
    assert len(on_disk) == 13  # the crash came after the 13th file, before any other
    for key in done:  # a row says done only once its file is there, whole
        (name,) = files[key]
        prompt = next(row["prompt"] for row in rows if row["key"] == key)
        assert (out / name).read_bytes() == _png(int(prompt.split()[-1]))
    # Every file written belongs to a row that says what it is: done, or paid and writing.
    recorded = {files[key][0] for key in done + writing}
    assert on_disk <= recorded
    adoptable = [key for key in writing if files[key][0] in on_disk]
    assert adoptable  # the crash caught a group between its files and its done rows

    resumed = _stub_batch(prompts, out, crash_after=0)
    assert resumed.returncode == 0, resumed.stderr
    calls, done_now, adopted, before = map(int, resumed.stdout.split())
    assert (adopted, before) == (len(adoptable), len(done))
    assert calls == done_now == count - len(done) - len(adoptable)  # nothing written is paid again
    assert all(row["state"] == "done" for row in _rows(out))
    assert len(list(out.glob("*.png"))) == count


@pytest.mark.anyio
async def test_each_row_turns_writing_before_its_file_appears_and_done_only_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("PIL")
    from openrouter_imagegen.models.routes import response_from_body

    seen: list[tuple[str, str, bool]] = []  # (step, key, its file on disk)
    out = tmp_path / "out"

    def on_disk(manifest: _batch.Manifest, key: str) -> bool:
        row = manifest.row(key)
        assert row is not None
        names = json.loads(row["files"])
        return bool(names) and all((out / name).is_file() for name in names)

    real_writing, real_done = _batch.Manifest.writing, _batch.Manifest.done

    def writing(self: _batch.Manifest, key: str, files: list[str], *rest: Any) -> None:
        seen.append(("writing", key, all((out / name).exists() for name in files)))
        real_writing(self, key, files, *rest)

    def done(self: _batch.Manifest, key: str) -> None:
        seen.append(("done", key, on_disk(self, key)))
        real_done(self, key)

    monkeypatch.setattr(_batch.Manifest, "writing", writing)
    monkeypatch.setattr(_batch.Manifest, "done", done)

    class Instant:
        async def generate(self, prompt: str, **options: Any) -> Any:
            import base64

            png = base64.b64encode(_png(int(prompt.split()[-1]))).decode()
            return response_from_body("images", {"data": [{"b64_json": png}]})

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps(f"kite {i}") + "\n" for i in range(30)))
    report = _batch.BatchReport()
    await _batch.run_batch(
        prompts, out, client=Instant(), default_model="a/b", concurrency=8, report=report
    )
    assert report.done == 30
    assert sorted(key for step, key, _ in seen if step == "writing") == sorted(
        key for step, key, _ in seen if step == "done"
    )
    for step, key, present in seen:
        assert present == (step == "done"), (step, key)
    assert all(row["state"] == "done" for row in _rows(out))
