"""Serving the classroom app (:mod:`.app`) with Voila: ``maskrcnn-tutorial app``."""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from maskrcnn_tutorial import models
from maskrcnn_tutorial.errors import UserError
from maskrcnn_tutorial.inference import (
    MASK_BRANCHES,
    InputSize,
    format_input_size,
    parse_input_size,
)

#: The notebook Voila renders: one code cell, ``build_app()``.
APP_NOTEBOOK = Path(__file__).resolve().with_name("app.ipynb")
DEFAULT_PORT = 8866
#: Most pages (each a Python kernel of about 200 MB) served at once.
MAX_PAGES = 20
#: A closed page's kernel is shut down after this many seconds without activity.
IDLE_TIMEOUT_S = 300
#: Largest picture a kernel decodes (OpenCV's own limit, a backstop behind the app's check).
MAX_DECODED_PIXELS = 50_000_000
#: Environment variable that tells the served notebook which model to load.
MODEL_ENV = "MASKRCNN_TUTORIAL_APP_MODEL"
#: ... and how it runs the mask branch (``kept`` or ``full``).
MASK_BRANCH_ENV = "MASKRCNN_TUTORIAL_APP_MASK_BRANCH"
INPUT_SIZE_ENV = "MASKRCNN_TUTORIAL_APP_INPUT_SIZE"
#: Where Voila (jupyter_server's identity provider) reads the token: not on the command line.
TOKEN_ENV = "JUPYTER_TOKEN"
#: Seconds Voila gets to shut down cleanly before it is killed.
STOP_TIMEOUT_S = 10
#: Longest path a Unix socket may have, in bytes (macOS: 103 and a NUL; Linux allows 107).
SOCKET_PATH_MAX = 103
#: What Voila puts below its root for a page's kernel's last socket: its own folder
#: (``voila_`` and 8 random characters), then ``kernel-``, the 36-character kernel id, ``-ipc-5``.
KERNEL_SOCKET_TAIL = len("/voila_12345678/kernel-") + 36 + len("-ipc-5")


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if ip == "localhost":
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError as exc:
        raise UserError(f"--ip {ip!r} is not an IP address; e.g. 127.0.0.1 or 0.0.0.0") from exc


def check_port_free(ip: str, port: int) -> None:
    """A :class:`UserError` when ``port`` is outside 1..65535 or already taken on ``ip``."""
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
        except OSError as exc:
            raise UserError(
                f"cannot listen on {ip}:{port} ({exc.strerror}); choose another with --port"
            ) from None


def kernel_transport(temp_dir: str | None = None, system: str = os.name) -> list[str]:
    """Voila's options for how it talks to the pages' kernels: Unix sockets in a private folder
    of its own under ``temp_dir`` (default: the temp folder), or under ``/tmp`` where that path
    is too long for a socket (:data:`SOCKET_PATH_MAX`; macOS's temp folder is) or takes none;
    ``[]`` (TCP ports) on Windows, or where neither will do.

    A TCP port is picked free and bound by the kernel a moment later. When another program
    takes the same port in between (anything starting kernels or connections at that moment),
    the kernel dies at start and its page never loads. Sockets are files: nothing to race for.
    """
    if system != "posix":
        return []
    for root in (temp_dir or tempfile.gettempdir(), "/tmp"):
        fits = len(os.fsencode(root)) + KERNEL_SOCKET_TAIL <= SOCKET_PATH_MAX
        if fits and _socket_binds(root):
            return ["--KernelManager.transport=ipc", f"--Voila.connection_dir_root={root}"]
    return []


