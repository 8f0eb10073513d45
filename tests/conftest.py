"""Shared fixtures. The reference specs live beside the repository in CI
(`../shared/reference`), not in a user's clone: tests that read them skip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _clients import KEY, ClientFactory, Kind, make_client

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def load_reference_spec(name: str) -> Any:
    """The parsed OpenAPI snapshot `name`, or a skip when ../shared is absent."""
    path = REFERENCE / name
    if not path.is_file():
        pytest.skip(f"reference spec {path} is absent (it ships beside the repo in CI only)")
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> Kind:
    """Every client test runs against both clients."""
    value: Kind = request.param
    return value


@pytest.fixture
def client_for(kind: Kind) -> ClientFactory:
    """Makes a client of this test's kind against `base_url`, with a fault asked for."""

    def make(base_url: str, fault: str | None = None, **options: Any) -> Any:
        headers = {"X-Emulator-Fault": fault} if fault else {}
        options.setdefault("retry_backoff", 0.01)
        options.setdefault("api_key", KEY)
        return make_client(kind, base_url=base_url, default_headers=headers, **options)

    return make


@pytest.fixture(scope="session")
def validate() -> Callable[..., None]:
    """Validates an instance against the schema at a path of the 2026-08 reference spec
    (`validate(body, "components", "schemas", "ImageEndpoint")`); skips without it."""
    spec = load_reference_spec("openrouter-openapi-2026-08.yaml")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:openrouter", resource)

    def check(instance: Any, *where: str) -> None:
        pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in where)
        schema = {"$ref": f"urn:openrouter#{pointer}"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return check
