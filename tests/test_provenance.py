"""Provenance through the library and the CLI: what was asked travels inside the saved image."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import run_cli

pytest.importorskip("starlette")
Image = pytest.importorskip("PIL.Image")

from openrouter_imagegen import GenerationOptions, ImageClient, read_metadata  # noqa: E402
from openrouter_imagegen.emulator import run  # noqa: E402
from openrouter_imagegen.images import sidecar_path  # noqa: E402

SEEDED = "bytedance-seed/seedream-4.5"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with run() as url:
        yield url


def cli(*args: str, base_url: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, base_url=base_url)


@pytest.mark.parametrize(
    ("output_format", "model", "seed"),
    [("png", SEEDED, 11), ("jpeg", SEEDED, 11), ("webp", "openai/gpt-image-1", None)],
)
def test_every_saved_format_carries_the_request_with_its_pixels_unchanged(
    server: str, tmp_path: Path, output_format: str, model: str, seed: int | None
) -> None:
    options: GenerationOptions = {"size": "64x64", "output_format": output_format}
    if seed is not None:
        options["seed"] = seed
    with ImageClient(base_url=server) as client:
        response = client.generate("a lighthouse", model=model, **options)
    (image,) = response.images()
    (path,) = response.save_images(tmp_path)
    assert Image.open(path).tobytes() == image.to_pil().tobytes()
    found = read_metadata(path)
    assert found is not None
    assert (found.prompt, found.model, found.route, found.seed) == (
        "a lighthouse",
        model,
        "images",
        seed,
    )
    assert found.parameters == {"size": "64x64", "output_format": output_format}
    assert found.cost_usd == response.usage.cost if response.usage else found.cost_usd is None
    assert found.generation_id == response.generation_id
    if shutil.which("exiftool"):
        read = subprocess.run(
            ["exiftool", "-j", "-XMP:all", str(path)], capture_output=True, text=True, check=True
        )
        (fields,) = json.loads(read.stdout)
        assert fields["Description"] == "a lighthouse"


def test_a_format_without_metadata_gets_a_sidecar(server: str, tmp_path: Path) -> None:
    with ImageClient(base_url=server) as client:
        response = client.generate("a logo", model="recraft/recraft-v3-svg", output_format="svg")
    (path,) = response.save_images(tmp_path)
    (image,) = response.images()
    assert path.read_bytes() == image.data  # an SVG is never rewritten
    found = read_metadata(path)
    assert found is not None and found.prompt == "a logo"
    assert sidecar_path(path).is_file()


def test_generate_from_an_image_repeats_it_byte_for_byte(server: str, tmp_path: Path) -> None:
    first = cli(
        "generate", "a harbour at dawn", "-m", SEEDED, "--seed", "7", "--size", "64x64",
        "-o", str(tmp_path / "first/"), base_url=server,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (made,) = (tmp_path / "first").iterdir()
    shown = cli("inspect", str(made), "--json", base_url=server)
    assert shown.returncode == 0, shown.stderr
    metadata = json.loads(shown.stdout)["metadata"]
    assert (metadata["prompt"], metadata["seed"], metadata["model"]) == (
        "a harbour at dawn",
        7,
        SEEDED,
    )
    again = cli(
        "generate", "--from", str(made), "-o", str(tmp_path / "again/"), "--no-metadata",
        base_url=server,
    )  # fmt: skip
    plain = cli(
        "generate", "a harbour at dawn", "-m", SEEDED, "--seed", "7", "--size", "64x64",
        "-o", str(tmp_path / "plain/"), "--no-metadata", base_url=server,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert plain.returncode == 0, plain.stderr
    (repeated,) = (tmp_path / "again").iterdir()
    (reference,) = (tmp_path / "plain").iterdir()
    assert repeated.read_bytes() == reference.read_bytes()
    assert read_metadata(repeated) is None  # --no-metadata wrote the bytes alone
    other = cli(
        "generate", "a harbour at dusk", "--from", str(made), "-o", str(tmp_path / "dusk/"),
        base_url=server,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    (dusk,) = (tmp_path / "dusk").iterdir()
    changed = read_metadata(dusk)
    assert changed is not None
    assert (changed.prompt, changed.seed, changed.model) == ("a harbour at dusk", 7, SEEDED)


def test_sidecar_flag_writes_one_beside_an_embedded_image(server: str, tmp_path: Path) -> None:
    result = cli(
        "generate", "a kite", "-m", SEEDED, "--size", "32x32", "-o", str(tmp_path / "k/"),
        "--sidecar", base_url=server,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    images = [p for p in (tmp_path / "k").iterdir() if p.suffix == ".png"]
    (image,) = images
    assert sidecar_path(image).is_file()
    assert json.loads(sidecar_path(image).read_text())["prompt"] == "a kite"


def test_generate_from_an_image_without_provenance_is_a_usage_error(
    server: str, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.png"
    Image.new("RGB", (8, 8)).save(bare)
    result = cli("generate", "--from", str(bare), "-o", str(tmp_path), base_url=server)
    assert result.returncode == 2
    assert "no provenance" in result.stderr
