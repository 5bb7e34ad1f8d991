"""Checking input and output paths, and writing files atomically (nothing half-written).

Every output is written to a hidden temporary file beside its target and renamed into place
only when complete. Inside :func:`staged`, the renames wait until the block ends, so the outputs
of one command land together or not at all. Only regular files are replaced: a device, a FIFO
or a socket given as an output is refused, never turned into a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path

from maskrcnn_tutorial.errors import UserError

#: Longest file name most file systems accept, in bytes.
NAME_MAX = 255
_TEMP = re.compile(r"^\..*\.(?P<pid>\d+)-[0-9a-f]{12}(\.[A-Za-z0-9]+)?$")
_staged: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("staged", default=None)


def check_readable(path: Path, kind: str = "an image or video file") -> Path:
    """``path`` if it is an existing, non-empty file, else a :class:`UserError` that asks for
    ``kind`` instead."""
    if len(os.fsencode(path.name)) > NAME_MAX:
        raise UserError(f"{path} does not exist (its name is over {NAME_MAX} bytes)")
    if not path.exists():
        raise UserError(f"{path} does not exist; check the path")
    if path.is_dir():
        raise UserError(f"{path} is a directory; pass {kind}")
    if not path.is_file():
        raise UserError(f"{path} is not a regular file (a device, FIFO or socket); pass {kind}")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes); pass {kind} that is not empty")
    return path


#: Paths that name one of the process's own open files rather than a file of their own.
_STREAM = re.compile(
    r"^/(?:dev/(?P<std>stdin|stdout|stderr)|dev/fd/(?P<fd>\d+)"
    r"|proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd/(?P<pfd>\d+))$"
)


def process_stream(path: str | Path) -> str | None:
    """``"stdout"``, ``"stderr"``, ``"file descriptor N"``... when ``path`` (or a symbolic link on
    the way to its target) is ``/dev/stdout``, ``/dev/fd/N`` or ``/proc/self/fd/N``, else None.

    Such a path names a file the process already has open: ``--json /dev/stdout >> run.log``
    resolves to ``run.log``, which an atomic rename would replace, losing what it held.
    """
    current = os.path.abspath(path)
    for _ in range(40):  # a link loop ends here; the OS refuses the path anyway
        match = _STREAM.match(current.replace(os.sep, "/"))
        if match:
            if match["std"]:
                return match["std"]
            number = int(match["fd"] or match["pfd"])
            return {0: "stdin", 1: "stdout", 2: "stderr"}.get(number, f"file descriptor {number}")
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None


def _kind(mode: int) -> str:
    kinds = {stat.S_ISCHR: "a device", stat.S_ISBLK: "a device", stat.S_ISFIFO: "a FIFO"}
    return next((name for test, name in kinds.items() if test(mode)), "a socket or special file")


def reason(exc: OSError) -> str:
    """An OS error in words, with a hint where one helps (disk full, name too long)."""
    hints = {
        errno.ENOSPC: "the disk is full; free some space",
        errno.EDQUOT: "the disk quota is exceeded; free some space",
        errno.ENAMETOOLONG: "the name is too long; choose a shorter one",
        errno.EROFS: "the file system is read-only; choose another folder",
        errno.EACCES: "permission denied; choose another folder",
        errno.EPERM: "not permitted; choose another folder",
    }
    default = f"{exc.strerror or exc}; choose another path"
    return hints.get(exc.errno or 0, default)


def check_writable(path: str | Path) -> Path:
    """``path`` if a regular file can be written there (probed with a temporary file), else a
    :class:`UserError`. An existing device, FIFO or socket is refused: it would be replaced."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if len(os.fsencode(path.name)) > NAME_MAX:
        raise UserError(f"cannot write {path}: the file name is over {NAME_MAX} bytes")
    stream = process_stream(path)
    if stream is not None:
        raise UserError(
            f"output {path} is this command's {stream} (where its report goes; an atomic "
            "rename would replace the file behind it); give a file path"
        )
    try:
        info = path.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {reason(exc)}") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise UserError(f"output {path} is a directory; give a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        what = _kind(info.st_mode)
        raise UserError(f"output {path} is {what}, not a regular file; give a file path")
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: folder {folder} is not writable; choose another")
    failure = _probe_beside(path)
    if failure is not None:
        raise UserError(f"cannot write {path}: {reason(failure)}")
    return path


