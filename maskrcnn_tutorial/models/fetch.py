"""Download and install the real COCO model into the cache directory.

``fetch_coco`` puts the two files of the ``coco`` model where :func:`~.models.coco_spec`
expects them: ``frozen_inference_graph.pb`` (one member of TensorFlow's tarball) and OpenCV's
text graph (``.pbtxt``). Every file is checked against a pinned sha1, written to a temporary
file in the destination folder, and moved into place with :func:`os.replace` only once both
files are verified. A failed, interrupted, truncated or corrupt download leaves nothing behind
and raises :class:`~.errors.UserError` saying why and what to do.

Offline, the tarball can come from a local file (``tarball=``, the command's ``--from``) and the
text graph too (``config=``, the command's ``--config``). A download is cut off past
:data:`MAX_TARBALL_BYTES` or :data:`MAX_CONFIG_BYTES`.

Why not ``pooch`` (scikit-image's downloader): it fetches and hashes one file well, but what is
left here is what it lacks: one member of a tarball extracted alone, after every member name
and type is checked, and verified against its own pinned sha1 (pooch's ``Untar`` extracts the
members and pins only the archive); two files from two sources installed both or neither; the
same checks for offline copies (``--from``, ``--config``); temporary files removed on Ctrl+C,
SIGTERM and SIGHUP, and those of a killed run by the next. The download itself is 40 lines of
``urllib``; a dependency for them would not remove the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import urllib.request
import zlib
from collections.abc import Callable
from email.message import Message
from http.client import HTTPException, HTTPResponse
from pathlib import Path, PureWindowsPath
from types import TracebackType
from urllib.error import HTTPError

from tqdm import tqdm

from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.io.files import remove_stale_temps, temp_beside
from maskrcnn_tutorial.models.sources import (
    CACHE_ENV,
    CHUNK_SIZE,
    COCO_NAME,
    COCO_SOURCE,
    Source,
    coco_spec,
    sha1_file,
)
from maskrcnn_tutorial.models.spec import ModelSpec

TIMEOUT_S = 60.0
"""Seconds to wait for a server before giving up."""
MAX_TARBALL_BYTES = 400 * 2**20
"""Largest tarball downloaded (the published one is 177 MB): a server sending more is cut off."""
MAX_CONFIG_BYTES = 16 * 2**20
"""Largest text graph downloaded (the published one is 190 KB)."""
FETCH_COMMAND = "maskrcnn-tutorial fetch coco"


def fetch_coco(
    cache: Path | None = None,
    *,
    tarball: Path | None = None,
    config: Path | None = None,
    source: Source = COCO_SOURCE,
    progress: bool = True,
) -> ModelSpec:
    """Install the ``coco`` model's two files under ``cache`` and return its spec.

    The tarball is downloaded unless ``tarball`` names a local copy; the text graph is
    downloaded unless ``config`` names a local copy. Files already in place and verified are
    kept and not downloaded again. Either both missing files are installed or neither is.
    """
    spec = coco_spec(cache)
    if tarball is not None:
        _require_file(tarball, "--from")
    if config is not None:
        _require_file(config, "--config")
    folder = spec.weights.parent
    try:  # Ctrl+C, SIGTERM, SIGHUP go through: the staging has removed the partial files, and
        # the command line ends with 128 + signal as for every command
        _install(spec, tarball, config, source, progress)
    except OSError as exc:
        raise UserError(
            f"cannot write the model files in {folder} ({_reason(exc)}); "
            f"free some disk space or set {CACHE_ENV} to a writable folder"
        ) from exc
    return spec


def _install(
    spec: ModelSpec, tarball: Path | None, config: Path | None, source: Source, progress: bool
) -> None:
    """Stage the files of ``spec`` that are missing, verify them all, then move them into place."""
    need_weights = _missing(spec.weights, frozenset({source.member_sha1}))
    need_config = _missing(spec.config, source.config_sha1s)
    with _Staging(spec.weights.parent) as staging:
        if need_weights and tarball is not None:
            _verify(tarball, frozenset({source.tarball_sha1}), _local_fix(source))
        staged = []
        if need_config:
            fix = _config_fix(source, with_tarball=need_weights and tarball is None)
            staged.append((_stage_config(staging, config, source, fix, progress), spec.config))
        if need_weights:
            staged.append((_stage_weights(staging, tarball, source, progress), spec.weights))
        for temp, final in staged:
            staging.install(temp, final)


def is_unsafe_member_name(name: str) -> bool:
    """True for a tar member name that is absolute or climbs out with ``..``.

    Both ``/`` and ``\\`` count as separators, and a drive (``C:``) counts as absolute.
    """
    path = PureWindowsPath(name)
    return bool(path.anchor) or ".." in path.parts


def extract_member(
    tarball: Path, member: str, dest: Path, *, origin: str | None = None, progress: bool = False
) -> str:
    """Copy the regular file ``member`` of ``tarball`` into ``dest``; return its sha1.

    Nothing else is extracted, and ``dest`` is chosen by the caller, never by the archive. The
    whole archive is still refused when any member name is absolute or contains ``..``, or when
    ``member`` is a link, a device or anything but a regular file. Messages call the tarball
    ``origin`` (default: its path).
    """
    origin = origin or str(tarball)
    try:
        with tarfile.open(tarball, "r:*") as archive:
            info = _find_member(archive, origin, member)
            stream = archive.extractfile(info)
            assert stream is not None  # a regular file always has data to read
            with stream, _bar(progress, info.size, Path(member).name) as bar:
                return _write_stream(stream.read, dest, bar)[1]
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UserError(
            f"{origin} is not a readable tarball ({_reason(exc)}); "
            "it is not the model's tarball, download it again"
        ) from exc


def _find_member(archive: tarfile.TarFile, origin: str, member: str) -> tarfile.TarInfo:
    """The entry ``member`` of ``archive``, after checking every entry's name and its type."""
    found = None
    for info in archive.getmembers():
        if is_unsafe_member_name(info.name):
            raise UserError(
                f"refusing {origin}: member {info.name!r} points outside the model folder; "
                "it is not the model's tarball, download it again"
            )
        if info.name == member:
            found = info
    if found is None:
        raise UserError(
            f"{origin} has no member {member!r}; it is not the model's tarball, download it again"
        )
    if not found.isreg():
        raise UserError(
            f"refusing {origin}: member {member!r} is a {_kind(found)}, not a regular file; "
            "it is not the model's tarball, download it again"
        )
    return found


