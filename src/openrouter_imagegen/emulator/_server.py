"""Starting the emulator: an ASGI app, in a background thread (`run`), in the foreground (`serve`).

Starlette, Pillow and uvicorn load here, when an emulator is made, not when
the package is imported.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from openrouter_imagegen._exceptions import MissingDependencyError
from openrouter_imagegen.emulator._faults import ConnectionReset, Faults
from openrouter_imagegen.emulator._log import LoggedRequest, describe

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

__all__ = ["LOOPBACK_HOSTS", "MAX_BODY_BYTES", "EmulatorURL", "create_app", "run", "serve"]

_SERVER_PACKAGES = {"starlette", "uvicorn", "PIL", "anyio", "h11"}
_START_SECONDS = 15
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_BODY_BYTES = 32 * 1024 * 1024
_MAX_CONNECTIONS = 200
_KEEP_ALIVE_SECONDS = 5
_READ_TIMEOUT = 30.0


class EmulatorURL(str):
    """A running emulator's base URL, `http://HOST:PORT/api/v1`, as `run()` yields it.

    It is a plain `str` to every caller; `requests` adds what the emulator
    has received, when it was started with `log_requests=True`.
    """

    _requests: list[LoggedRequest] | None

    def __new__(cls, url: str, requests: list[LoggedRequest] | None = None) -> EmulatorURL:
        made = super().__new__(cls, url)
        made._requests = requests
        return made

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received so far, oldest first (a live list: `.clear()` works)."""
        if self._requests is None:
            raise RuntimeError("this emulator records no requests: start it with log_requests=True")
        return self._requests


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
    url_results: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    allowed_hosts: Collection[str] | None = LOOPBACK_HOSTS,
    on_request: Callable[[LoggedRequest], None] | None = None,
) -> Starlette:
    """The emulator as an ASGI app, for any ASGI server.

    With `api_key`, requests must carry it as `Authorization: Bearer ...`.
    `faults` (names from `FAULTS`) are injected at `fault_rate`, drawn from a
    generator seeded with `seed`; any request can ask for one with the
    `X-Emulator-Fault` header. `timeout` holds a request `hold_seconds` (or
    until the client leaves), `slow` delays the first byte `slow_seconds`,
    and `429` asks for `retry_after` seconds of patience.

    With `url_results`, the Responses and chat routes answer with URLs that
    this app serves (`GET /api/v1/files/NAME`, no key needed) instead of
    base64; the Image API keeps `b64_json`, its only form. A body over
    `max_body_bytes` is a 413; a POST must be `application/json` (or say
    nothing), else 415. The `Host` (and a browser's `Origin`) must be one of
    `allowed_hosts`, without port, else 421 (403); None allows any.
    `on_request` is called with every request, before it is answered.
    """
    plan = Faults(
        faults, fault_rate, seed=seed, hold_seconds=hold_seconds,
        slow_seconds=slow_seconds, retry_after=retry_after,
    )  # fmt: skip
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
    try:
        from openrouter_imagegen.emulator._app import build_app
    except ImportError as exc:
        if exc.name not in _SERVER_PACKAGES:
            raise
        raise MissingDependencyError("the emulator", "server", "Starlette and Pillow") from exc
    return build_app(
        api_key, plan, url_results=url_results, hosts=allowed_hosts,
        max_body=max_body_bytes, log=on_request,
    )  # fmt: skip


def _key(api_key: str | None, api_key_env: str | None) -> str | None:
    """The key to require: `api_key`, or the value of the variable named `api_key_env`."""
    if api_key_env is None:
        return api_key
    if api_key is not None:
        raise ValueError("give api_key or api_key_env, not both")
    value = os.environ.get(api_key_env)
    if not value:
        raise ValueError(
            f"api_key_env: the environment variable {api_key_env} is unset or empty; "
            "set it to the key clients must send"
        )
    return value


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


def _shown(host: str) -> str:
    """`host` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def _hosts(host: str, allow_remote: bool) -> Collection[str] | None:
    """The `Host` names a server bound to `host` answers to: its own and loopback's."""
    return None if allow_remote else (*LOOPBACK_HOSTS, _shown(host))


def _uvicorn_server(
    app: Starlette,
    max_connections: int,
    keep_alive_seconds: int,
    read_timeout: float,
    **options: Any,
) -> uvicorn.Server:
    try:
        import uvicorn

        from openrouter_imagegen.emulator._protocol import deadline_protocol
    except ImportError as exc:
        raise MissingDependencyError("the emulator", "server", "uvicorn") from exc
    if max_connections < 1 or keep_alive_seconds < 1 or read_timeout <= 0:
        raise ValueError("max_connections, keep_alive_seconds and read_timeout must be positive")
    logging.getLogger("uvicorn.error").addFilter(_hide_injected_resets)
    config = uvicorn.Config(
        app,
        access_log=False,
        http=deadline_protocol(read_timeout),
        limit_concurrency=max_connections,
        timeout_keep_alive=keep_alive_seconds,
        **options,
    )
    return uvicorn.Server(config)