def check_writable_folder(folder: str | Path, what: str = "folder") -> Path:
    """``folder`` if files can be created in it (probed with a temporary file; a folder still
    to be made is probed in the nearest one above it that exists), else a :class:`UserError`
    naming ``what`` (an option such as ``--out``). Nothing is left behind."""
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {folder}: {existing} is not a folder; choose a folder")
    failure = _probe_beside(existing / "probe")
    if failure is not None:
        raise UserError(f"cannot write in {what} {folder}: {reason(failure)}")
    return folder


def _probe_beside(path: Path) -> OSError | None:
    """Create and remove a temporary file beside ``path``: None if that works, else the error."""
    probe = None
    try:
        probe = temp_beside(path)
    except OSError as exc:
        return exc
    finally:
        if probe is not None:
            probe.unlink(missing_ok=True)
    return None


def check_outputs(
    outputs: Mapping[str, str | Path | None], inputs: Mapping[str, str | Path] | None = None
) -> None:
    """Check every output (``{"--out": path, ...}``; ``None``: not asked for) before any work:
    each writable, none the same file as an input or as another output."""
    inputs = inputs or {}
    seen: dict[str, tuple[str, Path]] = {}
    for flag, path in inputs.items():
        seen[_identity(path)] = (flag, Path(path))
    for flag, path in outputs.items():
        if path is None:
            continue
        path = check_writable(path)
        other = seen.get(_identity(path))
        if other is not None:
            what = "the input" if other[0] in inputs else f"the {other[0]} output"
            raise UserError(
                f"{flag} {path} is {what} {other[1]}; give each output its own new file name"
            )
        seen[_identity(path)] = (flag, path)


def _identity(path: str | Path) -> str:
    """One key per file: device and inode for an existing file, else the resolved path."""
    with contextlib.suppress(OSError):
        info = os.stat(path)
        return f"{info.st_dev}:{info.st_ino}"
    return os.path.realpath(path)


def temp_beside(path: Path, suffix: str = ".part") -> Path:
    """A new, empty, hidden file next to ``path`` (same folder, so a rename is atomic).

    Its name carries the writer's process id, so :func:`remove_stale_temps` can tell a file
    left by a killed process from one still being written, and is shortened to fit
    :data:`NAME_MAX`. Unlike ``tempfile.mkstemp`` (mode 0600) it is created with the user's
    umask, so the file renamed into place has the permissions any other new file would have.
    """
    tag = f".{os.getpid()}-{uuid.uuid4().hex[:12]}{suffix}"
    # os.fsencode/fsdecode: names with bytes that are not UTF-8 round-trip (surrogateescape)
    stem = os.fsdecode(os.fsencode(path.name)[: NAME_MAX - 1 - len(tag.encode())])
    temp = path.parent / f".{stem}{tag}"
    temp.touch(exist_ok=False)
    return temp


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete temporary files in ``folder`` whose writing process no longer exists."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _TEMP.match(entry.name)
        if match and not _alive(int(match["pid"])) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists. On Windows ``os.kill(pid, 0)`` would *end* the process
    (any number but a console event is TerminateProcess's exit code), so it asks the kernel."""
    if sys.platform == "win32":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _windows_alive(pid: int) -> bool:
    """Whether process ``pid`` runs, by OpenProcess and GetExitCodeProcess; when it cannot be
    told, alive (its file is kept)."""
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    query_limited_information, still_active = 0x1000, 259
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return kernel32.GetLastError() != 87  # ERROR_INVALID_PARAMETER: no such process
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def land(temp: Path, path: Path) -> None:
    """Rename a finished temporary file into place, now or at the end of :func:`staged`."""
    pending = _staged.get()
    if pending is not None:
        pending.append((temp, path))
        return
    _rename(temp, path)


def _rename(temp: Path, path: Path) -> None:
    try:
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {reason(exc)}") from None


@contextlib.contextmanager
def staged() -> Iterator[None]:
    """Hold back the renames of every file written inside the block until it ends, so the
    outputs of one command land together; an exception removes them all instead. A block
    inside another lands its files at its own end (an export inside a command is complete
    when it returns)."""
    pending: list[tuple[Path, Path]] = []
    token = _staged.set(pending)
    try:
        yield
    except BaseException:
        for temp, _ in pending:
            temp.unlink(missing_ok=True)
        raise
    finally:
        _staged.reset(token)
    for temp, path in pending:
        _rename(temp, path)


def target(path: str | Path) -> Path:
    """The file a write to ``path`` replaces: a symbolic link's target, so the link stays."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    path = check_writable(path)
    real = target(path)
    temp = None
    try:
        temp = temp_beside(real)
        temp.write_bytes(data)
    except BaseException as exc:
        if temp is not None:
            temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UserError(f"cannot write {path}: {reason(exc)}; nothing was written") from None
        raise
    land(temp, real)
    return path
