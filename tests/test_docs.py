"""The examples in README.md and docs/ run as written, against the emulator.

What runs, one test each (the id names the file and the line):

- a ```python block: as a script, in a fresh temporary working directory, in
  a fresh interpreter; it must exit 0. A block titled `test_*.py`
  (```` ```python title="test_app.py" ````) is a test module instead, run
  under pytest (the `openrouter_emulator` fixture is there, as for a user).
- a CLI line: a line of a ```console block that starts with
  `$ openrouter-imagegen `, or of a ```bash / ```sh / ```shell block that
  starts with `openrouter-imagegen `; it must exit 0. The CLI lines of one
  block run in order in one working directory, so that a later line can
  read what an earlier one wrote. `serve` must come up and answer; it is
  then stopped with Ctrl-C, so it may exit 130 (interrupted) as well.
- other commands in those blocks (`pip install`, `make demo`) are not run.

Every example sees `OPENROUTER_BASE_URL` pointing to an emulator and a
dummy `OPENROUTER_API_KEY`. A block with a title (```` ```jsonl
title="prompts.jsonl" ````) is also a file the page shows: it is written into
the working directory of every example of its page. A block preceded by
`<!-- needs-key -->` needs a real OpenRouter key: it is skipped, and the
skip summary counts those.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

pytest.importorskip("starlette", reason="the docs' examples run against the emulator ([server])")

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
NEEDS_KEY = "<!-- needs-key -->"
NEEDS_KEY_REASON = f"needs a real OpenRouter API key (marked {NEEDS_KEY})"
SHELL_LANGUAGES = {"bash", "sh", "shell"}
CLI = "openrouter-imagegen"
TIMEOUT = 180
SERVE_START_SECONDS = 20

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_TITLE = re.compile(r"""\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))""")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    title: str | None
    code: str
    needs_key: bool

    @property
    def name(self) -> str:
        return self.page.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class Command:
    """One CLI line of a block: its line in the page and its position in the block."""

    block: Block
    line: int
    index: int
    text: str


def parse_blocks(page: Path) -> list[Block]:
    """Every fenced block of `page` (indented ones too: tabs and admonitions indent them)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body: list[str] = []
        end = number + 1
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if (
                closing is not None
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            body.append(lines[end].removeprefix(indent))
            end += 1
        else:
            raise ValueError(f"{page}:{number + 1}: the code block is never closed")
        title = _TITLE.search(info)
        blocks.append(
            Block(
                page=page,
                line=number + 1,
                language=info.split()[0].lower() if info else "",
                title=next(filter(None, title.groups())) if title else None,
                code="\n".join(body) + "\n",
                needs_key=_marked(lines, number),
            )
        )
        number = end + 1
    return blocks


def _marked(lines: list[str], fence: int) -> bool:
    """Whether the nearest non-blank line above the fence is the needs-key marker."""
    for above in reversed(lines[:fence]):
        if above.strip():
            return above.strip() == NEEDS_KEY
    return False


def cli_commands(block: Block) -> list[Command]:
    """The CLI lines of a console or shell block, continuation lines joined."""
    if block.language != "console" and block.language not in SHELL_LANGUAGES:
        return []
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.code.splitlines(), 1):
        text = raw.strip()
        if not pending:
            if block.language == "console":
                if not text.startswith("$ "):
                    continue  # output, shown for the reader
                text = text[2:].strip()
            start = block.line + offset
        if text.endswith("\\"):
            pending.append(text[:-1].strip())
            continue
        command = " ".join([*pending, text])
        pending = []
        if command.startswith(CLI + " "):
            commands.append(Command(block, start, len(commands), command))
    return commands


def _collect() -> tuple[list[object], list[object]]:
    scripts: list[object] = []
    commands: list[object] = []
    for page in PAGES:
        if not page.is_file():
            continue
        for block in parse_blocks(page):
            marks = [pytest.mark.skip(reason=NEEDS_KEY_REASON)] if block.needs_key else []
            if block.language == "python":
                kind = "pytest" if (block.title or "").startswith("test_") else "python"
                test_id = f"{block.name}:{block.line}:{kind}"
                scripts.append(pytest.param(block, id=test_id, marks=marks))
            for command in cli_commands(block):
                test_id = f"{block.name}:{command.line}:cli"
                commands.append(pytest.param(command, id=test_id, marks=marks))
    return scripts, commands


SCRIPTS, COMMANDS = _collect()


