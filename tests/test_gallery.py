"""The static gallery: what `write_gallery` reads from a folder and the page it writes.

The folders are built here: scenes drawn with Pillow, provenance embedded
with `embed_metadata` or written as sidecars, an `index.jsonl` written the
way `batch` writes it, a failed item, a hostile prompt, an SVG with a script.
`make_comparison_folder` also feeds the browser test.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen._exceptions import ValidationError
from openrouter_imagegen.gallery import write_gallery
from openrouter_imagegen.gallery._items import GalleryItem, collect_items
from openrouter_imagegen.gallery._render import render_page
from openrouter_imagegen.gallery._thumbs import Preview
from openrouter_imagegen.images._metadata import ImageMetadata, embed_metadata, write_sidecar

Image = pytest.importorskip("PIL.Image")
ImageDraw = pytest.importorskip("PIL.ImageDraw")

PROMPT = "a lighthouse on a cliff at dusk"
HOSTILE = "<script>alert(1)</script> & \"quotes\" 'single' </dl></article>"
MODELS = ["openai/gpt-5-image", "google/gemini-2.5-flash-image", "black-forest-labs/flux-1.1-pro"]
SEEDS = [7, 42]
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
SVG_WITH_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">'
    '<rect width="300" height="200" fill="#2a7f62"/>'
    '<circle cx="150" cy="100" r="60" fill="#f4d35e"/>'
    "<script>alert('svg')</script></svg>"
)


# -- building folders ------------------------------------------------------------------------


def scene(seed: int, size: tuple[int, int] = (600, 400)) -> Any:
    """A sky gradient with a sun and hills, its colours and shapes drawn from `seed`."""
    rng = random.Random(seed)
    width, height = size
    top = tuple(rng.randrange(40, 256) for _ in range(3))
    bottom = tuple(rng.randrange(0, 160) for _ in range(3))
    mask = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
    draw = ImageDraw.Draw(image)
    x, y, r = rng.randrange(width), rng.randrange(height // 2), rng.randrange(30, 90)
    draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 200 + rng.randrange(55), 90))
    ground = tuple(rng.randrange(0, 120) for _ in range(3))
    hills = [(0, height)] + [
        (i * width // 6, height * 2 // 3 + rng.randrange(-60, 60)) for i in range(7)
    ]
    draw.polygon([*hills, (width, height)], fill=ground)
    # grain, so that the original is a realistic size, not a few flat runs
    noise = Image.effect_noise(size, 24).convert("RGB")
    return Image.blend(image, noise, 0.08)


def encoded(image: Any, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt != "PNG" else {"compress_level": 1}))
    return buffer.getvalue()


def provenance(prompt: str, model: str, seed: int | None, **extra: Any) -> ImageMetadata:
    return ImageMetadata(
        prompt=prompt,
        model=model,
        route="images",
        parameters={"size": "600x400", "quality": "high"},
        seed=seed,
        generation_id=f"gen-{model.split('/')[0]}-{seed}",
        cost_usd=0.04,
        created="2026-08-01T12:00:00Z",
        extra=extra,
    )


def save_with_metadata(path: Path, image: Any, fmt: str, metadata: ImageMetadata) -> Path:
    path.write_bytes(embed_metadata(encoded(image, fmt), FORMATS[fmt][1], metadata))
    return path


def index_line(
    key: str, prompt: str, model: str, files: list[str], status: str = "done", **more: Any
) -> dict[str, Any]:
    """A line as `batch` writes it (`options` and `latency_s` are the gallery's extras)."""
    line: dict[str, Any] = {
        "key": key,
        "prompt": prompt,
        "model": model,
        "files": files,
        "status": status,
        "cost_usd": 0.04 if status == "done" else None,
        "generation_id": f"gen-{key}" if status == "done" else None,
        "error": None,
    }
    return line | more


def write_index(directory: Path, lines: list[dict[str, Any]]) -> None:
    (directory / "index.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def make_comparison_folder(directory: Path) -> Path:
    """A `compare`-like output: one prompt over three models and two seeds, and then some.

    The first model's lines carry their seed in `options` (as `compare` will
    write them); the others' seeds come from the images' metadata only. Also:
    a failed item, a hostile prompt, an SVG holding a script, and an image the
    index does not list, described by its sidecar.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    formats = list(FORMATS)
    for m, model in enumerate(MODELS):
        for s, seed in enumerate(SEEDS):
            fmt = formats[(m + s) % len(formats)]
            name = f"lighthouse-{m}-{seed}.{FORMATS[fmt][0]}"
            metadata = provenance(PROMPT, model, seed, latency_s=2.5 + m + s / 10)
            save_with_metadata(directory / name, scene(10 * m + s), fmt, metadata)
            options = {"seed": seed, "size": "600x400", "endpoint": "images"} if m == 0 else None
            lines.append(index_line(f"c{m}{s}", PROMPT, model, [name], options=options))
    lines.append(
        index_line(
            "broken",
            PROMPT,
            MODELS[1],
            [],
            status="failed",
            error="BadRequestError: <b>seed</b> out of range & more",
            options={"seed": -1},
        )
    )
    save_with_metadata(
        directory / "hostile.png", scene(99, (400, 400)), "PNG", provenance(HOSTILE, MODELS[0], 1)
    )
    lines.append(index_line("hostile", HOSTILE, MODELS[0], ["hostile.png"]))
    (directory / "logo.svg").write_text(SVG_WITH_SCRIPT)
    lines.append(index_line("svg", "a flat logo of a sun", "recraft/recraft-v3-svg", ["logo.svg"]))
    write_index(directory, lines)
    scene(123, (500, 700)).save(directory / "portrait.jpg", quality=90)
    write_sidecar(
        directory / "portrait.jpg", provenance("a portrait of a keeper", "openai/gpt-image-1", 5)
    )
    return directory


def make_plain_folder(directory: Path) -> Path:
    """Saved images without an index: embedded metadata, a sidecar, none, and a non-image."""
    directory.mkdir(parents=True, exist_ok=True)
    save_with_metadata(directory / "a.png", scene(1), "PNG", provenance("a fox", MODELS[0], 3))
    save_with_metadata(directory / "b.webp", scene(2), "WEBP", provenance(HOSTILE, MODELS[1], 4))
    scene(3).save(directory / "c.jpg", quality=90)
    write_sidecar(directory / "c.jpg", provenance("a heron", MODELS[2], None))
    scene(4).save(directory / "d.png", compress_level=1)
    (directory / "notes.txt").write_text("not an image\n")
    return directory


# -- reading the page ----------------------------------------------------------------------------


_VOID = {"meta", "link", "img", "input", "br", "hr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, tag: str, cls: str | None = None) -> list[Node]:
        return [
            node
            for node in self.walk()
            if node.tag == tag and (cls is None or cls in node.attrs.get("class", "").split())
        ]

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(node)
        if tag not in _VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self.open[-1].tag == tag, f"</{tag}> closes <{self.open[-1].tag}>"
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(Node("#text", {}, text=data))


def parse(page: str) -> Node:
    """The page as a tree; an end tag that closes the wrong element fails the test."""
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.open == [builder.root], "unclosed elements"
    return builder.root


def cards(root: Node) -> list[Node]:
    return root.find("article", "card")


def card_fact(card: Node, name: str) -> str:
    (facts,) = card.find("dl", "facts")
    labels = [child for child in facts.children if child.tag in ("dt", "dd")]
    for label, value in zip(labels[::2], labels[1::2], strict=True):
        if label.all_text() == name:
            return value.all_text()
    raise AssertionError(f"no fact {name!r}")


def image_files(directory: Path) -> list[str]:
    suffixes = {".png", ".jpg", ".webp", ".svg"}
    return sorted(p.name for p in directory.iterdir() if p.suffix in suffixes)


# -- the page ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Node]:
    """The comparison folder and its page, read by the tests below and never changed."""
    directory = make_comparison_folder(tmp_path_factory.mktemp("compare"))
    page = write_gallery(directory)
    text = page.read_text(encoding="utf-8")
    return directory, text, parse(text)


def test_the_page_shows_every_image_and_references_no_web_address(
    comparison: tuple[Path, str, Node],
) -> None:
    directory, text, root = comparison
    linked = {a.attrs["href"] for a in root.find("a")}
    shown = {img.attrs["src"] for img in root.find("img")}
    for name in image_files(directory):
        if name != "logo.svg":  # holds a script: shown, never linked
            assert name in linked
    assert "logo.svg" in shown and "logo.svg" not in linked
    assert len(root.find("img")) == len(image_files(directory))
    assert not re.search(r"https?://", text, re.IGNORECASE)
    for img in root.find("img"):
        assert img.attrs["loading"] == "lazy"
        assert not img.attrs["src"].startswith(("/", "file:", "data:"))


def test_thumbnails_exist_and_are_smaller_than_their_originals(
    comparison: tuple[Path, str, Node],
) -> None:
    directory, _, root = comparison
    for anchor in root.find("a"):
        (img,) = anchor.find("img")
        thumbnail = directory / img.attrs["src"]
        original = directory / anchor.attrs["href"]
        assert thumbnail.parent.name == ".thumbs"
        assert thumbnail.stat().st_size < original.stat().st_size
        with Image.open(thumbnail) as small, Image.open(original) as big:
            assert max(small.size) == 320
            assert (int(img.attrs["width"]), int(img.attrs["height"])) == small.size
            # the aspect ratio is kept, to the pixel
            assert abs(small.width / small.height - big.width / big.height) < 0.01


def test_text_from_the_folder_is_escaped_and_the_svg_is_never_inlined(
    comparison: tuple[Path, str, Node],
) -> None:
    _, text, root = comparison
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>seed</b>" not in text
    assert len(root.find("script")) == 1  # the page's own
    assert "<svg" not in text and "alert('svg')" not in text
    prompts = [p for card in cards(root) for p in card.find("p", "prompt")]
    (hostile,) = [p for p in prompts if p.all_text() == HOSTILE]
    assert hostile.attrs["title"] == HOSTILE


def test_a_comparison_is_a_grid_of_seeds_by_models(comparison: tuple[Path, str, Node]) -> None:
    _, _, root = comparison
    (section,) = root.find("section", "comparison")
    assert section.find("h2")[0].all_text() == PROMPT
    (table,) = section.find("table")
    (head,) = table.find("thead")
    assert [th.all_text() for th in head.find("th")][1:] == MODELS
    rows = table.find("tbody")[0].find("tr")
    assert [row.find("th")[0].all_text() for row in rows] == [
        *(f"seed {s}" for s in SEEDS),
        "seed -1",
    ]
    for row, seed in zip(rows, SEEDS, strict=False):
        for cell, model in zip(row.find("td"), MODELS, strict=True):
            (card,) = cards(cell)
            assert card.attrs["data-model"] == model
            assert card_fact(card, "seed") == str(seed)
            assert card_fact(card, "status") == "done"
    # the failed item with seed -1 sits under its model, the other cells of its row are empty
    failed_row = [len(cards(cell)) for cell in rows[2].find("td")]
    assert failed_row == [0, 1, 0]


def test_each_card_shows_model_seed_parameters_cost_latency_and_status(
    comparison: tuple[Path, str, Node],
) -> None:
    _, _, root = comparison
    first = next(c for c in cards(root) if c.attrs["data-model"] == MODELS[0])
    # the first model's lines carry options: they win over the metadata's parameters
    assert card_fact(first, "parameters") == "size=600x400"
    assert card_fact(first, "cost") == "$0.0400"
    assert card_fact(first, "latency") == "2.5 s"
    second = next(c for c in cards(root) if c.attrs["data-model"] == MODELS[1])
    assert card_fact(second, "parameters") == "quality=high, size=600x400"  # as stored
    assert card_fact(second, "seed") == "7"  # from the metadata
    svg = next(c for c in cards(root) if c.attrs["data-model"] == "recraft/recraft-v3-svg")
    assert [card_fact(svg, name) for name in ("seed", "latency", "parameters")] == ["-"] * 3
    summary = root.find("p", "summary")[0].all_text()
    assert summary.startswith("10 items · 9 done · 1 failed · cost $0.3600")


def test_a_failed_item_is_a_card_with_its_reason_and_no_image(
    comparison: tuple[Path, str, Node],
) -> None:
    _, _, root = comparison
    (failed,) = [c for c in cards(root) if c.attrs["data-status"] == "failed"]
    assert "failed" in failed.attrs["class"].split()
    assert not failed.find("img")
    assert failed.find("div", "noimage")[0].all_text() == "failed: no image"
    assert failed.find("p", "error")[0].all_text() == (
        "BadRequestError: <b>seed</b> out of range & more"
    )


def test_the_filters_list_every_model_and_status_with_their_counts(
    comparison: tuple[Path, str, Node],
) -> None:
    _, _, root = comparison
    boxes = root.find("input")
    models = {b.attrs["value"]: b for b in boxes if b.attrs["data-filter"] == "model"}
    statuses = {b.attrs["value"] for b in boxes if b.attrs["data-filter"] == "status"}
    assert set(models) == {c.attrs["data-model"] for c in cards(root)}
    assert statuses == {"done", "failed"}
    assert all("checked" in b.attrs for b in boxes)
    labels = [label.all_text().strip() for label in root.find("label")]
    assert f"{MODELS[1]} (3)" in labels and "failed (1)" in labels


def test_the_content_security_policy_allows_only_the_page_own_style_and_script(
    comparison: tuple[Path, str, Node],
) -> None:
    import base64
    import hashlib

    _, _, root = comparison
    (meta,) = [m for m in root.find("meta") if m.attrs.get("http-equiv")]
    policy = meta.attrs["content"]
    assert "default-src 'none'" in policy
    for tag in ("script", "style"):
        (element,) = root.find(tag)
        digest = hashlib.sha256(element.all_text().encode("utf-8")).digest()
        assert f"{tag}-src 'sha256-{base64.b64encode(digest).decode()}'" in policy
    assert "unsafe" not in policy


# -- the data model ------------------------------------------------------------------------------


def test_items_come_from_the_index_with_the_metadata_filling_the_gaps(tmp_path: Path) -> None:
    directory = make_comparison_folder(tmp_path / "compare")
    items = collect_items(directory)
    assert [item.key for item in items] == [
        *(f"c{m}{s}" for m in range(3) for s in range(2)),
        "broken",
        "hostile",
        "svg",
        "portrait.jpg",
    ]
    first, second = items[0], items[2]
    assert (first.seed, dict(first.parameters)) == (7, {"size": "600x400"})  # from options
    assert (second.seed, dict(second.parameters)) == (7, {"size": "600x400", "quality": "high"})
    assert (first.latency_s, first.generation_id) == (2.5, "gen-c00")  # index over metadata
    broken = items[6]
    assert (broken.status, broken.seed, broken.files) == ("failed", -1, ())
    portrait = items[-1]
    assert (portrait.prompt, portrait.model, portrait.seed) == (
        "a portrait of a keeper",
        "openai/gpt-image-1",
        5,
    )


def test_a_plain_folder_shows_each_image_with_its_metadata(tmp_path: Path) -> None:
    directory = make_plain_folder(tmp_path / "plain")
    os.mkfifo(directory / "pipe.png")  # skipped without being opened: opening would block
    (directory / "folder.png").mkdir()
    items = collect_items(directory)
    assert [item.files for item in items] == [("a.png",), ("b.webp",), ("c.jpg",), ("d.png",)]
    assert [item.prompt for item in items] == ["a fox", HOSTILE, "a heron", None]
    assert [item.model for item in items] == [*MODELS, None]
    assert all(item.status == "done" for item in items)
    text = write_gallery(directory, title="Plain <folder>").read_text(encoding="utf-8")
    root = parse(text)
    assert root.find("title")[0].all_text() == "Plain <folder>"
    assert "<folder>" not in text
    assert {a.attrs["href"] for a in root.find("a")} == {"a.png", "b.webp", "c.jpg", "d.png"}
    unknown = next(c for c in cards(root) if c.attrs["data-model"] == "")
    assert card_fact(unknown, "model") == "-"
    assert len(list((directory / ".thumbs").iterdir())) == 4


def test_listed_files_outside_the_folder_or_missing_are_noted_not_shown(tmp_path: Path) -> None:
    directory = tmp_path / "out"
    directory.mkdir()
    scene(5).save(tmp_path / "secret.png")
    (directory / "link.png").symlink_to(tmp_path / "secret.png")
    write_index(
        directory,
        [index_line("k", "p", "m", ["../secret.png", str(tmp_path / "secret.png"), "gone.png",
                                    "link.png"])],
    )  # fmt: skip
    (item,) = collect_items(directory)
    assert item.files == ()
    assert [note.split(": ")[1] for note in item.notes] == [
        "outside the folder, not shown",
        "outside the folder, not shown",
        "missing",
        "outside the folder, not shown",
    ]
    root = parse(write_gallery(directory).read_text(encoding="utf-8"))
    assert not root.find("img")
    assert len(root.find("ul", "notes")[0].find("li")) == 4


def test_an_undecodable_image_gets_a_reason_instead_of_a_preview(tmp_path: Path) -> None:
    directory = tmp_path / "out"
    directory.mkdir()
    good = encoded(scene(6), "PNG")
    (directory / "cut.png").write_bytes(good[: len(good) // 3])
    (directory / "fine.png").write_bytes(good)
    root = parse(write_gallery(directory).read_text(encoding="utf-8"))
    (cut, fine) = cards(root)
    assert not cut.find("img")
    assert cut.find("div", "noimage")[0].all_text().startswith("no preview: Pillow cannot read")
    assert fine.find("img")


def test_a_thumbnail_is_upright_when_the_camera_was_turned(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the stored pixels are to be turned 90 degrees clockwise
    scene(9).save(tmp_path / "turned.jpg", quality=90, exif=exif)
    root = parse(write_gallery(tmp_path).read_text(encoding="utf-8"))
    (img,) = root.find("img")
    with Image.open(tmp_path / img.attrs["src"]) as thumbnail:
        assert thumbnail.size == (213, 320)  # 600x400, turned, then fitted


def test_an_image_past_pillow_pixel_limit_is_not_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene(8).save(tmp_path / "huge.png", compress_level=1)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    root = parse(write_gallery(tmp_path).read_text(encoding="utf-8"))
    (card,) = cards(root)
    assert "decompression bomb" in card.find("div", "noimage")[0].all_text()
    assert not (tmp_path / ".thumbs").exists()


def test_thumbnails_are_reused_and_those_of_replaced_images_removed(tmp_path: Path) -> None:
    directory = make_plain_folder(tmp_path / "plain")
    write_gallery(directory)
    thumbs = directory / ".thumbs"
    before = {p.name: p.stat().st_mtime_ns for p in thumbs.iterdir()}
    write_gallery(directory)
    assert {p.name: p.stat().st_mtime_ns for p in thumbs.iterdir()} == before
    scene(77).save(directory / "d.png", compress_level=1)
    write_gallery(directory)
    after = {p.name for p in thumbs.iterdir()}
    assert len(after) == 4 and len(after - set(before)) == 1


def test_an_empty_folder_gets_a_page_saying_so(tmp_path: Path) -> None:
    text = write_gallery(tmp_path).read_text(encoding="utf-8")
    assert "No images in this folder." in text
    assert not (tmp_path / ".thumbs").exists()


def test_a_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="not a directory"):
        write_gallery(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"{not json", r"line 2: not JSON \(Expecting property name"),
        (b"[1, 2]", r"line 2: \$: expected a JSON object"),
        (b'{"files": "a.png"}', r"line 2: \$\.files: expected a list of file names"),
        (b'{"cost_usd": "free"}', r"line 2: \$\.cost_usd: expected a number or null"),
        (b'{"options": {"seed": 1}, "seed": "7"}', r"line 2: \$\.seed: expected an integer"),
        (b'{"prompt": 5}', r"line 2: \$\.prompt: expected a string or null"),
        (b'{"key": "\xff"}', r"line 2: not UTF-8 \(byte 9 of the line\)"),
    ],
)
def test_a_malformed_index_line_raises_naming_the_line_and_field(
    tmp_path: Path, line: bytes, message: str
) -> None:
    (tmp_path / "index.jsonl").write_bytes(b'{"key": "ok", "status": "pending"}\n' + line + b"\n")
    with pytest.raises(ValidationError, match=message):
        write_gallery(tmp_path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_FIELDS = ["key", "prompt", "model", "files", "status", "cost_usd", "latency_s", "seed",
           "generation_id", "error", "options"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_FIELDS), _JSON, max_size=6))
def test_any_index_line_is_an_item_or_a_validation_error(entry: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "index.jsonl").write_text(json.dumps(entry) + "\n")
        try:
            (item,) = collect_items(Path(folder))
        except ValidationError as exc:
            assert exc.path is not None and exc.path.startswith("$")
            return
        assert item.files == ()  # no file listed exists
        assert isinstance(item.key, str) and isinstance(item.status, str)


@settings(max_examples=100, deadline=None)
@given(
    prompt=st.text(min_size=1),
    model=st.text(),
    error=st.text(),
    status=st.sampled_from(["done", "failed", "pending", "<b>odd</b>"]),
)
def test_no_text_from_a_folder_becomes_markup(
    prompt: str, model: str, error: str, status: str
) -> None:
    item = GalleryItem(key="k", status=status, prompt=prompt, model=model, error=error or None)
    root = parse(render_page(prompt, [item], lambda name: Preview(None)))
    (card,) = cards(root)
    assert card.attrs["data-model"] == model and card.attrs["data-status"] == status
    assert card_fact(card, "model") == (model or "-")
    if error:
        assert card.find("p", "error")[0].all_text() == error
    assert len(root.find("script")) == 1
    assert root.find("title")[0].all_text() == prompt


# -- a real batch, and the command ----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_gallery_of_a_real_batch_output(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from openrouter_imagegen.cli import _batch
    from openrouter_imagegen.client import AsyncImageClient
    from openrouter_imagegen.emulator import run

    prompts = tmp_path / "prompts.jsonl"
    lines = [
        {"prompt": "a red kite", "model": model, "seed": seed, "size": "64x64"}
        for model in ("openai/gpt-5-image", "black-forest-labs/flux-1.1-pro")
        for seed in (1, 2)
    ]
    lines.append({"prompt": "no such thing", "bogus": True})
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "out"
    with run() as url:
        async with AsyncImageClient(base_url=url, api_key="k") as client:
            await _batch.run_batch(
                prompts, out, client=client, default_model="openai/gpt-5-image",
                concurrency=2, report=_batch.BatchReport(),
            )  # fmt: skip
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    root = parse(write_gallery(out).read_text(encoding="utf-8"))
    linked = {a.attrs["href"] for a in root.find("a")}
    done = [entry for entry in index if entry["status"] == "done"]
    assert len(done) == 4
    assert linked == {name for entry in done for name in entry["files"]}
    statuses = sorted(c.attrs["data-status"] for c in cards(root))
    assert statuses == ["done"] * 4 + ["failed"]
    (failed,) = [c for c in cards(root) if c.attrs["data-status"] == "failed"]
    assert "unknown field(s) ['bogus']" in failed.find("p", "error")[0].all_text()


def test_the_gallery_command_writes_the_page_and_prints_its_path(tmp_path: Path) -> None:
    pytest.importorskip("click")
    from click.testing import CliRunner

    from openrouter_imagegen.cli._gallery_command import gallery

    directory = make_plain_folder(tmp_path / "plain")
    result = CliRunner().invoke(gallery, [str(directory), "--title", "My <run>"])
    assert result.exit_code == 0, result.output
    page = Path(result.output.strip())
    assert page == directory / "index.html"
    assert "<title>My &lt;run&gt;</title>" in page.read_text(encoding="utf-8")
    missing = CliRunner().invoke(gallery, [str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
