"""The book (``make book``) in a real browser, served from 127.0.0.1 and cut off from the
internet: every page opens without a console error, every picture loads, every internal link
and anchor resolves, explorers show their stored pictures, search works, and the pages read on
a 375 px wide phone screen. Any request that leaves the machine fails the test.

The book is built afresh from the working tree (warnings as errors) into a temporary folder,
once per run; ``make unit`` builds it first (``make book``) and names that build in
``$MASKRCNN_TUTORIAL_BOOK``, which is then read instead of building it twice. Screenshots at
desktop and phone width go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import requires

from .conftest import NOT_LOCAL, why_no_browser
from .helpers import shot

ROOT = Path(__file__).resolve().parents[2]
PHONE, DESKTOP = 375, 1280
# A book `make book` has just built from this working tree (set by `make unit`).
BUILT_BOOK = "MASKRCNN_TUTORIAL_BOOK"
# Pages Sphinx writes besides the book's own (theme fragments, not pages a reader opens).
NOT_PAGES = ("_static/", "_downloads/", "_sources/")
# Pages that must show at least one picture, and the explorers they hold (widget snapshots).
EXPLORERS = {
    "notebooks/03_inside_the_network.html": 2,
    "notebooks/05_mask_tensor.html": 2,
    "notebooks/06_thresholds_and_overlays.html": 1,
}
# Each image's natural width, eager-loading lazy ones first.
IMAGE_WIDTHS_JS = """async () => Promise.all([...document.images].map(async (img) => {
    img.loading = 'eager';
    try { await img.decode(); } catch (e) {}
    return [img.getAttribute('src'), img.naturalWidth];
}))"""
# Every link (href, resolved) and every anchor target (id or name) on the page.
LINKS_JS = "() => [...document.querySelectorAll('a[href]')].map((a) => a.href)"
ANCHORS_JS = """() => [...document.querySelectorAll('[id], a[name]')]
    .map((el) => el.id || el.getAttribute('name'))"""
# How far the page scrolls sideways, and pictures that stick out of the screen.
WIDTH_JS = """() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
    wide: [...document.querySelectorAll('.bd-article img')]
        .filter((img) => img.getBoundingClientRect().right > window.innerWidth + 1)
        .map((img) => img.getAttribute('src')),
})"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The book built from this working tree, warnings as errors (or the build ``make book`` has
    just made, named in ``$MASKRCNN_TUTORIAL_BOOK``)."""
    if why_no_browser():
        requires.missing(why_no_browser())
    built = os.environ.get(BUILT_BOOK)
    if built:
        assert (Path(built) / "index.html").is_file(), f"${BUILT_BOOK}={built}: no book there"
        return Path(built)
    requires.module(
        "myst_nb", "no book tools: the docs extra is missing (pip install -e '.[docs]')"
    )
    from book.build import build

    out = tmp_path_factory.mktemp("book") / "html"
    assert build(out) == 0, "the book does not build cleanly (see Sphinx's messages above)"
    return out


@pytest.fixture(scope="module")
def site(book) -> Iterator[str]:
    """``book`` served on a free port of 127.0.0.1 (loopback only)."""
    handler = functools.partial(QuietHandler, directory=str(book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Visit:
    """A browser context of one width that records console errors, page errors, failed
    requests and every request that tried to leave the machine (blocked)."""

    def __init__(self, browser, width: int) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route(NOT_LOCAL, self._block)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)

    def _block(self, route) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({self.page.url})")

    def _failed(self, request) -> None:
        if request.url not in self.outside:
            self.errors.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status}: {response.url}")

    def open(self, url: str) -> None:
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def desktop(browser) -> Iterator[Visit]:
    visit = Visit(browser, DESKTOP)
    yield visit
    visit.close()


@pytest.fixture
def phone(browser) -> Iterator[Visit]:
    visit = Visit(browser, PHONE)
    yield visit
    visit.close()


def pages_of(book: Path) -> list[str]:
    """The book's pages, as paths relative to its root."""
    pages = [p.relative_to(book).as_posix() for p in sorted(book.rglob("*.html"))]
    return [p for p in pages if not p.startswith(NOT_PAGES)]


