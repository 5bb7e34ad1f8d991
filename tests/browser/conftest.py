"""Fixtures for the browser tests: a headless Chromium (Debian's, driven by playwright) and
servers (JupyterLab, the Voila app) started fresh on 127.0.0.1 for each test and always
stopped afterwards.

Where no browser can be had (no ``/usr/bin/chromium``, or the ``playwright`` package missing)
every test here is skipped with a one-line reason (failed under ``$MASKRCNN_TUTORIAL_STRICT``,
as in CI: :mod:`tests.requires`). Screenshots go to ``test-artifacts/browser/``
(or ``$BROWSER_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from maskrcnn_tutorial.apps.server import kernel_transport
from tests.requires import missing
from tests.serving import free_port, short_folder

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "test-artifacts" / "browser"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_TIMEOUT = 90.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``browser`` (``-m "not browser"`` leaves them out)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def why_no_browser() -> str | None:
    """One line saying why no browser can be driven here, or None when one can."""
    if not CHROMIUM.is_file():
        return f"no browser: {CHROMIUM} is missing (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no browser driver: the playwright package is missing (pip install playwright)"
    return None


@dataclass
class Server:
    """A server process we started, and how to reach it."""

    process: subprocess.Popen
    url: str
    token: str
    log: Path
    root: Path | None = None

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until_up(server: Server, probe_url: str) -> None:
    """Poll ``probe_url`` until the server answers; fail with its log if it dies or stalls."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"server exited with {server.process.returncode}:\n{server.log_tail()}",
                pytrace=False,
            )
        try:
            with urllib.request.urlopen(probe_url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (a redirect to a login page is an answer)
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"server not up after {SERVER_START_TIMEOUT:.0f} s:\n{server.log_tail()}")


def processes_mentioning(marker: str) -> list[int]:
    """Ids of this machine's processes whose command line contains ``marker`` (a unique temp
    path of ours: kernels name their connection file, which lies in the server's folders)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def stop(process: subprocess.Popen, home: Path | None = None) -> None:
    """Stop a server we started and everything it started: SIGTERM (the server shuts its kernels
    down), then SIGKILL for its process group and any kernel whose connection file lies in
    ``home`` (the server's runtime and temp folders, see :func:`server_env`)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    if home is not None:  # kernels run in sessions of their own
        for pid in processes_mentioning(str(home)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="session", autouse=True)
def sigterm_runs_teardown():
    """Turn SIGTERM (a CI timeout) into KeyboardInterrupt so fixtures still stop their servers."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    yield
    signal.signal(signal.SIGTERM, previous)


def start(command: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Start ``command`` in its own process group (so :func:`stop` reaches its children)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        return subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def lab_settings(folder: Path) -> Path:
    """User settings for a clean Lab: no news pop-up, no update check, every cell rendered."""
    settings = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # render all cells (not a virtual window) so every output is in the page
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium, shared by the tests of one run."""
    reason = why_no_browser()
    if reason:
        missing(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


# Every URL that is not on this machine. A regular expression (unlike a Python callback) is
# matched inside the browser driver, so local requests never wait on this process.
NOT_LOCAL = re.compile(r"^(?!(https?://(127\.0\.0\.1|localhost)(:\d+)?/)|blob:|data:)")


@pytest.fixture
def page(browser):
    """A fresh page (1280x1280: an explorer fits) that can reach only this machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 1280})
    context.route(NOT_LOCAL, lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def artifacts(request) -> Path:
    """The folder for this test's screenshots."""
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@contextmanager
def short_home(prefix: str) -> Iterator[Path]:
    """A new folder under /tmp for a server's Jupyter state, removed afterwards. Its path is
    short so that the kernels' Unix sockets fit below it (``server.kernel_transport``): on
    TCP, a kernel whose port another program takes before it binds it dies at start, and the
    Chromium that loads the page opens many connections just then."""
    with short_folder(prefix) as home:
        assert kernel_transport(str(home / "runtime")), f"{home} is too long for a socket"
        yield home


def server_env(home: Path) -> dict[str, str]:
    """The environment of a server: isolated Jupyter state, nothing from the developer's."""
    env = dict(os.environ)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(lab_settings(home / "lab-settings")),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
            "TMPDIR": str(home / "tmp"),  # Voila keeps its kernels' connection files there
            "PYTHONUNBUFFERED": "1",
        }
    )
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return env


def unexecuted(notebook: Path) -> dict:
    """``notebook`` without outputs, execution counts or saved widget state: whatever the page
    shows after "Run All" comes from this run."""
    content = json.loads(notebook.read_text())
    for cell in content["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    content.get("metadata", {}).pop("widgets", None)
    return content


@contextmanager
def jupyter_lab(notebooks: list[Path], tmp_path: Path) -> Iterator[Server]:
    """JupyterLab on unexecuted copies of ``notebooks`` (:func:`unexecuted`) in a temp folder:
    free port, fresh token, kernels on Unix sockets (:func:`short_home`); stopped afterwards,
    even when the test fails."""
    root = tmp_path / "root"
    root.mkdir()
    for notebook in notebooks:
        (root / notebook.name).write_text(json.dumps(unexecuted(notebook)))
    port, token = free_port(), secrets.token_hex(24)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--allow-root",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--KernelManager.transport=ipc",  # in home/runtime, beside the connection files
    ]
    log = tmp_path / "jupyter-lab.log"
    with short_home("mrt-lab-") as home:
        process = start(command, log, server_env(home), root)
        server = Server(process, f"http://127.0.0.1:{port}", token, log, root)
        try:
            wait_until_up(server, f"{server.url}/api/status?token={token}")
            yield server
        finally:
            stop(process, home)


@pytest.fixture
def lab_factory(browser, tmp_path) -> Iterator[Callable[[list[Path]], Server]]:
    """Call with a list of notebooks to get a running :class:`Server` (stopped at teardown)."""
    with ExitStack() as stack:
        yield lambda notebooks: stack.enter_context(jupyter_lab(notebooks, tmp_path))


@pytest.fixture(scope="session")
def classroom_app(browser, tmp_path_factory) -> Iterator[Server]:
    """``maskrcnn-tutorial app --no-browser`` on a free port; its URL read from its first line.
    One server for the tests of a run: each page that opens it gets a kernel of its own (Voila
    runs the app anew for every visit), so the tests do not see each other's uploads."""
    tmp_path = tmp_path_factory.mktemp("app")
    port = free_port()
    log = tmp_path / "app.log"
    command = [sys.executable, "-m", "maskrcnn_tutorial", "app", f"--port={port}", "--no-browser"]
    with short_home("mrt-app-") as home:
        process = start(command, log, server_env(home), tmp_path)
        server = Server(process, "", "", log)
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while "token=" not in server.log_tail() and time.monotonic() < deadline:
                if process.poll() is not None:
                    pytest.fail(f"app exited with {process.returncode}:\n{server.log_tail()}")
                time.sleep(0.2)
            first = next(line for line in log.read_text().splitlines() if "token=" in line)
            server.url = first.split()[-1]
            server.token = server.url.split("token=")[-1]
            assert server.url.startswith(f"http://127.0.0.1:{port}/"), first
            wait_until_up(server, server.url)
            yield server
        finally:
            stop(process, home)
