"""Running the emulator: in a background thread (`run`) or in the foreground (`serve`)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from openrouter_imagegen.emulator._app import ConnectionReset, EmulatorConfig, create_app

__all__ = ["run", "serve"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _HideInjectedResets(logging.Filter):
    """The `reset` fault drops connections on purpose; that is no server error."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionReset):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


def _config(
    host: str,
    api_key: str | None,
    faults: Sequence[str],
    fault_rate: float,
    seed: int,
    allow_remote: bool,
) -> EmulatorConfig:
    if host not in _LOOPBACK and not (allow_remote and api_key):
        raise ValueError(
            f"refusing to bind {host!r}: the emulator listens on loopback unless "
            "allow_remote=True and an api_key are both given"
        )
    return EmulatorConfig(api_key=api_key, faults=tuple(faults), fault_rate=fault_rate, seed=seed)


def _uvicorn_server(config: EmulatorConfig, log_level: str) -> object:
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_HideInjectedResets())
    return uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )


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
) -> Iterator[str]:
    """Start the emulator in a background thread; yields its base URL (`.../api/v1`).

    `port=0` picks a free port. With `api_key`, requests must carry it as a
    Bearer token. `faults` (see `FAULTS`) are injected at `fault_rate`, drawn
    from a generator seeded with `seed`; any request can also ask for one
    with the `X-Emulator-Fault` header.
    """
    config = _config(host, api_key, faults, fault_rate, seed, allow_remote)
    server = _uvicorn_server(config, "warning")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    thread = threading.Thread(
        target=server.run,  # type: ignore[attr-defined]
        kwargs={"sockets": [sock]},
        name=f"openrouter-emulator:{bound_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:  # type: ignore[attr-defined]
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the emulator did not start")
        time.sleep(0.01)
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound_port}/api/v1"
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=10)
        sock.close()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    api_key: str | None = None,
    faults: Sequence[str] = (),
    fault_rate: float = 0.0,
    seed: int = 0,
    allow_remote: bool = False,
    log_level: str = "info",
) -> None:
    """Run the emulator in the foreground until interrupted."""
    config = _config(host, api_key, faults, fault_rate, seed, allow_remote)
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_HideInjectedResets())
    uvicorn.run(create_app(config), host=host, port=port, log_level=log_level, access_log=False)