def split(url: str) -> tuple[str, str]:
    """(page path relative to the site, fragment) of a URL on the site."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path).lstrip("/") or "index.html"
    return (path + "index.html" if path.endswith("/") else path), parts.fragment


def test_every_page_opens_shows_its_pictures_and_links_resolve(book, site, desktop, artifacts):
    pages = pages_of(book)
    assert "index.html" in pages and "api.html" in pages
    notebooks = [p for p in pages if p.startswith("notebooks/0")]
    assert len(notebooks) >= 9, f"notebook pages: {notebooks}"
    anchors: dict[str, set[str]] = {}
    links: dict[str, set[str]] = {}  # target URL -> pages linking to it
    images = 0
    for path in pages:
        desktop.open(site + path)
        widths = desktop.page.evaluate(IMAGE_WIDTHS_JS)
        broken = [src for src, width in widths if width == 0]
        assert not broken, f"{path}: pictures that did not load: {broken}"
        images += len(widths)
        anchors[path] = set(desktop.page.evaluate(ANCHORS_JS))
        for link in desktop.page.evaluate(LINKS_JS):
            if link.startswith(site):
                links.setdefault(link, set()).add(path)
        body = desktop.page.locator("body").inner_text()
        assert "Loading widget" not in body, f"{path}: an explorer shows 'Loading widget...'"
        assert desktop.page.locator(".jupyter-widgets, .widget-subarea").count() == 0, path
        if path in notebooks:
            note = desktop.page.locator(".run-note")
            assert note.count() == 1, f"{path}: no note on how to run the notebook"
            text = note.inner_text()
            assert "make demo" in text and "make lab" in text and "make test" in text, text
            source = note.locator("a.download")
            assert source.get_attribute("href").endswith(Path(path).stem + ".ipynb"), path
            assert len(widths) > 0, f"{path}: a notebook page without a single picture"
    print(f"{len(pages)} pages, {images} pictures, {len(links)} internal links checked")

    for link, sources in sorted(links.items()):
        target, fragment = split(link)
        if target.endswith(".html"):
            assert target in anchors, f"{sorted(sources)} link to a missing page: {link}"
            if fragment:
                assert fragment in anchors[target], f"{sorted(sources)}: no anchor {link}"
        else:  # a download or a picture: it must be in the build
            assert (book / target).is_file(), f"{sorted(sources)} link to a missing file: {link}"

    for path, count in EXPLORERS.items():
        desktop.open(site + path)
        snapshots = desktop.page.locator("p.widget-snapshot")
        assert snapshots.count() == count, f"{path}: {snapshots.count()} explorer snapshots"
        for i in range(count):
            output = snapshots.nth(i).locator("xpath=ancestor::div[contains(@class,'cell')][1]")
            assert output.locator("img").count() >= 1, f"{path}: explorer {i} has no picture"
            assert "JupyterLab" in snapshots.nth(i).inner_text()
    snapshot = desktop.page.locator("p.widget-snapshot").first
    snapshot.scroll_into_view_if_needed()
    shot(desktop.page, artifacts, "explorer-snapshot.png")
    assert not desktop.errors, "\n".join(desktop.errors)
    assert not desktop.outside, f"requests that left the machine: {desktop.outside}"


@pytest.mark.parametrize("word", ["anchor", "RoIAlign"])
def test_search_finds(word, site, desktop):
    desktop.open(f"{site}search.html?q={word}")
    results = desktop.page.locator("#search-results ul.search li")
    results.first.wait_for()
    found = [
        split(href)[0]
        for href in results.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
    ]
    assert any(p.startswith("notebooks/") for p in found), f"'{word}' found only on {found}"
    assert not desktop.errors, "\n".join(desktop.errors)
    assert not desktop.outside, f"requests that left the machine: {desktop.outside}"


def test_pages_read_on_a_phone_and_look_right(book, site, phone, desktop, artifacts):
    for path in pages_of(book):
        phone.open(site + path)
        phone.page.evaluate(IMAGE_WIDTHS_JS)
        width = phone.page.evaluate(WIDTH_JS)
        assert width["scroll"] <= width["inner"] + 2, f"{path} scrolls sideways on a phone: {width}"
        assert not width["wide"], f"{path}: pictures wider than the phone: {width['wide']}"
    for name, path in [
        ("landing", "index.html"),
        ("notebook", "notebooks/06_thresholds_and_overlays.html"),
        ("api", "api.html"),
    ]:
        for visit, size in ((phone, PHONE), (desktop, DESKTOP)):
            visit.open(site + path)
            visit.page.evaluate(IMAGE_WIDTHS_JS)
            shot(visit.page, artifacts, f"{name}-{size}.png")
    for visit in (phone, desktop):
        assert not visit.errors, "\n".join(visit.errors)
        assert not visit.outside, f"requests that left the machine: {visit.outside}"
