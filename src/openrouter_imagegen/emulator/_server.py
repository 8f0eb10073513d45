"""Starting the emulator: an ASGI app, in a background thread (`run`), in the foreground (`serve`).

Starlette, Pillow and uvicorn load here, when an emulator is made, not when
the package is imported.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from openrouter_imagegen._exceptions import MissingDependencyError
from openrouter_imagegen.emulator._faults import ConnectionReset, Faults

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

__all__ = ["create_app", "run", "serve"]

_SERVER_PACKAGES = {"starlette", "uvicorn", "PIL", "anyio"}
_START_SECONDS = 15


class _HideInjectedResets(logging.Filter):
    """The `reset` fault drops connections on purpose: no server error to log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_injected(record.exc_info[1]))


def _is_injected(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, ConnectionReset):
            return True
        if isinstance(exc, BaseExceptionGroup):
            return any(_is_injected(inner) for inner in exc.exceptions)
        exc = exc.__cause__ or exc.__context__
    return False


_hide_injected_resets = _HideInjectedResets()


def create_app(
    *,
    api_key: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    seed: int = 0,
    hold_seconds: float = 30.0,
    slow_seconds: float = 1.0,
    retry_after: int = 1,
) -> Starlette:
    """The emulator as an ASGI app, for any ASGI server.

    With `api_key`, requests must carry it as `Authorization: Bearer ...`.
    `faults` (names from `FAULTS`) are injected at `fault_rate`, drawn from a
    generator seeded with `seed`; any request can ask for one with the
    `X-Emulator-Fault` header. `timeout` holds a request `hold_seconds` (or
    until the client leaves), `slow` delays the first byte `slow_seconds`,
    and `429` asks for `retry_after` seconds of patience.
    """
    plan = Faults(
        faults, fault_rate, seed=seed, hold_seconds=hold_seconds,
        slow_seconds=slow_seconds, retry_after=retry_after,
    )  # fmt: skip
    try:
        from openrouter_imagegen.emulator._app import build_app
    except ImportError as exc:
        if exc.name not in _SERVER_PACKAGES:
            raise
        raise MissingDependencyError("the emulator", "server", "Starlette and Pillow") from exc
    return build_app(api_key, plan)


def _check_host(host: str, api_key: str | None, allow_remote: bool) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost
        loopback = False
    if not loopback and not (allow_remote and api_key):
        raise ValueError(
            f"refusing to bind {host!r}: the emulator listens on loopback unless "
            "allow_remote=True and an api_key are both given"
        )


def _uvicorn_server(app: Starlette, **options: Any) -> uvicorn.Server:
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("the emulator", "server", "uvicorn") from exc
    logging.getLogger("uvicorn.error").addFilter(_hide_injected_resets)
    return uvicorn.Server(uvicorn.Config(app, access_log=False, **options))


@contextmanager
def run(
    *,
    api_key: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    port: int = 0,
    host: str = "127.0.0.1",
    seed: int = 0,
    allow_remote: bool = False,
    hold_seconds: float = 30.0,
    slow_seconds: float = 1.0,
    retry_after: int = 1,
) -> Iterator[str]:
    """Run the emulator in a background thread; yields its base URL, `http://HOST:PORT/api/v1`.

    `port=0` picks a free port. A host other than loopback needs
    `allow_remote=True` and an `api_key`. The other options are
    `create_app`'s. The server stops when the block ends.
    """
    _check_host(host, api_key, allow_remote)
    app = create_app(
        api_key=api_key, faults=faults, fault_rate=fault_rate, seed=seed,
        hold_seconds=hold_seconds, slow_seconds=slow_seconds, retry_after=retry_after,
    )  # fmt: skip
    server = _uvicorn_server(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    # Binding here, not in uvicorn, tells the port before the server starts. The protocol must
    # be named: asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets, and without it every
    # answer waits 40 ms for the client's delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        bound_port = sock.getsockname()[1]
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"openrouter-emulator:{bound_port}",
            daemon=True,
        )
        thread.start()
        try:
            _wait_started(server, thread)
            shown = f"[{host}]" if ":" in host else host
            yield f"http://{shown}:{bound_port}/api/v1"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    api_key: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    seed: int = 0,
    allow_remote: bool = False,
    hold_seconds: float = 30.0,
    slow_seconds: float = 1.0,
    retry_after: int = 1,
    log_level: str = "info",
) -> None:
    """Run the emulator in the foreground until interrupted (the CLI's `serve`)."""
    _check_host(host, api_key, allow_remote)
    app = create_app(
        api_key=api_key, faults=faults, fault_rate=fault_rate, seed=seed,
        hold_seconds=hold_seconds, slow_seconds=slow_seconds, retry_after=retry_after,
    )  # fmt: skip
    _uvicorn_server(app, host=host, port=port, log_level=log_level).run()