# -- the environment every example sees -----------------------------------------------------


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    from openrouter_imagegen.emulator import run

    with run() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def example_env(emulator_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER")}
    env.update(
        OPENROUTER_BASE_URL=emulator_url,
        OPENROUTER_API_KEY="sk-or-docs-test-dummy",
        NO_COLOR="1",
        # The console script of this environment, as a user who installed the package has it.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def _page_files(page: Path, directory: Path) -> None:
    """Write every titled block of `page` into `directory`, as the page shows it."""
    for block in parse_blocks(page):
        if block.title:
            target = directory / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.code, encoding="utf-8")


def _failure(what: str, result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{what} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )


# -- python blocks ----------------------------------------------------------------------------


@pytest.mark.parametrize("block", SCRIPTS)
def test_python_block(block: Block, tmp_path: Path, example_env: dict[str, str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    _page_files(block.page, work)
    if block.title and block.title.startswith("test_"):
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", block.title]
        what = f"pytest on {block.name}:{block.line} ({block.title})"
    else:
        # Padded so that a traceback's line numbers are the page's.
        script = tmp_path / f"{block.page.name}-{block.line}.py"
        script.write_text("\n" * block.line + block.code, encoding="utf-8")
        command = [sys.executable, str(script)]
        what = f"the python block at {block.name}:{block.line}"
    result = subprocess.run(
        command, cwd=work, env=example_env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, _failure(what, result)
    if command[1:3] == ["-m", "pytest"]:
        assert re.search(r"\b\d+ passed\b", result.stdout), result.stdout


# -- CLI lines --------------------------------------------------------------------------------


@dataclass
class _BlockRun:
    """The CLI lines of one block, run in order in one directory as their tests ask."""

    directory: Path
    results: list[subprocess.CompletedProcess[str]] = field(default_factory=list)


@pytest.fixture(scope="module")
def block_runs() -> dict[tuple[Path, int], _BlockRun]:
    return {}


def _run_line(command: Command, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command.text, comments=True)
    if argv[1:2] == ["serve"]:
        return _run_server(command.text, argv, cwd, env)
    return subprocess.run(
        ["bash", "-c", command.text],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def _run_server(
    text: str, argv: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Start `serve`, wait until it answers on its port, stop it as Ctrl-C does."""
    port = "8080"
    for index, flag in enumerate(argv):
        if flag == "--port" and index + 1 < len(argv):
            port = argv[index + 1]
        elif flag.startswith("--port="):
            port = flag.split("=", 1)[1]
    url = f"http://127.0.0.1:{port}/api/v1/models"
    server = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    answered = False
    deadline = time.monotonic() + SERVE_START_SECONDS
    try:
        while not answered and server.poll() is None and time.monotonic() < deadline:
            try:
                answered = httpx.get(url, timeout=1.0).status_code == 200
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=30)
    if answered:
        return subprocess.CompletedProcess(argv, server.returncode, stdout, stderr)
    stderr += f"\n(the emulator never answered GET {url})"
    code = 1 if server.returncode in (0, 130) else server.returncode
    return subprocess.CompletedProcess(argv, code, stdout, stderr)


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_line(
    command: Command,
    tmp_path_factory: pytest.TempPathFactory,
    example_env: dict[str, str],
    block_runs: dict[tuple[Path, int], _BlockRun],
) -> None:
    key = (command.block.page, command.block.line)
    run = block_runs.get(key)
    if run is None:
        directory = tmp_path_factory.mktemp("cli")
        _page_files(command.block.page, directory)
        run = block_runs[key] = _BlockRun(directory)
    siblings = cli_commands(command.block)
    while len(run.results) <= command.index:  # the earlier lines of the block first
        run.results.append(_run_line(siblings[len(run.results)], run.directory, example_env))
    result = run.results[command.index]
    # `serve` runs until interrupted: the harness's own Ctrl-C ends it with 130 (or 0).
    allowed = {0, 130} if result.args[1:2] == ["serve"] else {0}
    where = f"{command.block.name}:{command.line}"
    assert result.returncode in allowed, _failure(f"`{command.text}` ({where})", result)


# -- the harness itself -----------------------------------------------------------------------


def test_harness_reads_blocks_lines_titles_and_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "intro\n"
        '```jsonl title="prompts.jsonl"\n'
        '"a fox"\n'
        "```\n"
        "\n"
        "<!-- needs-key -->\n"
        "\n"
        "```console\n"
        '$ openrouter-imagegen generate "a fox" \\\n'
        "    -o out/\n"
        "saved out/x.png\n"
        "$ ls out/\n"
        "$ openrouter-imagegen inspect x.json\n"
        "```\n"
        '=== "Tab"\n'
        "\n"
        "    ```python\n"
        "    print(1)\n"
        "    ```\n",
        encoding="utf-8",
    )
    prompts, console, tabbed = parse_blocks(page)
    assert (prompts.language, prompts.title, prompts.code) == (
        "jsonl",
        "prompts.jsonl",
        '"a fox"\n',
    )
    assert not prompts.needs_key
    assert console.needs_key
    assert [(c.line, c.text) for c in cli_commands(console)] == [
        (9, 'openrouter-imagegen generate "a fox" -o out/'),
        (13, "openrouter-imagegen inspect x.json"),
    ]
    assert (tabbed.language, tabbed.line, tabbed.code) == ("python", 17, "print(1)\n")


def test_every_page_is_collected_and_markers_sit_on_blocks() -> None:
    assert (REPO / "README.md") in PAGES
    for page in PAGES:
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        marked = sum(block.needs_key for block in parse_blocks(page))
        assert text.count(NEEDS_KEY) == marked, f"{page}: a {NEEDS_KEY} marker is on no block"
