"""The package where the standard library is Windows-like: the command line, the app's start-up
and a notebook run with the POSIX-only attributes removed (:data:`REMOVED`, by a
``sitecustomize`` that every Python process of the run imports, kernels included) and with
stdout in cp1252, a Windows console's encoding. Not Windows itself: what differs besides these
attributes (paths, renames of open files, the console) is tested where it can be (renames: below;
paths: test_series) or not at all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from maskrcnn_tutorial.synthetic import samples
from tests.serving import start_app

ROOT = Path(__file__).resolve().parents[1]
#: What Windows' ``signal`` and ``os`` modules lack (of what a POSIX program may reach for).
REMOVED = {
    "signal": ["SIGHUP", "SIGKILL", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"],
    "os": ["killpg", "setsid", "getpgid", "getsid", "setpgid", "getpgrp"],
}
#: Environment variable naming attributes to keep (third-party code that branches on
#: ``sys.platform`` rather than on the attribute, and so would fail here but not on Windows).
KEEP_ENV = "WINDOWS_LIKE_KEEP"
SITECUSTOMIZE = f"""
import os, signal
keep = os.environ.get({KEEP_ENV!r}, "").split(",")
for module, names in {{"signal": signal, "os": os}}.items():
    for name in {REMOVED!r}[module]:
        if hasattr(names, name) and name not in keep:
            delattr(names, name)
"""


@pytest.fixture(scope="module")
def windows_like(tmp_path_factory) -> dict[str, str]:
    """The environment of a Windows-like run: the sitecustomize first on the path, cp1252."""
    folder = tmp_path_factory.mktemp("windows-like")
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONIOENCODING": "cp1252"}


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 300):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, env=env, cwd=cwd, timeout=timeout
    )


def test_the_attributes_are_gone_in_every_process(windows_like, tmp_path):
    probe = "import os, signal; print(hasattr(signal, 'SIGHUP'), hasattr(os, 'killpg'))"
    done = run(["-c", probe], windows_like, tmp_path)
    assert done.stdout.split() == [b"False", b"False"]


def test_the_command_line_segments_a_picture_with_a_name_cp1252_lacks(
    windows_like, tmp_path, empty_model_cache
):
    picture = tmp_path / "\u661f scene.png"  # a star, in Chinese: not in cp1252
    picture.write_bytes(samples.DEMO_SCENE.read_bytes())
    env = {**windows_like, "MASKRCNN_TUTORIAL_CACHE": str(empty_model_cache)}
    done = run(
        [
            "-m",
            "maskrcnn_tutorial",
            "segment",
            picture.name,
            "--out",
            "out.png",
            "--json",
            "d.json",
        ],
        env,
        tmp_path,
    )
    out, err = done.stdout.decode("cp1252"), done.stderr.decode("cp1252")
    assert done.returncode == 0, err
    assert out.startswith("\\u661f scene.png: 5 detections with model 'shapes'"), out
    assert json.loads((tmp_path / "d.json").read_text())["input"] == picture.name
    assert (tmp_path / "out.png").stat().st_size > 0
    assert "Traceback" not in err


def test_bad_input_is_still_one_line(windows_like, tmp_path):
    done = run(["-m", "maskrcnn_tutorial", "segment", "missing.png"], windows_like, tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.decode("cp1252").strip() == "error: missing.png does not exist; check the path"
    )


def test_the_app_starts_serves_and_stops(windows_like, tmp_path):
    # (in a process group of its own, so the test can stop everything it started if it fails)
    app, _ = start_app(stderr=subprocess.PIPE, text=False, env=windows_like, cwd=tmp_path)
    try:
        url = app.stdout.readline().decode("cp1252").split("classroom app: ")[1].strip()
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=60) as page:
                    assert page.status == 200 and b"<html" in page.read(2000).lower()
                break
            except OSError:
                assert app.poll() is None and time.monotonic() < deadline, app.stderr.read()
                time.sleep(0.5)
        app.send_signal(signal.SIGTERM)  # the one stop signal Windows has besides Ctrl+C
        _, err = app.communicate(timeout=60)
        err = err.decode("cp1252")
        # (a kernel the page started may still be importing when Voila shuts it down: its
        # KeyboardInterrupt is Voila's shutdown, as on POSIX; an AttributeError would be ours)
        assert app.returncode == 0 and "AttributeError" not in err, err
        assert err.strip().endswith("app stopped"), err
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(timeout=60)


def test_a_notebook_runs_top_to_bottom(windows_like, tmp_path):
    """00, whose kernel imports the package under the same sitecustomize. ipykernel imports
    signal.SIGKILL on every system but Windows (it branches on sys.platform), so that one stays."""
    notebook = ROOT / "notebooks" / "00_start_here.ipynb"
    env = {**windows_like, "MASKRCNN_TUTORIAL_MODEL": "shapes", KEEP_ENV: "SIGKILL"}
    done = run([str(ROOT / "tests" / "run_notebook.py"), str(notebook)], env, tmp_path, 600)
    assert done.returncode == 0, done.stderr.decode("cp1252")
    report = json.loads(done.stdout.decode("cp1252").strip().splitlines()[-1])
    assert report["errors"] == [], report["errors"]


# --- no file is held open across a rename (Windows refuses to rename an open file) ------------


@pytest.fixture
def renames(monkeypatch) -> list[str]:
    """Every os.replace of the test, each checked: this process holds no descriptor on its
    source (read from /proc/self/fd, so Linux only)."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd")
    real, done = os.replace, []

    def checked(src, dst, *args, **kwargs):
        source = os.path.realpath(src)
        fds = Path("/proc/self/fd")
        open_files = set()
        for fd in fds.iterdir():
            try:
                open_files.add(os.readlink(fd))
            except OSError:
                pass
        held = {name for name in open_files if name == source or name.startswith(source + "/")}
        assert not held, f"{src} is still open while it is renamed"
        done.append(Path(dst).name)
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", checked)
    return done


def test_no_output_is_open_when_it_is_renamed_into_place(renames, tmp_path, clip_file, scene_file):
    from maskrcnn_tutorial.apps.cli import main

    image = ["segment", str(scene_file), "--out", str(tmp_path / "o.png")]
    assert main([*image, "--json", str(tmp_path / "o.json"), "--raw", str(tmp_path / "o.npz")]) == 0
    video = ["--quiet", "segment", str(clip_file), "--out", str(tmp_path / "v.avi")]
    assert main([*video, "--json", str(tmp_path / "v.json")]) == 0
    assert main(["notebooks", str(tmp_path / "series")]) == 0
    assert sorted(renames) == sorted(["o.png", "o.json", "o.npz", "v.avi", "v.json", "series"])


# --- process groups only where they exist -----------------------------------------------------


STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"


@pytest.mark.parametrize("posix", [True, False], ids=["process groups", "none (Windows)"])
def test_a_server_that_ignores_sigterm_is_killed(monkeypatch, posix):
    """stop(): SIGTERM, then SIGKILL for the process group where os.killpg exists, else
    Popen.kill (Windows' TerminateProcess)."""
    from maskrcnn_tutorial.apps import server

    if not posix:
        monkeypatch.delattr(os, "killpg")
        monkeypatch.delattr(os, "setsid")
        assert server.own_process_group() == {
            "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        }
    monkeypatch.setattr(server, "STOP_TIMEOUT_S", 1)
    child = subprocess.Popen([sys.executable, "-c", STUBBORN], **server.own_process_group())
    try:
        time.sleep(0.5)  # its handler is installed
        server.stop(child)
        assert child.returncode == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
