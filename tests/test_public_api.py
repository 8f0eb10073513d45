"""The curated public API: one table of names, public modules, a current sync client."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import openrouter_imagegen
from openrouter_imagegen import _exceptions

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["client", "images", "models", "stream", "emulator", "gallery"]


def test_all_is_the_lazy_table_plus_the_exceptions() -> None:
    lazy = set(openrouter_imagegen._LAZY)
    eager = {name for name in _exceptions.__all__ if name != "shorten"}
    assert set(openrouter_imagegen.__all__) == lazy | eager | {"__version__"}
    assert len(openrouter_imagegen.__all__) == len(set(openrouter_imagegen.__all__))
    for name in openrouter_imagegen.__all__:
        assert getattr(openrouter_imagegen, name) is not None, name


def test_lazy_names_come_from_the_module_the_table_names() -> None:
    for name, module in openrouter_imagegen._LAZY.items():
        assert getattr(importlib.import_module(module), name) is getattr(openrouter_imagegen, name)


def test_public_classes_and_functions_report_a_public_module() -> None:
    for package in ("openrouter_imagegen", *(f"openrouter_imagegen.{p}" for p in PACKAGES)):
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert not re.search(r"\._", value.__module__), f"{package}.{name}"


def test_what_public_methods_return_and_raise_is_importable_from_the_package() -> None:
    for name in [
        "ImageStream",
        "AsyncImageStream",
        "StreamUpdate",
        "RetryPolicy",
        "ServerSentEvent",
        "OutputImageGenerationServerTool",
        "aaccumulate",
        "adecode_result",
        "ResponseStream",
        "GenerationOptions",
        "DownloadOptions",
        "ImageSaveError",
        "ImageExistsError",
        "UnsupportedParameterError",
    ]:
        assert name in openrouter_imagegen.__all__, name


def test_every_name_the_readme_imports_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    imported = re.findall(r"from openrouter_imagegen(\.[\w.]+)? import (\([^)]*\)|[\w, ]+)", readme)
    assert imported
    for module_suffix, names in imported:
        module = importlib.import_module("openrouter_imagegen" + (module_suffix or ""))
        for name in re.findall(r"\w+", names):
            assert hasattr(module, name), f"README imports {name} from {module.__name__}"


def test_the_generated_sync_client_is_current() -> None:
    script = REPO / "scripts" / "unasync.py"
    if not script.is_file():
        pytest.skip("scripts/unasync.py ships in the repository, not the wheel")
    result = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_importing_the_package_loads_neither_msgspec_nor_httpx() -> None:
    code = (
        "import sys, openrouter_imagegen; print('msgspec' in sys.modules, 'httpx' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"]
