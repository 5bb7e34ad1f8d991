"""End-to-end tests of the model downloader against a local HTTP server on 127.0.0.1.

The server hands out small fake tarballs and text graphs; each test builds a :class:`Source`
pinned to those files' own checksums. After every failure the cache must be empty: no temporary
file, no partial model, no folder the fetch created.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import temp_beside
from maskrcnn_tutorial.models import COCO_NAME, coco_spec
from maskrcnn_tutorial.models.fetch import (
    COCO_SOURCE,
    Source,
    extract_member,
    fetch_coco,
    is_unsafe_member_name,
    sha1_file,
)

MEMBER = f"{COCO_NAME}/frozen_inference_graph.pb"
WEIGHTS = random.Random(0).randbytes(200_000)  # incompressible: several chunks on the wire
CONFIG = b'node { name: "fake text graph" }\n' * 40
CONFIG_OLD = b'node { name: "older text graph" }\n' * 40
TARBALL_PATH = "/models/model.tar.gz"
CONFIG_PATH = "/models/graph.pbtxt"


def sha1(data: bytes) -> str:
    """The hex sha1 of ``data``."""
    return hashlib.sha1(data).hexdigest()


# -- tarballs -------------------------------------------------------------------------------------

Entry = tuple[tarfile.TarInfo, bytes | None]


def regular(name: str, data: bytes) -> Entry:
    """A regular-file tar entry."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> Entry:
    """A data-less tar entry of type ``kind`` (directory, link, device...)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, None


def make_tarball(*entries: Entry) -> bytes:
    """A gzipped tarball holding ``entries``, in memory."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


GOOD_TARBALL = make_tarball(
    special(COCO_NAME, tarfile.DIRTYPE),
    regular(f"{COCO_NAME}/pipeline.config", b"model { }\n"),
    regular(MEMBER, WEIGHTS),
)


# -- the local server -----------------------------------------------------------------------------


@dataclasses.dataclass
class Route:
    """What the server answers for one path: a body and the Content-Length it announces."""

    body: bytes
    length: int | None = None


