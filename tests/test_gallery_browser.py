"""The gallery in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright runs the system's `/usr/bin/chromium` (it never downloads a
browser). The page is opened from disk (`file://`), as a user would: no
console error, every thumbnail decoded, the filters hide and show cards, and
a screenshot kept as a test artifact; with `OPENROUTER_IMAGEGEN_SCREENSHOT`
set, the screenshot also goes to `docs/gallery.png`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_gallery import MODELS, Image, make_comparison_folder

from openrouter_imagegen.gallery import write_gallery

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent (Debian/Ubuntu: apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is absent (pip install playwright; the dev extra)"
)

REPO = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOT = REPO / "docs" / "gallery.png"
# No network, no background services: the page must stand on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1000, "height": 900}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = make_comparison_folder(tmp_path_factory.mktemp("browser") / "compare")
    return write_gallery(directory, title="A lighthouse, three models, two seeds")


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gallery a real `compare_models` run against the emulator wrote."""
    import asyncio
    import concurrent.futures

    from openrouter_imagegen import AsyncImageClient, compare_models
    from openrouter_imagegen.emulator import run

    directory = tmp_path_factory.mktemp("compared") / "foxes"
    models = [
        "black-forest-labs/flux-1.1-pro",
        "bytedance-seed/seedream-4.5",
        "google/gemini-2.5-flash-image",
    ]

    async def compare(url: str) -> None:
        async with AsyncImageClient(base_url=url, api_key="") as client:
            await compare_models(
                "a red fox in fresh snow", models, directory, client=client, seeds=[1, 2],
                size="256x256",
            )  # fmt: skip

    # In a thread of its own: Playwright's sync API keeps an event loop running here.
    with run() as url, concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, compare(url)).result()
    return directory / "index.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


class Opened:
    """A page showing the gallery, with every console message, page error and request seen."""

    def __init__(self, browser: Any, gallery: Path) -> None:
        self.page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        self.page.set_default_timeout(TIMEOUT_MS)
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.goto(gallery.as_uri())

    def load_every_image(self) -> None:
        """Scroll each `<img>` into view, so that lazy ones load too, and wait for them all."""
        for image in self.page.locator("img").all():
            image.scroll_into_view_if_needed()
        self.page.wait_for_function("Array.from(document.images).every((i) => i.complete)")

    def visible_cards(self) -> int:
        count: int = self.page.locator(".card:visible").count()
        return count

    def tick(self, kind: str, value: str, checked: bool) -> None:
        box = self.page.locator(f'.filters input[data-filter="{kind}"][value="{value}"]')
        box.set_checked(checked)


@pytest.fixture
def opened(browser: Any, gallery: Path) -> Iterator[Opened]:
    shown = Opened(browser, gallery)
    try:
        yield shown
    finally:
        shown.page.close()


def test_the_page_opens_from_disk_with_no_error_and_every_thumbnail_loads(opened: Opened) -> None:
    opened.load_every_image()
    images = opened.page.evaluate(
        "Array.from(document.images).map((i) => "
        "({src: i.getAttribute('src'), complete: i.complete, width: i.naturalWidth}))"
    )
    # 6 compared, the hostile prompt's, the SVG, the unlisted portrait; the failed item has none
    assert len(images) == 9
    for image in images:
        assert image["complete"] and image["width"] > 0, image
    assert [text for kind, text in opened.console if kind in ("error", "warning")] == []
    assert opened.errors == []
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    # the SVG's own script never ran: no dialog, and the page is still the gallery
    assert opened.page.title() == "A lighthouse, three models, two seeds"


def test_the_filters_change_what_is_shown(opened: Opened) -> None:
    total = opened.page.locator(".card").count()
    assert opened.visible_cards() == total == 10
    first_model = opened.page.locator(f'.card[data-model="{MODELS[0]}"]').count()
    assert first_model == 3

    opened.tick("model", MODELS[0], False)
    assert opened.visible_cards() == total - first_model
    assert opened.page.locator("#shown").text_content() == f"{total - first_model} of {total} shown"

    opened.tick("status", "failed", False)
    assert opened.visible_cards() == total - first_model - 1
    assert opened.page.locator(".card.failed:visible").count() == 0

    # with none of the compared models left, the comparison has nothing to show and goes too
    for model in MODELS[1:]:
        opened.tick("model", model, False)
    assert opened.page.locator("section.comparison").is_hidden()
    assert opened.visible_cards() == 2  # the SVG and the portrait, each of another model

    for box in opened.page.locator(".filters input").all():
        box.set_checked(True)
    assert opened.visible_cards() == total
    assert opened.page.locator("section.comparison").is_visible()


def test_a_comparisons_gallery_shows_every_model_and_seed(browser: Any, compared: Path) -> None:
    shown = Opened(browser, compared)
    try:
        shown.load_every_image()
        assert shown.page.evaluate(
            "Array.from(document.images).every((i) => i.complete && i.naturalWidth > 0)"
        )
        assert shown.page.locator("section.comparison .card").count() == 6
        assert [text for kind, text in shown.console if kind in ("error", "warning")] == []
        assert all(url.startswith("file://") for url in shown.requests), shown.requests
        shown.tick("model", "bytedance-seed/seedream-4.5", False)
        assert shown.visible_cards() == 4
    finally:
        shown.page.close()


def test_a_screenshot_is_kept(browser: Any, compared: Path, tmp_path: Path) -> None:
    shown = Opened(browser, compared)
    try:
        shown.load_every_image()
        shown.page.evaluate("window.scrollTo(0, 0)")
        screenshot = tmp_path / "gallery.png"
        shown.page.screenshot(path=str(screenshot), full_page=True)
    finally:
        shown.page.close()
    data = screenshot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(data[16:20], "big") == VIEWPORT["width"]
    if os.environ.get("OPENROUTER_IMAGEGEN_SCREENSHOT"):
        # 256 colours: a quarter of the bytes, for a picture that lives in the repository
        with Image.open(screenshot) as shot:
            small = shot.convert("RGB").quantize(256, Image.Quantize.MEDIANCUT, dither=0)
        small.save(DOCS_SCREENSHOT, optimize=True)
