"""`python -m openrouter_imagegen.emulator`: run the emulator in the foreground."""

from __future__ import annotations

import argparse

from openrouter_imagegen.emulator import FAULTS, serve


def main() -> None:
    parser = argparse.ArgumentParser(description="A local OpenRouter-compatible image server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--api-key", default=None, help="require this Bearer key")
    parser.add_argument(
        "--api-key-env", default=None, help="require the key held in this environment variable"
    )
    parser.add_argument("--faults", default="", help=f"comma-separated, from: {','.join(FAULTS)}")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="seeds the fault draws")
    parser.add_argument("--allow-remote", action="store_true", help="bind a non-loopback host")
    parser.add_argument(
        "--url-results", action="store_true", help="answer with URLs this server serves"
    )
    parser.add_argument(
        "--log-requests", action="store_true", help="print a line a request to stderr"
    )
    args = parser.parse_args()
    try:
        serve(
            host=args.host, port=args.port, api_key=args.api_key, api_key_env=args.api_key_env,
            faults=tuple(f for f in args.faults.split(",") if f), fault_rate=args.fault_rate,
            seed=args.seed, allow_remote=args.allow_remote, url_results=args.url_results,
            log_requests=args.log_requests,
        )  # fmt: skip
    except ValueError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
