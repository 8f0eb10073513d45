"""What a new user meets on the command line, run as subprocesses against the emulator:
every mistake is one clean line with the documented exit code, and nothing paid is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import run_cli

pytest.importorskip("starlette")
pytest.importorskip("click")

from openrouter_imagegen.emulator import run

KEY = "sk-or-walls-test-key"
SMALL = ["--size", "64x64"]
IMAGE_API = "openai/gpt-image-1"  # the emulator's streaming Image API model, $0.04 an image


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run(api_key=KEY) as url:
        yield url


def cli(
    *args: str,
    base_url: str | None = None,
    key: str | None = KEY,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, base_url=base_url, key=key, stdin=stdin, cwd=cwd)


def clean(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr + result.stdout


# -- usage errors, checked before anything is sent ------------------------------------


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--size", "12x"], "--size"),
        (["--aspect-ratio", "wide"], "--aspect-ratio"),
        (["--format", "bmp"], "--format"),
        (["--save-partials"], "--save-partials needs --stream"),
        (["--partial-images", "9", "--stream"], "--partial-images"),
        (["--reference", "no-such-file.png"], "--reference"),
    ],
)
def test_bad_options_are_usage_errors_before_any_request(
    flags: list[str], named: str, tmp_path: Path
) -> None:
    # No server at all: a usage error must come before any attempt to reach one.
    result = cli("generate", "x", "-o", str(tmp_path), *flags, base_url="http://127.0.0.1:9/api/v1")
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    clean(result)


def test_a_missing_input_file_is_exit_2_in_every_command(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    for args in (["edit", missing, "x"], ["batch", missing, "-o", str(tmp_path)]):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        clean(result)


def test_dash_reads_the_prompt_from_stdin(server: str, tmp_path: Path) -> None:
    result = cli(
        "generate", "-", "-o", str(tmp_path), *SMALL, "--json",
        base_url=server, stdin="a lighthouse from stdin\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["images"]


def test_no_key_against_a_remote_server_stops_before_sending(tmp_path: Path) -> None:
    result = cli(
        "generate", "x", "-o", str(tmp_path), base_url="https://openrouter.test/api/v1", key=None
    )
    assert result.returncode == 2
    assert "OPENROUTER_API_KEY" in result.stderr
    clean(result)


def test_a_refused_key_says_to_set_the_variable(server: str, tmp_path: Path) -> None:
    result = cli("generate", "x", "-o", str(tmp_path), *SMALL, base_url=server, key="sk-wrong")
    assert result.returncode == 1
    assert "OPENROUTER_API_KEY" in result.stderr
    clean(result)


def test_a_base_url_without_api_v1_is_pointed_at(server: str, tmp_path: Path) -> None:
    bare = server.removesuffix("/api/v1")
    result = cli(
        "generate", "x", "-o", str(tmp_path), *SMALL, "--endpoint", "responses", base_url=bare
    )
    assert result.returncode == 1
    assert "/api/v1" in result.stderr
    clean(result)


def test_json_errors_are_json_on_stdout(tmp_path: Path) -> None:
    result = cli("generate", "x", "-o", str(tmp_path), "--size", "12x", "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 2
    assert "--size" in error["message"]


# -- outputs: checked before paying, never losing what was paid for --------------------


def test_an_existing_output_file_is_refused_before_paying(server: str, tmp_path: Path) -> None:
    existing = tmp_path / "cat.png"
    existing.write_bytes(b"mine")
    result = cli("generate", "x", "-o", str(existing), *SMALL, base_url=server)
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert existing.read_bytes() == b"mine"
    replaced = cli("generate", "x", "-o", str(existing), *SMALL, "--overwrite", base_url=server)
    assert replaced.returncode == 0, replaced.stderr
    assert existing.read_bytes().startswith(b"\x89PNG")


def test_an_output_under_a_file_is_refused_before_paying(server: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    result = cli("generate", "x", "-o", str(tmp_path / "file" / "out/"), *SMALL, base_url=server)
    assert result.returncode == 2
    assert "not a directory" in result.stderr
    clean(result)


def test_a_dotted_name_with_a_slash_is_a_directory(server: str, tmp_path: Path) -> None:
    out = tmp_path / "run.2024-01-05"
    result = cli("generate", "x", "-o", f"{out}/", *SMALL, base_url=server)
    assert result.returncode == 0, result.stderr
    assert out.is_dir()
    assert len(list(out.iterdir())) == 1


def test_save_response_and_capture_feed_extract_and_inspect(server: str, tmp_path: Path) -> None:
    body, capture = tmp_path / "body.json", tmp_path / "capture.sse"
    plain = cli(
        "generate", "x", "-o", str(tmp_path / "a/"), *SMALL, "--save-response", str(body),
        "--endpoint", "responses", base_url=server,
    )  # fmt: skip
    streamed = cli(
        "generate", "x", "-o", str(tmp_path / "b/"), *SMALL, "--stream", "--capture",
        str(capture), "--model", IMAGE_API, base_url=server,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert streamed.returncode == 0, streamed.stderr
    assert capture.read_bytes().rstrip().endswith(b"[DONE]")
    for saved in (body, capture):
        inspected = cli("inspect", str(saved), "--json")
        assert inspected.returncode == 0, inspected.stderr
        assert json.loads(inspected.stdout)["calls"]
        extracted = cli("extract", str(saved), "-o", str(tmp_path / "x"))
        assert extracted.returncode == 0, extracted.stderr
        assert "1 image(s) extracted" in extracted.stdout


def test_edit_honours_stream_and_partials(server: str, tmp_path: Path) -> None:
    first = cli("generate", "a cat", "-o", str(tmp_path / "first/"), *SMALL, base_url=server)
    assert first.returncode == 0, first.stderr
    (image,) = (tmp_path / "first").iterdir()
    result = cli(
        "edit", str(image), "make it blue", "-o", str(tmp_path / "edited/"), *SMALL,
        "--model", IMAGE_API, "--stream", "--save-partials", base_url=server,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = [p.name for p in (tmp_path / "edited").iterdir()]
    assert any(".partial-" in name for name in names)
    assert any(".partial-" not in name for name in names)


# -- the catalogue commands ------------------------------------------------------------


def test_models_lists_the_catalogue_with_prices(server: str) -> None:
    result = cli("models", "--json", base_url=server)
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows[IMAGE_API]["route"] == "images"
    assert rows[IMAGE_API]["price_usd"] and rows[IMAGE_API]["unit"] == "image"
    assert rows["black-forest-labs/flux-1.1-pro"]["unit"] == "megapixel"
    assert rows["black-forest-labs/flux.2-pro"]["route"] == "chat"
    filtered = cli("models", "flux", base_url=server)
    assert filtered.returncode == 0, filtered.stderr
    assert "flux" in filtered.stdout
    assert IMAGE_API not in filtered.stdout


def test_estimate_prints_the_price_and_refuses_what_it_cannot_know(server: str) -> None:
    result = cli("estimate", "a fox", "-m", IMAGE_API, "-n", "2", "--json", base_url=server)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["low_usd"] == found["high_usd"] > 0
    unknown = cli("estimate", "a fox", "-m", "black-forest-labs/flux-1.1-pro", base_url=server)
    assert unknown.returncode == 1
    assert "megapixel" in unknown.stdout + unknown.stderr
    clean(unknown)


def test_batch_dry_run_estimates_from_the_catalogue(server: str, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('"a fox"\n"a hen"\n')
    result = cli(
        "batch", str(prompts), "-o", str(tmp_path / "out"), "-m", IMAGE_API, "--dry-run",
        base_url=server,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "estimated cost: $0.0800" in result.stdout
    assert not (tmp_path / "out").exists()


def test_every_option_has_help_and_the_default_model_is_documented() -> None:
    import click

    from openrouter_imagegen.cli._app import cli as group

    for name, command in group.commands.items():
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{name} {param.opts} has no help text"
    result = cli("generate", "--help")
    assert "openai/gpt-5-image" in result.stdout
    assert "OPENROUTER_IMAGEGEN_MODEL" in result.stdout


# -- serve ----------------------------------------------------------------------------


def _serve(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    return subprocess.Popen(
        [sys.executable, "-m", "openrouter_imagegen.cli", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_serve_prints_its_real_url_once_it_listens() -> None:
    import re
    import signal

    import httpx

    process = _serve("--port", "0")
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/api/v1", line)
        assert match, line
        assert int(match[1]) != 0
        models = httpx.get(f"{match[0]}/models", timeout=10)
        assert models.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_serve_on_a_busy_port_is_one_clean_error() -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _serve("--port", str(port))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr
    assert "Traceback" not in stderr


def test_serve_refuses_an_unset_key_variable() -> None:
    process = _serve("--port", "0", "--api-key-env", "NO_SUCH_VARIABLE_HERE")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "NO_SUCH_VARIABLE_HERE" in stderr


def test_an_image_that_cannot_be_written_is_kept_elsewhere(server: str, tmp_path: Path) -> None:
    import shutil

    chattr = shutil.which("chattr")
    target = tmp_path / "locked.png"
    target.write_bytes(b"old")
    # Immutable: the output check passes (it exists, --overwrite), the write after paying fails.
    if chattr is None or subprocess.run([chattr, "+i", str(target)]).returncode != 0:
        pytest.skip("chattr +i is not available here to make a write fail after the check")
    try:
        result = cli("generate", "x", "-o", str(target), "--overwrite", *SMALL, base_url=server)
    finally:
        subprocess.run([chattr, "-i", str(target)], check=True)
    assert result.returncode == 1
    clean(result)
    assert "were kept as" in result.stderr
    kept = Path(result.stderr.split("were kept as ")[1].strip().split(", ")[0])
    assert kept.read_bytes().startswith(b"\x89PNG")  # the paid image, not lost
    shutil.rmtree(kept.parent)