@contextmanager
def run(
    *,
    api_key: str | None = None,
    api_key_env: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    port: int = 0,
    host: str = "127.0.0.1",
    seed: int = 0,
    allow_remote: bool = False,
    hold_seconds: float = 30.0,
    slow_seconds: float = 1.0,
    retry_after: int = 1,
    url_results: bool = False,
    log_requests: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_connections: int = _MAX_CONNECTIONS,
    keep_alive_seconds: int = _KEEP_ALIVE_SECONDS,
    read_timeout: float = _READ_TIMEOUT,
) -> Iterator[EmulatorURL]:
    """Run the emulator in a background thread; yields its base URL, `http://HOST:PORT/api/v1`.

    `port=0` picks a free port. A host other than loopback needs
    `allow_remote=True` and a key: `api_key`, or `api_key_env`, the name of
    an environment variable holding it (unset or empty: `ValueError`). With
    `log_requests`, the URL's `.requests` lists what the server received.

    The server holds at most `max_connections` connections (more get 503),
    closes one idle for `keep_alive_seconds` after an answer, and one whose
    request has not arrived whole within `read_timeout` seconds. The other
    options are `create_app`'s. The server stops when the block ends.
    """
    api_key = _key(api_key, api_key_env)
    _check_host(host, api_key, allow_remote)
    requests: list[LoggedRequest] | None = [] if log_requests else None
    app = create_app(
        api_key=api_key, faults=faults, fault_rate=fault_rate, seed=seed,
        hold_seconds=hold_seconds, slow_seconds=slow_seconds, retry_after=retry_after,
        url_results=url_results, max_body_bytes=max_body_bytes,
        allowed_hosts=_hosts(host, allow_remote),
        on_request=None if requests is None else requests.append,
    )  # fmt: skip
    server = _uvicorn_server(
        app, max_connections, keep_alive_seconds, read_timeout,
        log_level="warning", lifespan="off", timeout_graceful_shutdown=1,
    )  # fmt: skip
    sock = _bind(host, port)
    try:
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
            yield EmulatorURL(f"http://{_shown(host)}:{bound_port}/api/v1", requests)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    finally:
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to `host:port` (port 0: a free one), before any server starts.

    Binding here, not in uvicorn, tells the port before the server starts and
    fails at once on a busy port. The protocol must be named: asyncio sets
    TCP_NODELAY only on IPPROTO_TCP sockets, and without it every answer
    waits 40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)


def _print_request(request: LoggedRequest) -> None:
    print(describe(request), file=sys.stderr, flush=True)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    api_key: str | None = None,
    api_key_env: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    seed: int = 0,
    allow_remote: bool = False,
    hold_seconds: float = 30.0,
    slow_seconds: float = 1.0,
    retry_after: int = 1,
    log_level: str = "info",
    url_results: bool = False,
    log_requests: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_connections: int = _MAX_CONNECTIONS,
    keep_alive_seconds: int = _KEEP_ALIVE_SECONDS,
    read_timeout: float = _READ_TIMEOUT,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the emulator in the foreground until interrupted (the CLI's `serve`).

    The options are `run`'s; `log_requests` prints a line a request to
    stderr (the method, the path, the model and the prompt; never the key).
    `on_ready` is called with the base URL once the port is bound (the real
    port, for `port=0`). Bad options raise `ValueError` and a busy port
    `OSError`, before anything starts.
    """
    api_key = _key(api_key, api_key_env)
    _check_host(host, api_key, allow_remote)
    app = create_app(
        api_key=api_key, faults=faults, fault_rate=fault_rate, seed=seed,
        hold_seconds=hold_seconds, slow_seconds=slow_seconds, retry_after=retry_after,
        url_results=url_results, max_body_bytes=max_body_bytes,
        allowed_hosts=_hosts(host, allow_remote),
        on_request=_print_request if log_requests else None,
    )  # fmt: skip
    server = _uvicorn_server(
        app, max_connections, keep_alive_seconds, read_timeout, log_level=log_level,
    )  # fmt: skip
    sock = _bind(host, port)
    try:
        if on_ready is not None:
            on_ready(f"http://{_shown(host)}:{sock.getsockname()[1]}/api/v1")
        server.run(sockets=[sock])
    finally:
        sock.close()