def _kind(info: tarfile.TarInfo) -> str:
    """A word for a tar entry's type, for messages."""
    if info.issym():
        return "symbolic link"
    if info.islnk():
        return "hard link"
    if info.isdev():
        return "device or pipe"
    return "directory" if info.isdir() else "special entry"


class _Staging:
    """Temporary files in one destination folder, removed unless installed.

    Entering creates the folder (and missing parents); leaving removes every temporary file
    not yet installed and, on an exception, the folders it created if they are empty.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.temps: list[Path] = []
        self.created: list[Path] = []

    def __enter__(self) -> _Staging:
        missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
        try:
            for path in reversed(missing):
                path.mkdir()
                self.created.append(path)
        except BaseException:
            self._remove_created()
            raise
        remove_stale_temps(self.folder)  # left by a fetch that was killed (SIGKILL, power cut)
        return self

    def new(self, name: str) -> Path:
        """A fresh empty temporary file for ``name``, hidden in the destination folder."""
        temp = temp_beside(self.folder / name)
        self.temps.append(temp)
        return temp

    def discard(self, temp: Path) -> None:
        """Delete a temporary file now."""
        temp.unlink(missing_ok=True)
        self.temps.remove(temp)

    def install(self, temp: Path, final: Path) -> None:
        """Move a verified temporary file into place, atomically."""
        os.replace(temp, final)
        self.temps.remove(temp)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for temp in self.temps:
            temp.unlink(missing_ok=True)
        if exc_type is not None:
            self._remove_created()

    def _remove_created(self) -> None:
        """Remove the folders this staging created, deepest first, where they are empty."""
        for path in reversed(self.created):
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _stage_config(
    staging: _Staging, config: Path | None, source: Source, fix: str, progress: bool
) -> Path:
    """A verified temporary copy of the text graph, from ``config`` or downloaded.

    ``fix`` finishes the message when the download fails.
    """
    temp = staging.new(f"{COCO_NAME}.pbtxt")
    if config is None:
        _download(
            source.config_url, temp, source.config_sha1s, fix=fix, progress=progress,
            limit=MAX_CONFIG_BYTES,
        )  # fmt: skip
    else:
        _verify(config, source.config_sha1s, f"pass the text graph from {source.config_url}")
        shutil.copyfile(config, temp)
    return temp


def _stage_weights(staging: _Staging, tarball: Path | None, source: Source, progress: bool) -> Path:
    """A verified temporary copy of the frozen graph, extracted from a (downloaded) tarball."""
    if tarball is None:
        archive, origin = staging.new(source.tarball_name), source.tarball_url
        fix = f"download it elsewhere and run '{FETCH_COMMAND} --from FILE'"
        sha1s = frozenset({source.tarball_sha1})
        _download(
            source.tarball_url, archive, sha1s, fix=fix, progress=progress,
            limit=MAX_TARBALL_BYTES,
        )  # fmt: skip
    else:
        archive, origin = tarball, str(tarball)
    temp = staging.new("frozen_inference_graph.pb")
    got = extract_member(archive, source.member, temp, origin=origin, progress=progress)
    if tarball is None:
        staging.discard(archive)
    if got != source.member_sha1:
        raise UserError(
            f"checksum mismatch for {source.member} in {origin}: "
            f"expected {source.member_sha1}, got {got}; the tarball is corrupt, "
            f"download it again from {source.tarball_url}"
        )
    return temp


def _download(
    url: str, dest: Path, sha1s: frozenset[str], *, fix: str, progress: bool, limit: int
) -> None:
    """Stream ``url`` into ``dest`` with a progress bar; check its length and its sha1.

    ``fix`` finishes the message when the server cannot be reached. More than ``limit`` bytes
    (announced, or received) ends the download: a wrong or hostile server cannot fill the disk.
    """
    try:
        response = urllib.request.urlopen(url, timeout=TIMEOUT_S)
    except HTTPError as exc:
        exc.close()
        raise UserError(f"cannot download {url} (HTTP {exc.code} {exc.reason}); {fix}") from exc
    except (OSError, HTTPException) as exc:
        raise UserError(f"cannot reach {url} ({_reason(exc)}); {fix}") from exc
    expected = _content_length(response.headers)
    too_large = UserError(
        f"download of {url} is over {limit // 2**20} MB, more than the model's file; it is not "
        f"the file expected, {fix}"
    )
    if expected is not None and expected > limit:
        response.close()
        raise too_large
    reader = _network_reader(response, url, fix)
    received = 0

    def capped(size: int) -> bytes:
        nonlocal received
        chunk = reader(size)
        received += len(chunk)
        if received > limit:
            raise too_large
        return chunk

    with response, _bar(progress, expected, url.rsplit("/", 1)[-1]) as bar:
        size, got = _write_stream(capped, dest, bar)
    if expected is not None and size != expected:
        raise UserError(
            f"download of {url} was cut short ({size} of {expected} bytes); "
            "check the connection and run the command again"
        )
    if got not in sha1s:
        raise UserError(
            f"checksum mismatch for {url}: expected {_expected(sha1s)}, got {got}; "
            "the download is corrupt, run the command again"
        )


def _network_reader(response: HTTPResponse, url: str, fix: str) -> Callable[[int], bytes]:
    """``response.read`` that turns network failures into a :class:`UserError`."""

    def read(size: int) -> bytes:
        try:
            return response.read(size)
        except (OSError, HTTPException) as exc:
            raise UserError(f"download of {url} failed ({_reason(exc)}); {fix}") from exc

    return read


def _content_length(headers: Message) -> int | None:
    """The Content-Length header's value, or None when absent or malformed."""
    value = headers.get("Content-Length")
    return int(value) if value is not None and value.isdigit() else None


