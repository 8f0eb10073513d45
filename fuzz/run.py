"""Fuzz every parser of untrusted input for a bounded time; print what was found.

    python fuzz/run.py --seconds 300            # all targets, atheris if installed
    python fuzz/run.py --engine random --only sse,json

A finding is an exception outside the library's error tree (`ImagegenError`;
`RequestRefused` for the emulator's request readers) or one call slower than
`--slow` seconds. Findings are grouped by where they were raised, each with
the smallest input seen, and saved in the temporary directory (`openrouter-imagegen-fuzz`).

Engines: `atheris` (coverage guided, `pip install atheris`) runs all targets
in one libFuzzer session, the first input byte choosing the target; `random`
(no dependency) mutates a seed corpus. `auto` picks atheris when it imports.
Not part of `make test`: run it with `make fuzz SECONDS=300`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import importlib.util
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openrouter_imagegen import ImagegenError

HERE = Path(__file__).resolve().parent
FINDINGS = Path(tempfile.gettempdir()) / "openrouter-imagegen-fuzz"

# -- the targets -------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    # Undecodable bytes become lone surrogates: exactly the strings that break encoders.
    return data.decode("utf-8", "surrogateescape")


def _chunks(data: bytes) -> list[bytes]:
    """`data` cut at points its own first byte chooses, so a split can land anywhere."""
    if not data:
        return [b""]
    step = data[0] % 7 + 1
    return [data[i : i + step] for i in range(1, len(data), step)] or [b""]


def json_parsers(data: bytes) -> None:
    from openrouter_imagegen import parse_event, parse_response
    from openrouter_imagegen.models.images import parse_image_event

    for parse in (parse_response, parse_event, parse_image_event):
        for form in (data, _text(data)):
            try:
                parse(form)
            except ImagegenError:
                pass


def results(data: bytes) -> None:
    from openrouter_imagegen.images import b64decode_lenient, decode_result, parse_data_url

    text = _text(data)
    for call in (
        lambda: decode_result(text, call_id=text[:8], media_type=text[:12] or None),
        lambda: b64decode_lenient(text),
        lambda: parse_data_url("data:" + text),
        lambda: decode_result("data:image/png;base64," + base64.b64encode(data).decode()),
    ):
        try:
            call()
        except ImagegenError:
            pass


def images(data: bytes) -> None:
    from openrouter_imagegen.images import GeneratedImage, dimensions, sniff_media_type
    from openrouter_imagegen.images._sniff import EXTENSIONS, svg_has_active_content

    media_type = sniff_media_type(data)
    for kind in (media_type, *EXTENSIONS):
        dimensions(data, kind)
    svg_has_active_content(data)
    if media_type is not None:
        image = GeneratedImage(data, source="base64", call_id="fuzz")
        repr(image)
        image.filename()
        try:
            image.data_url()
        except ImagegenError:
            pass
        try:
            image.to_pil(max_pixels=1_000_000)
        except ImagegenError:
            pass


def metadata(data: bytes) -> None:
    from openrouter_imagegen.images._metadata import read_metadata

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "image")
        path.write_bytes(data)
        try:
            read_metadata(path)
        except ImagegenError:
            pass
        if data:  # the sidecar next to a small PNG
            png = base64.b64decode(
                "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
            )
            path.write_bytes(png)
            Path(directory, "image.json").write_bytes(data)
            try:
                read_metadata(path)
            except ImagegenError:
                pass


def sse(data: bytes) -> None:
    from openrouter_imagegen.stream import SSEDecoder

    decoder = SSEDecoder()
    for chunk in _chunks(data):
        for event in decoder.feed(chunk):
            repr(event)
            event.data  # noqa: B018 - decoding the data is part of the target
    decoder.end()


def streams(data: bytes) -> None:
    from openrouter_imagegen.stream import ResponseStream, read_capture

    for route in ("responses", "chat", "images"):
        for content_type in ("text/event-stream", "application/json"):
            stream = ResponseStream(route, content_type=content_type)
            try:
                for chunk in _chunks(data):
                    stream.feed(chunk)
                stream.end()
                stream.finish()
            except ImagegenError:
                pass
    try:
        read_capture(data)
    except ImagegenError:
        pass


def emulator_requests(data: bytes) -> None:
    from openrouter_imagegen.emulator._image_requests import read_image_generation
    from openrouter_imagegen.emulator._requests import (
        RequestRefused,
        decode_body,
        read_chat_request,
        read_responses_request,
    )

    try:
        body = decode_body(data)
    except RequestRefused:
        return
    for read in (
        lambda: read_responses_request(body, {}),
        lambda: read_chat_request(body),
        lambda: read_image_generation(body),
    ):
        try:
            read()
        except RequestRefused:
            pass


def urls(data: bytes) -> None:
    from openrouter_imagegen.images._fetch import _Target, display_url

    text = _text(data)
    for url in (text, "https://" + text):
        display_url(url).encode("utf-8")
        try:
            _Target(url, True)  # parsing and vetting only: nothing is resolved or sent
        except ImagegenError:
            pass


TARGETS: dict[str, Callable[[bytes], None]] = {
    "json": json_parsers,
    "results": results,
    "images": images,
    "metadata": metadata,
    "sse": sse,
    "streams": streams,
    "emulator": emulator_requests,
    "urls": urls,
}

# -- seeds: valid inputs to mutate from ------------------------------------------------------


def _seeds() -> dict[str, list[bytes]]:
    from PIL import Image

    def picture(fmt: str) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGBA" if fmt == "PNG" else "RGB", (3, 2)).save(buffer, fmt)
        return buffer.getvalue()

    rasters = [picture(fmt) for fmt in ("PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF")]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="20"><rect/></svg>'
    response = json.dumps(
        {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "output": [
                {"type": "image_generation_call", "id": "ig_1", "status": "completed",
                 "result": base64.b64encode(rasters[0]).decode()},
                {"type": "message", "id": "m", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "hi", "annotations": []}]},
            ],
            "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
        }
    ).encode()  # fmt: skip
    event = json.dumps(
        {"type": "response.image_generation_call.partial_image", "item_id": "ig_1",
         "output_index": 0, "partial_image_index": 0, "partial_image_b64": "AAAA",
         "sequence_number": 3}
    ).encode()  # fmt: skip
    completed = json.dumps({"type": "response.completed", "response": json.loads(response)})
    sse_stream = (
        b": OPENROUTER PROCESSING\n\ndata: " + event + b"\n\nevent: x\ndata: "
        + completed.encode() + b"\n\ndata: [DONE]\n\n"
    )  # fmt: skip
    chat_request = json.dumps(
        {"model": "google/gemini-2.5-flash-image", "modalities": ["image", "text"],
         "messages": [{"role": "user", "content": "an owl"}]}
    ).encode()  # fmt: skip
    responses_request = json.dumps(
        {"model": "openai/gpt-5-image", "input": "an owl",
         "tools": [{"type": "image_generation", "size": "64x64", "partial_images": 1}]}
    ).encode()  # fmt: skip
    images_request = json.dumps(
        {"model": "openai/gpt-image-1", "prompt": "an owl", "size": "64x64", "n": 2}
    ).encode()  # fmt: skip
    return {
        "json": [response, event, b'{"error": {"code": 429, "message": "slow down"}}'],
        "results": [base64.b64encode(rasters[0]), b"data:image/png;base64,iVBORw0KGgo=", b"QQ=="],
        "images": [*rasters, svg],
        "metadata": [rasters[0], b'{"prompt": "x", "model": "m"}'],
        "sse": [sse_stream, b"data: a\r\ndata: b\r\rid: 1\nretry: 5\n\n"],
        "streams": [sse_stream, response],
        "emulator": [chat_request, responses_request, images_request],
        "urls": [b"images.example/a.png?sig=1", b"[::ffff:127.0.0.1]:8080/", b"user:pw@0x7f.1/"],
    }


# -- findings --------------------------------------------------------------------------------


@dataclass
class Finding:
    target: str
    kind: str  # the exception type, or "slow"
    where: str  # file:line of the innermost frame in this project
    message: str
    example: bytes
    count: int = 1


class Recorder:
    """Runs one input through one target and keeps what goes wrong, once per cause."""

    def __init__(self, slow: float) -> None:
        self.slow = slow
        self.found: dict[tuple[str, str, str], Finding] = {}
        self.runs = 0

    def run(self, name: str, data: bytes) -> None:
        self.runs += 1
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                TARGETS[name](data)
            except Exception as exc:  # every escape is a finding
                self._keep(name, type(exc).__name__, _where(exc), str(exc)[:200], data)
                return
        elapsed = time.perf_counter() - started
        if elapsed > self.slow:
            self._keep(name, "slow", f"{elapsed:.2f}s", f"took {elapsed:.2f}s", data)

    def _keep(self, target: str, kind: str, where: str, message: str, data: bytes) -> None:
        key = (target, kind, where if kind != "slow" else "")
        known = self.found.get(key)
        if known is None:
            self.found[key] = Finding(target, kind, where, message, data)
            print(f"  new finding: {target}: {kind} at {where}: {message[:100]}", flush=True)
        else:
            known.count += 1
            if len(data) < len(known.example):
                known.example, known.message = data, message

    def report(self, seconds: float, targets: int) -> None:
        print(f"\n{self.runs:,} inputs in {seconds:.0f}s over {targets} targets")
        if not self.found:
            print("nothing found: every input ended in the library's own errors, in time")
            return
        FINDINGS.mkdir(exist_ok=True)
        print(f"{len(self.found)} finding(s), examples saved under {FINDINGS}:")
        for finding in self.found.values():
            digest = hashlib.sha256(finding.example).hexdigest()[:12]
            path = FINDINGS / f"{finding.target}-{finding.kind}-{digest}.bin"
            path.write_bytes(finding.example)
            print(
                f"- {finding.target}: {finding.kind} at {finding.where} ({finding.count}x): "
                f"{finding.message}\n  smallest input ({len(finding.example)} bytes): "
                f"{finding.example[:120]!r} -> {path.name}"
            )


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "openrouter_imagegen" in f.filename] or frames
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


# -- engines ----------------------------------------------------------------------------------

_TOKENS = [
    b"{", b"}", b"[", b"]", b'"', b"\\", b"\\u", b"\\ud800", b":", b",", b"\n", b"\r", b"\r\n",
    b"\x00", b"data: ", b"event: ", b"=", b"==", b"data:", b";base64,", b"<svg", b"<script>",
    b"onload=", b"<!DOCTYPE", b"&x;", b"\xff", b"\xed\xa0\x80", b"9" * 40, b"-1", b"1e999",
    b"null", b"true", b'"type"', b'"output"', b'"result"', b"0x7f.1", b"[::1]", b"%00", b"@",
]  # fmt: skip


def _mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(7)
        at = rng.randint(0, len(buffer))
        if choice == 0 and buffer:
            buffer[rng.randrange(len(buffer))] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buffer[at:at] = rng.choice(_TOKENS)
        elif choice == 2 and buffer:
            del buffer[at : at + rng.randint(1, 16)]
        elif choice == 3 and buffer:  # repeat a slice: depth, length, backtracking
            piece = buffer[at : at + rng.randint(1, 8)] or b"["
            buffer[at:at] = piece * rng.choice((2, 50, 1000, 5000))
        elif choice == 4:
            other = rng.choice(corpus)
            cut = rng.randint(0, len(other))
            buffer[at:] = other[cut:]
        elif choice == 5 and buffer:
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        else:
            buffer[at:at] = rng.randbytes(rng.randint(1, 8))
    return bytes(buffer[:2_000_000])


def run_random(recorder: Recorder, names: list[str], seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    seeds = _seeds()
    corpora = {name: list(seeds[name]) for name in names}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        name = rng.choice(names)
        corpus = corpora[name]
        data = _mutate(rng, rng.choice(corpus), corpus)
        before = len(recorder.found)
        recorder.run(name, data)
        if len(recorder.found) == before and len(corpus) < 500 and rng.random() < 0.05:
            corpus.append(data)  # keep some survivors: mutations compound


def run_atheris(recorder: Recorder, names: list[str], seconds: float, seed: int) -> None:
    atheris = importlib.import_module("atheris")  # optional, and without type stubs
    corpus_dir = Path(tempfile.mkdtemp(prefix="imagegen-fuzz-"))
    for index, name in enumerate(names):
        for number, data in enumerate(_seeds()[name]):
            (corpus_dir / f"{name}-{number}").write_bytes(bytes([index]) + data)

    for name in names:  # load every module a target uses, then instrument them all
        for data in _seeds()[name]:
            recorder.run(name, data)
    atheris.instrument_all()

    started = time.monotonic()

    def one_input(data: bytes) -> None:
        if data:
            recorder.run(names[data[0] % len(names)], data[1:])
        if time.monotonic() - started >= seconds:
            # libFuzzer's own time limit exits without running Python's exit handlers.
            recorder.report(time.monotonic() - started, len(names))
            shutil.rmtree(corpus_dir, ignore_errors=True)
            sys.stdout.flush()
            os._exit(0)

    args = [sys.argv[0], f"-seed={seed}", "-max_len=65536", "-print_final_stats=0"]
    args.append(f"-timeout={max(int(recorder.slow * 10), 10)}")  # a real hang: libFuzzer stops
    atheris.Setup([*args, str(corpus_dir)], one_input)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to run (60)")
    parser.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    parser.add_argument("--only", default="", help=f"targets, comma separated: {','.join(TARGETS)}")
    parser.add_argument("--slow", type=float, default=2.0, help="seconds one call may take (2)")
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "big"))
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(TARGETS)
    unknown = set(names) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    engine = args.engine
    if engine == "auto":
        engine = "atheris" if importlib.util.find_spec("atheris") else "random"
    print(f"fuzzing {', '.join(names)} for {args.seconds:g}s with {engine} (seed {args.seed})")
    recorder = Recorder(args.slow)
    sys.setrecursionlimit(1000)  # the default: findings must hold for users too
    if engine == "atheris":
        run_atheris(recorder, names, args.seconds, args.seed)
    started = time.monotonic()
    run_random(recorder, names, args.seconds, args.seed)
    recorder.report(time.monotonic() - started, len(names))


if __name__ == "__main__":
    main()
