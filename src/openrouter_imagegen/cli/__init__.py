"""The `openrouter-imagegen` command line (click + rich, the `cli` extra).

Exit codes: 0 success, 1 an API or I/O error (one `error:` line on stderr),
2 a usage error (a bad option or argument, a missing input file, an output
that cannot be written as asked), 130 interrupted. With `--json`, an error
is also a JSON object on stdout: `{"error": {"type", "message", "exit_code"}}`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["compare_models", "main"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `openrouter-imagegen --help` should not pay for the batch engine.
    if name == "compare_models":
        from openrouter_imagegen.cli._compare import compare_models

        return compare_models
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _json_error(kind: str, message: str, exit_code: int, **details: object) -> None:
    from openrouter_imagegen.cli._console import JSON_ERRORS

    if JSON_ERRORS["enabled"]:
        error = {"type": kind, "message": message, "exit_code": exit_code, **details}
        print(json.dumps({"error": error}, indent=2))


def main(argv: list[str] | None = None) -> None:
    try:
        import click
    except ImportError:
        sys.exit("openrouter-imagegen needs its cli extra: pip install 'openrouter-imagegen[cli]'")
    from openrouter_imagegen._exceptions import APIError, ImagegenError
    from openrouter_imagegen.cli._app import cli
    from openrouter_imagegen.cli._console import JSON_ERRORS

    # Known before parsing, so that a usage error of a --json run is JSON too.
    JSON_ERRORS["enabled"] = "--json" in (sys.argv[1:] if argv is None else argv)

    try:
        cli.main(args=argv, prog_name="openrouter-imagegen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _json_error("usage", exc.format_message(), exc.exit_code)
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except ImagegenError as exc:
        details = {}
        if isinstance(exc, APIError):
            details = {"status_code": exc.status_code, "generation_id": exc.generation_id}
        _json_error(type(exc).__name__, str(exc), 1, **details)
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