def _write_stream(read: Callable[[int], bytes], dest: Path, bar: tqdm) -> tuple[int, str]:
    """Copy chunks from ``read`` into ``dest`` (synced to disk); return the size and sha1."""
    digest = hashlib.sha1()
    size = 0
    with dest.open("wb") as out:
        while chunk := read(CHUNK_SIZE):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            bar.update(len(chunk))
        out.flush()
        os.fsync(out.fileno())
    return size, digest.hexdigest()


def _bar(progress: bool, total: int | None, name: str) -> tqdm:
    """A byte-counting progress bar on stderr, silent unless ``progress``."""
    return tqdm(
        total=total,
        desc=name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=not progress,
        file=sys.stderr,
    )


def _require_file(path: Path, flag: str) -> None:
    """A :class:`UserError` unless ``path`` (given with ``flag``) is an existing file."""
    if not path.exists():
        raise UserError(f"no such file: {path}; check the path given to {flag}")
    if not path.is_file():
        raise UserError(f"{path} is not a file; give {flag} the downloaded file itself")


def _verify(path: Path, sha1s: frozenset[str], fix: str) -> None:
    """A :class:`UserError` ending with ``fix`` unless the local file's sha1 is in ``sha1s``."""
    try:
        got = sha1_file(path)
    except OSError as exc:
        raise UserError(f"cannot read {path} ({_reason(exc)}); {fix}") from exc
    if got not in sha1s:
        raise UserError(
            f"checksum mismatch for {path}: expected {_expected(sha1s)}, got {got}; "
            f"it is the wrong file or incomplete, {fix}"
        )


def _config_fix(source: Source, *, with_tarball: bool) -> str:
    """The advice when the text graph cannot be downloaded (nor, maybe, the tarball after it)."""
    if with_tarball:
        return (
            f"download it and {source.tarball_url} elsewhere and run "
            f"'{FETCH_COMMAND} --from TARBALL --config FILE'"
        )
    return "download it elsewhere and add '--config FILE' to the command"


def _local_fix(source: Source) -> str:
    """The advice for a bad local tarball."""
    return f"download {source.tarball_name} again from {source.tarball_url}"


def _missing(path: Path, sha1s: frozenset[str]) -> bool:
    """True unless ``path`` is in place with an accepted sha1 (then say it is kept)."""
    try:
        present = path.is_file() and sha1_file(path) in sha1s
    except OSError:
        present = False
    if present:
        print(f"{path} is already in place and verified; keeping it", file=sys.stderr)
    return not present


def _expected(sha1s: frozenset[str]) -> str:
    """The accepted checksums, for a message."""
    ordered = sorted(sha1s)
    return ordered[0] if len(ordered) == 1 else "one of " + ", ".join(ordered)


def _reason(exc: BaseException) -> str:
    """An exception's reason on one line."""
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or exc
    return " ".join(str(reason).split()) or type(exc).__name__
