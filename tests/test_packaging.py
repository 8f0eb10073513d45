"""The wheel and the sdist, built as a release would build them, hold what they should.

`python -m build` makes the sdist from the work tree, then the wheel from
the sdist, so a file missing from the sdist fails the wheel's checks too.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "openrouter_imagegen"
BUILD_TIMEOUT = 600
CACHE_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def _is_cache(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(CACHE_PARTS & set(path.parts)) or path.suffix in {".pyc", ".pyo"}


def _package_files() -> set[str]:
    """Every file of the package in the source tree, as the wheel names it."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and not _is_cache(path.relative_to(PACKAGE.parent).as_posix())
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="the packaging checks need the dev extra (build)")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout}\n{result.stderr}"
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (found,) = dist.glob("openrouter_imagegen-*.whl")
    return found


@pytest.fixture(scope="module")
def sdist(dist: Path) -> Path:
    (found,) = dist.glob("openrouter_imagegen-*.tar.gz")
    return found


def test_twine_check_passes(dist: Path, wheel: Path, sdist: Path) -> None:
    pytest.importorskip("twine", reason="the packaging checks need the dev extra (twine)")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_wheel_ships_the_package_its_data_py_typed_and_the_license(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        licenses = [n for n in names if ".dist-info/" in n and PurePosixPath(n).name == "LICENSE"]
        assert len(licenses) == 1, sorted(n for n in names if ".dist-info/" in n)
        assert archive.read(licenses[0]) == (REPO / "LICENSE").read_bytes()
    assert "openrouter_imagegen/py.typed" in names
    # Every module and data file of the source tree (fonts and the like included).
    missing = _package_files() - names
    assert not missing, f"the wheel lacks {sorted(missing)}"


def test_wheel_ships_nothing_else(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert not [n for n in names if _is_cache(n)]
    tops = {PurePosixPath(n).parts[0] for n in names}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert tops - dist_info == {"openrouter_imagegen"}, sorted(tops)
    # Nothing but what the source tree holds: no tests, scripts or build leftovers.
    extra = {n for n in names if not n.endswith(".dist-info") and ".dist-info/" not in n}
    assert extra == _package_files(), sorted(extra ^ _package_files())


def test_wheel_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
        (entry_name,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
        entry_points = archive.read(entry_name).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Requires-Python: >=3.11" in metadata
    assert "openrouter-imagegen = openrouter_imagegen.cli:main" in entry_points
    assert "openrouter_imagegen = openrouter_imagegen.emulator.pytest_plugin" in entry_points


def test_sdist_holds_the_sources_and_license_but_no_caches(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
        (root,) = {m.name.split("/", 1)[0] for m in archive.getmembers()}
        extracted = archive.extractfile(f"{root}/LICENSE")
        assert extracted is not None
        assert extracted.read() == (REPO / "LICENSE").read_bytes()
    assert {"LICENSE", "README.md", "pyproject.toml", "src/openrouter_imagegen/py.typed"} <= members
    assert {f"src/{name}" for name in _package_files()} <= members
    leftovers = [
        name
        for name in members
        if _is_cache(name) or PurePosixPath(name).parts[0] in {".venv", "site", "dist", "build"}
    ]
    assert not leftovers, leftovers


def test_the_installed_wheel_runs_the_emulator_from_its_own_files(
    wheel: Path, tmp_path: Path
) -> None:
    """Installed alone (its dependencies from this environment), the wheel's package
    imports from the wheel, not from src/, and serves a generation (package data in use)."""
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    script = (
        "import openrouter_imagegen as pkg\n"
        "from openrouter_imagegen import ImageClient\n"
        "from openrouter_imagegen.emulator import run\n"
        "print(pkg.__file__)\n"
        "with run() as url, ImageClient(base_url=url, api_key='') as client:\n"
        "    response = client.generate('Ωμέγα, Жук, lighthouse', model='openai/gpt-5-image',\n"
        "                               size='256x128')\n"
        "    (image,) = response.images()\n"
        "    print(image.media_type, image.width, image.height)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    where, described = result.stdout.splitlines()
    assert Path(where).is_relative_to(target)
    assert described == "image/png 256 128"