class Site:
    """A threaded HTTP server on 127.0.0.1 with a table of routes; anything else is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                site.requests.append(self.path)
                route = site.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                length = route.length if route.length is not None else len(route.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(route.body)  # HTTP/1.0: the connection closes after this

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def serve(self, path: str, body: bytes, *, length: int | None = None) -> None:
        """Answer ``path`` with ``body``, announcing ``length`` bytes (default: the body's)."""
        self.routes[path] = Route(body, length)

    def source(self, tarball: bytes = GOOD_TARBALL, config: bytes = CONFIG) -> Source:
        """Serve ``tarball`` and ``config`` and return a :class:`Source` pinned to them."""
        self.serve(TARBALL_PATH, tarball)
        self.serve(CONFIG_PATH, config)
        return Source(
            tarball_url=self.url(TARBALL_PATH),
            tarball_sha1=sha1(tarball),
            member=MEMBER,
            member_sha1=sha1(WEIGHTS),
            config_url=self.url(CONFIG_PATH),
            config_sha1s=frozenset({sha1(config)}),
        )


@pytest.fixture(autouse=True)
def local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy, and any URL other than 127.0.0.1 fails the test instead of leaving the machine."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    real = urllib.request.urlopen

    def guarded(url: str, *args: object, **kwargs: object) -> object:
        assert urlsplit(url).hostname == "127.0.0.1", f"test tried to reach {url}"
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


@pytest.fixture
def site() -> Iterator[Site]:
    """A running :class:`Site`, shut down after the test."""
    site = Site()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
    site.thread.join()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache directory that does not exist yet (the fetch creates it)."""
    return tmp_path / "cache"


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """A folder for files 'downloaded elsewhere', outside the cache."""
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def leftovers(cache: Path) -> list[Path]:
    """Everything under ``cache`` (files and folders), empty when it does not exist."""
    return sorted(cache.rglob("*")) if cache.exists() else []


def fails(cache: Path, *words: str, fetch: Callable[[], object]) -> str:
    """Run ``fetch``; check it raises a one-line UserError with ``words`` and leaves nothing."""
    with pytest.raises(UserError) as excinfo:
        fetch()
    message = str(excinfo.value)
    assert "\n" not in message
    for word in words:
        assert word in message
    assert leftovers(cache) == []
    return message


def assert_installed(cache: Path, config: bytes = CONFIG) -> None:
    """Both files are in place with the right bytes, and nothing else is in the cache."""
    spec = coco_spec(cache)
    assert spec.weights.read_bytes() == WEIGHTS
    assert spec.config.read_bytes() == config
    assert leftovers(cache) == sorted([spec.weights.parent, spec.weights, spec.config])


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- the source and the helpers -------------------------------------------------------------------


def test_coco_source_pins_the_published_files() -> None:
    assert COCO_SOURCE.tarball_url.endswith(f"/{COCO_NAME}.tar.gz")
    assert COCO_SOURCE.tarball_name == f"{COCO_NAME}.tar.gz"
    assert COCO_SOURCE.tarball_sha1 == "f8a920756744d0f7ee812b3ec2474979f74ab40c"
    assert COCO_SOURCE.member == MEMBER
    assert COCO_SOURCE.member_sha1 == "c8adff66a1e23e607f57cf1a7cfabad0faa371f9"
    assert COCO_SOURCE.config_url.endswith(f"/{COCO_NAME}.pbtxt")
    assert COCO_SOURCE.config_sha1s == {
        "31208559adc3c8ae210db9961e89558b6715ffc8",
        "1a78964949c5daabcae24a13530e63c0a00346f2",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        COCO_SOURCE.member = "elsewhere"  # type: ignore[misc]


def test_sha1_file(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(WEIGHTS)
    assert sha1_file(path) == sha1(WEIGHTS)


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        (MEMBER, False),
        ("a/b..c", False),
        ("../evil", True),
        (f"{COCO_NAME}/../../evil", True),
        ("/etc/evil", True),
        ("\\evil", True),
        ("C:evil", True),
        ("a\\..\\..\\evil", True),
    ],
)
def test_is_unsafe_member_name(name: str, unsafe: bool) -> None:
    assert is_unsafe_member_name(name) is unsafe


def test_extract_member_copies_only_the_member(tmp_path: Path) -> None:
    tarball = tmp_path / "model.tar.gz"
    tarball.write_bytes(GOOD_TARBALL)
    dest = tmp_path / "out" / "weights.pb"
    dest.parent.mkdir()
    assert extract_member(tarball, MEMBER, dest) == sha1(WEIGHTS)
    assert dest.read_bytes() == WEIGHTS
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["model.tar.gz", "out", "weights.pb"]


# -- online ---------------------------------------------------------------------------------------


def test_fetch_installs_both_files_with_a_progress_bar(
    site: Site, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = fetch_coco(cache, source=site.source(), progress=True)
    assert spec == coco_spec(cache)
    assert spec.available
    assert_installed(cache)
    assert "model.tar.gz" in capsys.readouterr().err  # the bar's label


def test_fetch_accepts_every_known_revision_of_the_text_graph(site: Site, cache: Path) -> None:
    source = site.source(config=CONFIG_OLD)
    source = dataclasses.replace(source, config_sha1s=frozenset({sha1(CONFIG), sha1(CONFIG_OLD)}))
    fetch_coco(cache, source=source, progress=False)
    assert_installed(cache, config=CONFIG_OLD)


def test_verified_files_are_not_downloaded_again(
    site: Site, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = site.source()
    fetch_coco(cache, source=source, progress=False)
    site.requests.clear()
    site.routes.clear()  # a second download would now be a 404
    capsys.readouterr()
    fetch_coco(cache, source=source, progress=False)
    assert site.requests == []
    assert capsys.readouterr().err.count("already in place") == 2
    assert_installed(cache)


def test_a_corrupt_file_in_the_cache_is_replaced(site: Site, cache: Path) -> None:
    spec = coco_spec(cache)
    spec.weights.parent.mkdir(parents=True)
    spec.weights.write_bytes(b"half a model")
    fetch_coco(cache, source=site.source(), progress=False)
    assert_installed(cache)


def test_a_verified_file_stays_when_the_other_fails(site: Site, cache: Path) -> None:
    spec = coco_spec(cache)
    spec.config.parent.mkdir(parents=True)
    spec.config.write_bytes(CONFIG)
    source = site.source()
    del site.routes[TARBALL_PATH]
    with pytest.raises(UserError, match="HTTP 404"):
        fetch_coco(cache, source=source, progress=False)
    assert leftovers(cache) == [spec.config.parent, spec.config]


def test_corrupt_tarball(site: Site, cache: Path) -> None:
    source = site.source()
    site.serve(TARBALL_PATH, GOOD_TARBALL[:-10] + b"0123456789")
    fails(
        cache,
        "checksum mismatch",
        source.tarball_url,
        source.tarball_sha1,
        "run the command again",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_corrupt_text_graph(site: Site, cache: Path) -> None:
    source = site.source()
    site.serve(CONFIG_PATH, CONFIG_OLD)
    fails(
        cache,
        "checksum mismatch",
        source.config_url,
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


@pytest.mark.parametrize("path", [TARBALL_PATH, CONFIG_PATH])
def test_truncated_download(site: Site, cache: Path, path: str) -> None:
    source = site.source()
    body = site.routes[path].body
    site.serve(path, body[: len(body) // 2], length=len(body))
    fails(
        cache,
        "cut short",
        f"{len(body) // 2} of {len(body)} bytes",
        fetch=lambda: fetch_coco(cache, source=source, progress=True),
    )


@pytest.mark.parametrize("announced", [True, False])
@pytest.mark.parametrize("path", [TARBALL_PATH, CONFIG_PATH])
def test_a_download_over_its_size_cap_is_cut_off(
    site: Site, cache: Path, monkeypatch: pytest.MonkeyPatch, path: str, announced: bool
) -> None:
    from maskrcnn_tutorial.models import fetch

    source = site.source()
    cap = "MAX_TARBALL_BYTES" if path == TARBALL_PATH else "MAX_CONFIG_BYTES"
    monkeypatch.setattr(fetch, cap, len(site.routes[path].body) - 1)  # one byte too many
    if not announced:  # a server that announces no length is cut off while reading
        monkeypatch.setattr(fetch, "_content_length", lambda headers: None)
    fails(
        cache,
        "is over",
        "it is not the file expected",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_tarball_not_found(site: Site, cache: Path) -> None:
    source = site.source()
    del site.routes[TARBALL_PATH]
    fails(
        cache,
        "HTTP 404",
        source.tarball_url,
        "fetch coco --from FILE",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_text_graph_not_found(site: Site, cache: Path) -> None:
    source = site.source()
    del site.routes[CONFIG_PATH]
    fails(
        cache,
        "HTTP 404",
        source.config_url,
        "--config FILE",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_server_unreachable_says_how_to_install_offline(cache: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    source = dataclasses.replace(
        COCO_SOURCE, tarball_url=f"{url}/model.tar.gz", config_url=f"{url}/graph.pbtxt"
    )
    fails(
        cache,
        "cannot reach",
        source.config_url,  # the small file is tried first
        source.tarball_url,
        "fetch coco --from TARBALL --config FILE",
        fetch=lambda: fetch_coco(cache, source=source),
    )


def test_tarball_unreachable_with_a_local_text_graph(cache: Path, downloads: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    source = dataclasses.replace(
        COCO_SOURCE, tarball_url=f"{url}/model.tar.gz", config_sha1s=frozenset({sha1(CONFIG)})
    )
    config = downloads / "graph.pbtxt"
    config.write_bytes(CONFIG)
    fails(
        cache,
        "cannot reach",
        source.tarball_url,
        "run 'maskrcnn-tutorial fetch coco --from FILE'",
        fetch=lambda: fetch_coco(cache, config=config, source=source),
    )


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([regular("../evil", b"x"), regular(MEMBER, WEIGHTS)], id="parent"),
        pytest.param(
            [regular(f"{COCO_NAME}/../../evil", b"x"), regular(MEMBER, WEIGHTS)], id="nested"
        ),
        pytest.param([regular("/ABSOLUTE/evil", b"x"), regular(MEMBER, WEIGHTS)], id="absolute"),
        pytest.param([regular("../" + MEMBER, WEIGHTS)], id="member-outside"),
        pytest.param([special(MEMBER, tarfile.SYMTYPE, "../../evil")], id="symlink"),
        pytest.param(
            [regular("evil", WEIGHTS), special(MEMBER, tarfile.LNKTYPE, "evil")], id="hardlink"
        ),
        pytest.param([special(MEMBER, tarfile.CHRTYPE)], id="device"),
        pytest.param([special(MEMBER, tarfile.FIFOTYPE)], id="fifo"),
    ],
)
def test_unsafe_tarball_is_refused(
    site: Site, tmp_path: Path, cache: Path, entries: list[Entry]
) -> None:
    source = site.source(tarball=make_tarball(*entries))
    fails(
        cache,
        "refusing",
        source.tarball_url,
        "download it again",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )
    assert list(tmp_path.iterdir()) == []  # nothing written next to the cache either


def test_tarball_without_the_member(site: Site, cache: Path) -> None:
    source = site.source(tarball=make_tarball(regular("other/frozen_inference_graph.pb", WEIGHTS)))
    fails(
        cache,
        "has no member",
        MEMBER,
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_member_with_the_wrong_checksum(site: Site, cache: Path) -> None:
    source = dataclasses.replace(site.source(), member_sha1="0" * 40)
    fails(
        cache,
        "checksum mismatch",
        MEMBER,
        "0" * 40,
        sha1(WEIGHTS),
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


def test_a_file_that_is_not_a_tarball(site: Site, cache: Path) -> None:
    source = site.source(tarball=b"<html>not found</html>")
    fails(
        cache,
        "not a readable tarball",
        fetch=lambda: fetch_coco(cache, source=source, progress=False),
    )


@pytest.mark.parametrize("path", [TARBALL_PATH, CONFIG_PATH])
def test_interrupted_download(
    site: Site, cache: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    source = site.source()
    folder = coco_spec(cache).weights.parent
    real = urllib.request.urlopen
    seen: list[str] = []

    class Interrupting:
        """A response that delivers one chunk, then the user presses Ctrl-C."""

        def __init__(self, response: object) -> None:
            self.response = response
            self.headers = response.headers  # type: ignore[attr-defined]
            self.reads = 0

        def read(self, size: int) -> bytes:
            self.reads += 1
            if self.reads > 1:
                seen.extend(p.name for p in folder.iterdir())
                raise KeyboardInterrupt
            return self.response.read(size)  # type: ignore[attr-defined]

        def __enter__(self) -> Interrupting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.response.close()  # type: ignore[attr-defined]

    def urlopen(url: str, *args: object, **kwargs: object) -> object:
        response = real(url, *args, **kwargs)
        return Interrupting(response) if url.endswith(path) else response

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with pytest.raises(KeyboardInterrupt):  # goes through: the command line ends 128 + signal
        fetch_coco(cache, source=source, progress=True)
    assert leftovers(cache) == []
    assert any(name.endswith(".part") for name in seen)  # a partial file existed mid-way


def test_unwritable_cache(site: Site, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = blocker / "cache"
    fails(
        cache,
        "cannot write",
        "MASKRCNN_TUTORIAL_CACHE",
        fetch=lambda: fetch_coco(cache, source=site.source(), progress=False),
    )


# -- from local files -----------------------------------------------------------------------------


def test_from_local_tarball_downloads_the_text_graph(
    site: Site, cache: Path, downloads: Path
) -> None:
    source = site.source()
    tarball = downloads / "model.tar.gz"
    tarball.write_bytes(GOOD_TARBALL)
    fetch_coco(cache, tarball=tarball, source=source, progress=False)
    assert_installed(cache)
    assert site.requests == [CONFIG_PATH]
    assert tarball.read_bytes() == GOOD_TARBALL  # the user's file is left alone


def test_from_local_tarball_and_text_graph_needs_no_network(cache: Path, downloads: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    source = Source(
        tarball_url=f"{url}/model.tar.gz",
        tarball_sha1=sha1(GOOD_TARBALL),
        member=MEMBER,
        member_sha1=sha1(WEIGHTS),
        config_url=f"{url}/graph.pbtxt",
        config_sha1s=frozenset({sha1(CONFIG)}),
    )
    tarball = downloads / "model.tar.gz"
    tarball.write_bytes(GOOD_TARBALL)
    config = downloads / "graph.pbtxt"
    config.write_bytes(CONFIG)
    fetch_coco(cache, tarball=tarball, config=config, source=source, progress=True)
    assert_installed(cache)


def test_from_the_wrong_local_tarball(site: Site, cache: Path, downloads: Path) -> None:
    source = site.source()
    tarball = downloads / "model.tar.gz"
    tarball.write_bytes(GOOD_TARBALL[: len(GOOD_TARBALL) // 2])
    fails(
        cache,
        "checksum mismatch",
        str(tarball),
        source.tarball_url,
        fetch=lambda: fetch_coco(cache, tarball=tarball, source=source, progress=False),
    )
    assert site.requests == []  # refused before any download


def test_from_the_wrong_local_text_graph(site: Site, cache: Path, downloads: Path) -> None:
    source = site.source()
    config = downloads / "graph.pbtxt"
    config.write_bytes(CONFIG_OLD)
    fails(
        cache,
        "checksum mismatch",
        str(config),
        source.config_url,
        fetch=lambda: fetch_coco(cache, config=config, source=source, progress=False),
    )


@pytest.mark.parametrize("flag", ["--from", "--config"])
def test_missing_local_file(site: Site, cache: Path, downloads: Path, flag: str) -> None:
    missing = downloads / "nowhere.tar.gz"
    keyword = "tarball" if flag == "--from" else "config"
    fails(
        cache,
        "no such file",
        str(missing),
        flag,
        fetch=lambda: fetch_coco(cache, source=site.source(), **{keyword: missing}),
    )
    assert site.requests == []


def test_local_file_that_is_a_folder(site: Site, cache: Path, downloads: Path) -> None:
    fails(
        cache,
        "is not a file",
        "--from",
        fetch=lambda: fetch_coco(cache, tarball=downloads, source=site.source()),
    )


def test_from_local_tarball_when_the_text_graph_cannot_be_downloaded(
    site: Site, cache: Path, downloads: Path
) -> None:
    source = site.source()
    del site.routes[CONFIG_PATH]
    tarball = downloads / "model.tar.gz"
    tarball.write_bytes(GOOD_TARBALL)
    fails(
        cache,
        "HTTP 404",
        source.config_url,
        "add '--config FILE' to the command",
        fetch=lambda: fetch_coco(cache, tarball=tarball, source=source, progress=False),
    )


def test_a_stale_part_left_by_a_killed_fetch_is_removed_by_the_next(
    cache: Path, downloads: Path
) -> None:
    folder = coco_spec(cache).weights.parent
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = folder / f".frozen_inference_graph.pb.{dead.stdout.strip()}-0123456789ab.part"
    stale.write_bytes(b"half a download")
    live = temp_beside(folder / "frozen_inference_graph.pb")  # this process: still writing
    source = dataclasses.replace(
        COCO_SOURCE, tarball_sha1=sha1(GOOD_TARBALL), member=MEMBER, member_sha1=sha1(WEIGHTS),
        config_sha1s=frozenset({sha1(CONFIG)}),
    )  # fmt: skip
    (downloads / "model.tar.gz").write_bytes(GOOD_TARBALL)
    (downloads / "graph.pbtxt").write_bytes(CONFIG)
    fetch_coco(cache, tarball=downloads / "model.tar.gz", config=downloads / "graph.pbtxt",
               source=source, progress=False)  # fmt: skip
    assert not stale.exists()
    assert live.exists()
    live.unlink()
    assert_installed(cache)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_fetch_removes_the_partial_files(
    cache: Path, downloads: Path, monkeypatch: pytest.MonkeyPatch, capsys, signum: int
) -> None:
    from maskrcnn_tutorial.apps import cli
    from maskrcnn_tutorial.models import fetch

    source = dataclasses.replace(
        COCO_SOURCE, tarball_sha1=sha1(GOOD_TARBALL), member=MEMBER, member_sha1=sha1(WEIGHTS),
        config_sha1s=frozenset({sha1(CONFIG)}),
    )  # fmt: skip
    monkeypatch.setattr(fetch, "fetch_coco", functools.partial(fetch.fetch_coco, source=source))
    monkeypatch.setenv("MASKRCNN_TUTORIAL_CACHE", str(cache))
    (downloads / "model.tar.gz").write_bytes(GOOD_TARBALL)
    (downloads / "graph.pbtxt").write_bytes(CONFIG)
    real = fetch._write_stream
    seen: list[str] = []

    def killed_midway(read, dest, bar):
        seen.extend(p.name for p in dest.parent.iterdir())
        os.kill(os.getpid(), signum)  # as `kill` or a closed terminal would
        return real(read, dest, bar)

    monkeypatch.setattr(fetch, "_write_stream", killed_midway)
    args = ["--quiet", "fetch", "coco", "--from", downloads / "model.tar.gz", "--config"]
    code = cli.main([str(a) for a in [*args, downloads / "graph.pbtxt"]])
    err = capsys.readouterr().err
    # exit status 128 + signal, as the README says of every command (2 before issue 20)
    assert code == 128 + signum, err
    assert err.startswith(f"error: stopped by {signal.Signals(signum).name}; nothing was written")
    assert any(name.endswith(".part") for name in seen)  # a partial file existed mid-way
    assert leftovers(cache) == []
