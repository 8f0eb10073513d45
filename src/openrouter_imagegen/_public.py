"""Public names report the public module they are imported from, as httpx's do.

`openrouter_imagegen.client._async.AsyncImageClient` is an implementation
detail; users, reprs, tracebacks and documentation should see
`openrouter_imagegen.client.AsyncImageClient`.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any

__all__ = ["publish"]


def publish(namespace: MutableMapping[str, Any], names: Iterable[str], package: str) -> None:
    """Give each of `names` defined in a private module under `package` the module `package`."""
    private = package + "._"
    for name in names:
        value = namespace.get(name)
        module = getattr(value, "__module__", None)
        if isinstance(module, str) and module.startswith(private):
            try:
                value.__module__ = package
            except (AttributeError, TypeError):  # a constant or alias: nothing to rename
                continue
