"""The command line, run as a subprocess against the real emulator on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _cli import run_cli
from conftest import DATA

pytest.importorskip("click")
pytest.importorskip("starlette")

from openrouter_imagegen.emulator import run

KEY = "sk-or-cli-test-key-9876543210"
SMALL = ["--size", "64x64"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run(api_key=KEY) as url:
        yield url


def cli(
    *args: str, base_url: str | None = None, key: str | None = KEY, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, base_url=base_url, key=key, timeout=timeout)


# -- generate -------------------------------------------------------------------------


def test_generate_saves_and_names_the_file_last(server: str, tmp_path: Path) -> None:
    result = cli("generate", "a red fox", "-o", str(tmp_path), *SMALL, base_url=server)
    assert result.returncode == 0, result.stderr
    (saved,) = tmp_path.iterdir()
    last = result.stdout.strip().splitlines()[-1]
    assert str(saved) in last
    assert "64x64" in last
    assert saved.read_bytes().startswith(b"\x89PNG")


def test_generate_json_output(server: str, tmp_path: Path) -> None:
    out = tmp_path / "fox.webp"
    result = cli(
        "generate", "a fox", "-o", str(out), "--format", "webp", "-n", "2", "--json", *SMALL,
        base_url=server,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["images"]) == 2
    for image in data["images"]:
        path = Path(image["path"])
        assert path.parent == tmp_path
        assert path.stat().st_size == image["bytes"]
        assert (image["media_type"], image["width"], image["height"]) == ("image/webp", 64, 64)
    assert data["usage"]["total_tokens"] > 0
    assert KEY not in result.stdout + result.stderr


def test_generate_streaming_saves_partials(server: str, tmp_path: Path) -> None:
    result = cli(
        "generate", "a kite", "-o", str(tmp_path), "--stream", "--save-partials", *SMALL,
        "--endpoint", "responses", base_url=server,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len([n for n in names if ".partial-" in n]) == 2
    assert len([n for n in names if ".partial-" not in n]) == 1
    assert "partial image" in result.stderr


def test_api_errors_exit_1_with_a_message(server: str, tmp_path: Path) -> None:
    result = cli("generate", "x", "-o", str(tmp_path), "--size", "9000x9000", base_url=server)
    assert result.returncode == 1
    assert "size" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2(server: str) -> None:
    assert cli("generate", "x", "--format", "tiff", base_url=server).returncode == 2
    assert cli("generate", base_url=server).returncode == 2
    assert cli("no-such-command").returncode == 2


def test_missing_or_wrong_key_exit_1_and_the_key_is_never_printed(
    server: str, tmp_path: Path
) -> None:
    missing = cli("generate", "x", "-o", str(tmp_path), *SMALL, base_url=server, key=None)
    assert missing.returncode == 1
    assert "401" in missing.stderr or "auth" in missing.stderr.lower()
    wrong_key = "sk-or-wrong-key-123"
    wrong = cli("generate", "x", "-o", str(tmp_path), *SMALL, base_url=server, key=wrong_key)
    assert wrong.returncode == 1
    assert wrong_key not in wrong.stdout + wrong.stderr
    assert KEY not in wrong.stdout + wrong.stderr


# -- edit ---------------------------------------------------------------------------------


def test_edit_from_an_image_and_from_a_saved_response(server: str, tmp_path: Path) -> None:
    first = json.loads(
        cli(
            "generate", "a cat", "-o", str(tmp_path / "a"), "--json", *SMALL, base_url=server
        ).stdout
    )
    image_path = first["images"][0]["path"]
    from_image = cli(
        "edit", image_path, "add a hat", "-o", str(tmp_path / "b"), *SMALL, base_url=server
    )
    assert from_image.returncode == 0, from_image.stderr
    response = httpx.post(
        f"{server}/responses",
        json={
            "model": "openai/gpt-5-image",
            "input": "a dog",
            "tools": [{"type": "image_generation", "size": "64x64"}],
        },
        headers={"Authorization": f"Bearer {KEY}"},
    )
    saved = tmp_path / "response.json"
    saved.write_bytes(response.content)
    from_response = cli(
        "edit", str(saved), "bluer", "-o", str(tmp_path / "c"), *SMALL, base_url=server
    )
    assert from_response.returncode == 0, from_response.stderr
    assert len(list((tmp_path / "c").iterdir())) == 1


# -- extract and inspect -----------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_files(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("saved")
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {
        "model": "openai/gpt-5-image",
        "input": "a ship",
        "tools": [{"type": "image_generation", "size": "32x32"}],
    }
    one = httpx.post(f"{server}/responses", json=body, headers=headers).json()
    two = httpx.post(
        f"{server}/responses", json={**body, "input": "a plane"}, headers=headers
    ).json()
    failed = httpx.post(
        f"{server}/responses", json=body, headers={**headers, "X-Emulator-Fault": "failed"}
    ).json()
    two["output"].append({"type": "openrouter:future_kind", "id": "fx_1", "payload": [1, 2]})
    remote = "https://cdn.example.test/ig_remote.png?signature=secret"
    two["output"].append(
        {
            "type": "image_generation_call",
            "id": "ig_remote",
            "status": "completed",
            "result": remote,
        }
    )
    json_path = folder / "one.json"
    json_path.write_text(json.dumps(one))
    jsonl_path = folder / "log.jsonl"
    jsonl_path.write_text(
        "\n".join([json.dumps(one), "{broken", json.dumps(two), json.dumps(failed), ""])
    )
    garbage = folder / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 not a response")
    return {
        "json": json_path,
        "jsonl": jsonl_path,
        "sse": DATA / "emulator_stream.sse",
        "garbage": garbage,
    }


def test_extract_json_jsonl_and_sse(saved_files: dict[str, Path], tmp_path: Path) -> None:
    result = cli(
        "extract", str(saved_files["json"]), str(saved_files["jsonl"]), str(saved_files["sse"]),
        "-o", str(tmp_path), "--partials",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{saved_files['json']}: 1 image(s) extracted" in out
    assert f"{saved_files['jsonl']}: 2 image(s) extracted" in out
    assert "line 2" in out and "not valid JSON" not in out.split("line 2")[0][-5:]
    assert "openrouter:future_kind" in out
    assert "ig_remote is a URL (https://cdn.example.test/ig_remote.png): pass --fetch" in out
    assert "secret" not in out
    assert "failed" in out
    assert f"{saved_files['sse']}: 3 image(s) extracted" in out  # the final one and two partials
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 5  # one.json's image appears again in the log: extracted once
    assert len([f for f in files if ".partial-" in f]) == 2


def test_extract_reports_unreadable_files(saved_files: dict[str, Path], tmp_path: Path) -> None:
    result = cli("extract", str(saved_files["garbage"]), "-o", str(tmp_path / "o"))
    assert result.returncode == 1  # read, and found to hold nothing
    assert "error" in result.stderr
    missing = cli("extract", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o"))
    assert missing.returncode == 2  # a usage error, as in every command
    assert "does not exist" in missing.stderr


def test_inspect_table_and_json(saved_files: dict[str, Path]) -> None:
    table = cli("inspect", str(saved_files["jsonl"]))
    assert table.returncode == 0, table.stderr
    assert "image/png" in table.stdout
    assert "32x32" in table.stdout
    assert "failed" in table.stdout
    data = json.loads(cli("inspect", str(saved_files["jsonl"]), "--json").stdout)
    statuses = [row["status"] for row in data["calls"]]
    assert statuses == ["completed", "completed", "completed", "failed"]
    assert data["calls"][0]["width"] == 32
    assert any("line 2" in reason for reason in data["skipped"])


# -- serve, demo, help ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_the_emulator() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openrouter_imagegen.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/api/v1/models", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        assert reply.status_code == 200
        assert reply.json()["data"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert cli("serve", "--host", "0.0.0.0").returncode == 2


def test_demo(tmp_path: Path) -> None:
    result = cli("demo", "--output", str(tmp_path), key=None)
    assert result.returncode == 0, result.stderr
    (saved,) = tmp_path.iterdir()
    assert str(saved) in result.stdout.strip().splitlines()[-1]
    assert "768x512" in result.stdout


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import sys\n"
        "from openrouter_imagegen.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "names = ('httpx', 'rich', 'msgspec', 'PIL', 'starlette', 'uvicorn')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print('heavy modules:', ','.join(heavy) or 'none')"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "heavy modules: none"


def test_generate_under_a_pseudo_terminal_shows_progress(server: str, tmp_path: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env |= {
        "OPENROUTER_API_KEY": KEY,
        "OPENROUTER_BASE_URL": server,
        "TERM": "xterm",
        "COLUMNS": "100",
    }
    command = [sys.executable, "-m", "openrouter_imagegen.cli", "generate", "a lighthouse",
               "--stream", "-o", str(tmp_path), "--size", "256x256"]  # fmt: skip
    process = subprocess.Popen(command, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=60) == 0
    text = output.decode("utf-8", "replace")
    assert "partial image(s) received" in text  # the live status line
    (saved,) = tmp_path.iterdir()
    last = [line for line in text.replace("\r", "\n").splitlines() if line.strip()][-1]
    assert str(saved) in last


def test_a_failed_generation_exits_1_with_a_clean_message(tmp_path: Path) -> None:
    with run(faults=("failed",), fault_rate=1.0) as url:
        result = cli(
            "generate", "x", "-o", str(tmp_path), "--endpoint", "responses", *SMALL,
            base_url=url, key=None,
        )  # fmt: skip
    assert result.returncode == 1
    assert "warning: skipped 1 image generation call(s) without an image" in result.stderr
    assert "error: no image came back (status failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