def _socket_binds(folder: str) -> bool:
    """Whether a Unix socket can be made in ``folder`` (a missing or read-only folder, or a
    file system without sockets, such as some network shares, cannot)."""
    path = os.path.join(folder, f".maskrcnn-tutorial-probe-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.bind(path)
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
    return True


def voila_command(
    port: int,
    ip: str,
    token: str,
    open_browser: bool,
    notebook: Path = APP_NOTEBOOK,
    max_pages: int = MAX_PAGES,
) -> list[str]:
    """The Voila command line that serves ``notebook``, with the app's limits: at most
    ``max_pages`` kernels at once (:mod:`.kernels`), and the kernel of a closed page shut
    down after :data:`IDLE_TIMEOUT_S` seconds without activity; the kernels talk over Unix
    sockets where they can (:func:`kernel_transport`).

    ``token`` is not on it (anyone on the machine can read a command line with ``ps``):
    :func:`serve` passes it in the environment (``$JUPYTER_TOKEN``), which only the same user
    can read. Voila runs under :func:`watched_voila`."""
    del token  # in the environment, see above
    return [
        sys.executable,
        "-m",
        __name__,  # Voila, watched: it ends when the command that started it has gone
        str(notebook),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--Voila.port_retries=0",
        "--Voila.auto_token=True",  # the token itself: $JUPYTER_TOKEN, not seen in ps
        f"--Voila.open_browser={open_browser}",
        "--show_tracebacks=True",
        "--VoilaConfiguration.multi_kernel_manager_class="
        "maskrcnn_tutorial.apps.kernels.BoundedKernelManager",
        f"--BoundedKernelManager.max_kernels={max_pages}",
        f"--MappingKernelManager.cull_idle_timeout={IDLE_TIMEOUT_S}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",  # an open page keeps its kernel
        *kernel_transport(),
    ]


def serve(
    port: int = DEFAULT_PORT,
    ip: str = "127.0.0.1",
    model: str | None = None,
    open_browser: bool = True,
    mask_branch: str = "kept",
    max_pages: int = MAX_PAGES,
    input_size: InputSize = None,
) -> int:
    """Serve the app with Voila until Ctrl+C (or SIGTERM); returns Voila's exit status.

    Every run has a fresh random token: the printed URL carries it. Binding an address other
    than loopback lets anyone who can reach this machine and has the URL use the app (each
    page starts a Python kernel here), so it prints a warning.
    """
    if importlib.util.find_spec("voila") is None:
        raise UserError(
            "the app needs Voila: pip install voila  (or: pip install -e '.[notebooks]')"
        )
    loopback = is_loopback(ip)
    check_port_free(ip, port)
    if model is not None:
        spec = models.get_spec(model)
        if not spec.available:
            raise UserError(f"model {model!r} is not available; get it with: {spec.how_to_get}")
    if mask_branch not in MASK_BRANCHES:
        raise UserError(f"--mask-branch must be one of: {', '.join(MASK_BRANCHES)}")
    env = dict(os.environ)
    env[MASK_BRANCH_ENV] = mask_branch
    env[INPUT_SIZE_ENV] = format_input_size(parse_input_size(input_size))
    if model is not None:
        env[MODEL_ENV] = model
    else:
        env.pop(MODEL_ENV, None)
    token = secrets.token_urlsafe(24)
    host = ip if loopback or ip not in ("0.0.0.0", "::") else socket.gethostname()
    host = f"[{host}]" if ":" in host else host
    process = None
    try:
        print(f"classroom app: http://{host}:{port}/?token={token}", flush=True)
        if not loopback:
            print(
                f"warning: listening on {ip}: anyone who can reach this machine and has the URL "
                "above can use the app (each page runs a Python kernel here)",
                file=sys.stderr,
                flush=True,
            )
        print("stop it with Ctrl+C", file=sys.stderr, flush=True)
        env.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_DECODED_PIXELS))
        env[TOKEN_ENV] = token
        process = subprocess.Popen(
            voila_command(port, ip, token, open_browser, max_pages=max_pages),
            env=env,
            stdin=subprocess.PIPE,  # the watchdog's pipe: closed when this process ends
            **own_process_group(),  # Ctrl+C reaches only us; we stop Voila cleanly below
        )
        return process.wait()
    except KeyboardInterrupt:  # Ctrl+C, or SIGTERM/SIGHUP (the command line raises it for both)
        if process is not None:
            stop(process)
        print("app stopped", file=sys.stderr)
        return 0
    finally:
        if process is not None and process.poll() is None:  # never leave Voila serving
            stop(process)


def watched_voila(argv: list[str]) -> int:
    """Run Voila with ``argv``, and stop it (SIGTERM to itself) when its stdin reaches its end.

    :func:`serve` holds the other end of that pipe and never writes to it: however the app
    command ends, SIGKILL included, the system closes the pipe and Voila follows, its kernels
    after it (each ends when its parent has gone). A pipe works on every system, where
    Linux's ``PR_SET_PDEATHSIG`` would not.
    """

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    from voila.app import main

    sys.argv = ["voila", *argv]
    return main()


def own_process_group() -> dict:
    """``Popen`` arguments that start a child in a process group of its own, so a Ctrl+C in the
    terminal reaches only this process: a new session on POSIX, a new process group on Windows
    (which has no sessions)."""
    if hasattr(os, "setsid"):
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def stop(process: subprocess.Popen) -> None:
    """Stop Voila and its kernels: SIGTERM (a clean shutdown), after :data:`STOP_TIMEOUT_S`
    SIGKILL for its whole process group where the system has process groups (POSIX), else
    the process itself (Windows)."""
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if hasattr(os, "killpg") and hasattr(signal, "SIGKILL"):
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        process.wait()


if __name__ == "__main__":
    sys.exit(watched_voila(sys.argv[1:]))
