"""Serving the app: the Voila command line and the checks `maskrcnn-tutorial app` makes first."""

from __future__ import annotations

import json
import socket

import pytest

from maskrcnn_tutorial import server
from maskrcnn_tutorial.cli import main


def test_the_served_notebook_only_builds_the_app():
    notebook = json.loads(server.APP_NOTEBOOK.read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert len(code) == 1 and "build_app()" in "".join(code[0]["source"])
    assert code[0]["outputs"] == []


def test_voila_command_binds_the_address_with_a_token():
    command = server.voila_command(8866, "127.0.0.1", "secret", open_browser=False)
    assert str(server.APP_NOTEBOOK) in command
    assert "--Voila.ip=127.0.0.1" in command and "--token=secret" in command
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
        def __init__(self, command, env):
            seen.update(env)

        def wait(self):
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
