"""Serving the app: the Voila command line and the checks `maskrcnn-tutorial app` makes first."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from maskrcnn_tutorial.apps import server
from maskrcnn_tutorial.apps.cli import main
from tests.serving import listening, short_folder, start_app


def test_the_served_notebook_only_builds_the_app():
    notebook = json.loads(server.APP_NOTEBOOK.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(code) == 1 and "build_app()" in "".join(code[0]["source"])
    assert code[0]["outputs"] == []


def test_voila_command_binds_the_address_with_a_token():
    command = server.voila_command(8866, "127.0.0.1", "secret", open_browser=False)
    assert str(server.APP_NOTEBOOK) in command
    assert "--Voila.ip=127.0.0.1" in command and "--Voila.auto_token=True" in command
    assert "secret" not in " ".join(command)  # the token goes in $JUPYTER_TOKEN, not in ps
    assert "--port=8866" in command and "--Voila.port_retries=0" in command


def test_app_command_without_voila_names_the_pip_command(monkeypatch, capsys):
    real = server.importlib.util.find_spec
    monkeypatch.setattr(
        server.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "voila" else real(name, *args),
    )
    assert main(["app", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "pip install" in err and len(err.splitlines()) == 1


def test_app_command_refuses_a_busy_port(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port), "--no-browser"]) == 2
    assert "choose another with --port" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--ip", "not-an-address"], "is not an IP address"),
        (["--port", "70000"], "between 1 and 65535"),
        (["--model", "coco"], "fetch coco"),
        (["--model", "nope"], "unknown model"),
    ],
)
def test_app_command_checks_its_options_before_starting(args, expected, capsys):
    assert main(["app", "--no-browser", *args]) == 2
    assert expected in capsys.readouterr().err


def test_loopback_addresses():
    assert server.is_loopback("127.0.0.1") and server.is_loopback("::1")
    assert server.is_loopback("localhost")
    assert not server.is_loopback("0.0.0.0")


def test_app_command_hands_the_mask_branch_to_the_served_notebook(monkeypatch, capsys):
    seen = {}

    class FakeVoila:
        def __init__(self, command, env, **options):
            seen.update(env)

        def wait(self):
            return 0

        def poll(self):
            return 0

    monkeypatch.setattr(server.subprocess, "Popen", FakeVoila)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    assert main(["app", "--no-browser", "--port", port, "--mask-branch", "full"]) == 0
    assert seen[server.MASK_BRANCH_ENV] == "full"
    assert main(["app", "--no-browser", "--port", port]) == 0
    assert seen[server.MASK_BRANCH_ENV] == "kept"
    assert main(["app", "--no-browser", "--mask-branch", "half"]) == 2
    assert "invalid choice: 'half'" in capsys.readouterr().err


def test_voila_runs_with_the_apps_limits():
    command = server.voila_command(8866, "127.0.0.1", "t", open_browser=False, max_pages=7)
    assert (
        "--VoilaConfiguration.multi_kernel_manager_class="
        "maskrcnn_tutorial.apps.kernels.BoundedKernelManager"
    ) in command
    assert "--BoundedKernelManager.max_kernels=7" in command
    assert f"--MappingKernelManager.cull_idle_timeout={server.IDLE_TIMEOUT_S}" in command
    assert "--MappingKernelManager.cull_connected=False" in command


@pytest.fixture(name="short_folder")
def short_folder_fixture() -> Iterator[Path]:
    """A new folder with a short path, under /tmp (a socket's path must stay short)."""
    with short_folder() as folder:
        yield folder


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_the_pages_kernels_talk_over_unix_sockets_where_the_path_fits(monkeypatch, short_folder):
    def root(temp_dir: str, system: str = "posix") -> str | None:
        options = server.kernel_transport(temp_dir, system)
        if not options:
            return None
        transport, folder = options
        assert transport == "--KernelManager.transport=ipc"
        return folder.split("=", 1)[1]

    room = server.SOCKET_PATH_MAX - server.KERNEL_SOCKET_TAIL  # bytes left for the folder
    fits = short_folder / ("t" * (room - len(str(short_folder)) - 1))
    longer, accented = fits.with_name(fits.name + "t"), fits.with_name(fits.name[:-1] + "é")
    for folder in (fits, longer, accented):
        folder.mkdir()
    assert root(str(fits)) == str(fits)  # exactly fits
    assert root(str(longer)) == "/tmp"  # one byte longer (as macOS's temp folder is): /tmp
    assert root(str(accented)) == "/tmp"  # é is two bytes
    assert root(str(short_folder / "missing")) == "/tmp"  # no socket can be made there
    assert not any(fits.iterdir())  # the probe socket is gone
    assert root("/tmp", "nt") is None  # Windows: TCP ports
    monkeypatch.setattr(server.tempfile, "tempdir", str(fits))  # Voila's temp folder
    command = server.voila_command(8866, "127.0.0.1", "t", open_browser=False)
    assert command[-1] == f"--Voila.connection_dir_root={fits}"


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_a_pages_kernel_answers_over_unix_sockets(tmp_path, short_folder):
    """The app's page runs in a kernel that Voila reaches through socket files: no TCP port to
    race for (see ``server.kernel_transport``)."""
    import urllib.request

    env = {**os.environ, "TMPDIR": str(short_folder)}  # the app's temp folder
    with serving_app(env=env, cwd=tmp_path) as (_, url, _):
        with urllib.request.urlopen(url, timeout=120) as page:
            html = page.read().decode()
        assert "application/vnd.jupyter.widget-view+json" in html  # the app ran in the kernel
        (connection,) = short_folder.glob("voila_*/kernel-*.json")  # the page's kernel
        info = json.loads(connection.read_text())
        assert info["transport"] == "ipc"
        assert all(Path(f"{info['ip']}-{n}").is_socket() for n in range(1, 6))


def test_the_kernel_manager_refuses_a_kernel_over_the_bound():
    import asyncio

    from tornado import web

    from maskrcnn_tutorial.apps.kernels import BoundedKernelManager

    manager = BoundedKernelManager(max_kernels=2)
    manager._kernels = {"a": None, "b": None}  # two pages open
    with pytest.raises(web.HTTPError) as refused, ThreadPoolExecutor(1) as thread:
        # a thread of its own: another test may leave an event loop running in this one
        thread.submit(asyncio.run, manager.start_kernel(kernel_name="python3")).result()
    assert refused.value.status_code == 503 and "at most 2 pages" in refused.value.reason


def default_sigint() -> None:
    """In a child: Ctrl+C's default, whatever the test runner set (an ignored SIGINT is
    inherited, and Python then raises no KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def serving_app(**options) -> Iterator[tuple[subprocess.Popen, str, int]]:
    """``maskrcnn-tutorial app`` on a free port, once it listens: the process, its URL (token
    included) and the port; stopped afterwards with Voila (SIGTERM to its process group).
    ``options`` go to Popen (``env``, ``cwd``)."""
    app, port = start_app(**options)
    try:
        url = app.stdout.readline().split()[-1]
        deadline = time.monotonic() + 90
        while not listening(port):
            assert app.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        yield app, url, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(app.pid, signal.SIGTERM)  # Voila is in the app's process group
        app.wait(timeout=60)


@pytest.mark.parametrize(
    ("signum", "when"),
    [(signal.SIGTERM, "serving"), (signal.SIGHUP, "serving"), (signal.SIGINT, "starting")],
)
def test_a_signal_stops_voila_quietly(signum, when):
    """SIGTERM (a service manager) or SIGHUP (a closed terminal) stop Voila too, not just the
    command; Ctrl+C (SIGINT to the terminal's process group) while Voila starts shows no
    traceback."""
    # its own process group, as a terminal would give it
    app, port = start_app(stderr=subprocess.PIPE, preexec_fn=default_sigint)
    try:
        assert "classroom app:" in app.stdout.readline()
        deadline = time.monotonic() + 90
        while when == "serving" and not listening(port):
            assert app.poll() is None and time.monotonic() < deadline, app.stderr.read()
            time.sleep(0.2)
        if when == "starting":
            time.sleep(1.0)  # Voila is importing and starting its server
        os.killpg(app.pid, signum)
        _, err = app.communicate(timeout=60)
        assert app.returncode == 0, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert err.strip().endswith("app stopped"), err
        time.sleep(0.5)
        assert not listening(port)  # Voila is gone too
    finally:
        if app.poll() is None:  # a failed test must not leave the app (and Voila) serving
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=60)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc (Linux)")
def test_the_token_is_not_in_ps_and_sigkill_stops_voila_too():
    """Issue 20: the token shows on no command line; killing the app outright (SIGKILL, no
    cleanup runs) still stops Voila, through the watchdog pipe."""
    import urllib.request

    with serving_app() as (app, url, port):
        token = url.split("token=")[1]
        with urllib.request.urlopen(url, timeout=60) as page:
            assert page.status == 200  # the token from the environment is the one that works
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                assert token.encode() not in cmdline.read_bytes(), cmdline
        app.kill()  # SIGKILL: the app's own cleanup never runs
        app.wait(timeout=10)
        deadline = time.monotonic() + 30
        while listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not listening(port), "Voila kept serving after its parent was killed"
