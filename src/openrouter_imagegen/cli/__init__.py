"""The `openrouter-imagegen` command line (click + rich, the `cli` extra).

Exit codes: 0 success, 1 an API or validation error (one line on stderr),
2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    try:
        import click
    except ImportError:
        sys.exit("openrouter-imagegen needs its cli extra: pip install 'openrouter-imagegen[cli]'")
    from openrouter_imagegen._exceptions import ImagegenError
    from openrouter_imagegen.cli._app import cli

    try:
        cli.main(args=argv, prog_name="openrouter-imagegen", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except ImagegenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
