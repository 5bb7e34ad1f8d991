"""Signals, pipes and consoles: SIGTERM (and SIGHUP, where the system has it) end a command like
Ctrl+C, a closed pipe on stdout (``| head -1``) does not stop it, and a character the console's
encoding lacks (a file name in Chinese on a Windows console in cp1252) is escaped, not fatal."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Iterator

#: Signals that stop a command like Ctrl+C, by name: only those this system has are installed
#: (Windows has SIGTERM but neither SIGHUP nor process groups).
STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so cleanup runs as for Ctrl+C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def stop_signals() -> tuple[int, ...]:
    """The signal numbers of :data:`STOP_SIGNALS` that exist here."""
    return tuple(getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name))


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """While inside, the stop signals raise :class:`Interrupted` where the program is (so cleanup
    runs as for Ctrl+C); the previous handlers come back on leaving. Only the main thread can
    catch signals, so elsewhere this does nothing."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {signum: signal.signal(signum, _raise_interrupted) for signum in stop_signals()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def printable(text: str, stream) -> str:
    """``text`` with what ``stream`` cannot encode as ``\\x`` escapes: a name's bytes that are
    not UTF-8 (held as surrogates) show as the bytes they were, ``ok\\xffname.png``."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        raw = text.encode(encoding, "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode(encoding, "backslashreplace")
    return raw.decode(encoding, "backslashreplace")


def readable_on_any_console() -> None:
    """Make stderr escape what its encoding cannot show (``\\u661f``) instead of raising
    UnicodeEncodeError: a Windows console or a redirect may be cp1252. (stdout does the same
    through :class:`PipeSafeStdout`, which keeps a name's non-UTF-8 bytes as ``\\xff``.)"""
    with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
        sys.stderr.reconfigure(errors="backslashreplace")


def stopped_status(exc: KeyboardInterrupt) -> int:
    """Say on stderr how a command was stopped (Ctrl+C, or the signal :class:`Interrupted`
    carries) and return its exit status, 128 + the signal's number, as shells report it."""
    signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
    what = "interrupted" if signum == signal.SIGINT else f"stopped by {exc}"
    print(f"error: {what}; nothing was written", file=sys.stderr)
    return 128 + int(signum)


class PipeSafeStdout:
    """stdout that stops writing, quietly, once the reader has gone (``| head -1``); the
    command carries on and writes its files. A file name that is not UTF-8 is printed with
    ``\\x`` escapes (as on stderr) instead of failing."""

    def __init__(self, stream) -> None:
        self.stream, self.closed_pipe = stream, False

    def write(self, text: str) -> int:
        if not self.closed_pipe:
            try:
                try:
                    return self.stream.write(text)
                except UnicodeEncodeError:  # a file name with bytes that are not UTF-8
                    return self.stream.write(printable(text, self.stream))
            except BrokenPipeError:
                self._close()
        return len(text)

    def flush(self) -> None:
        if not self.closed_pipe:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._close()

    def _close(self) -> None:
        self.closed_pipe = True
        # later writes by the interpreter (its flush at exit) go nowhere instead of failing
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def __getattr__(self, name: str):
        return getattr(self.stream, name)
