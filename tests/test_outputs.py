"""Hostile outputs and arguments on the command line (issue 11): nothing harmed, nothing
half-written, one ``error:`` line, exit status 2, and every check before any work."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskrcnn_tutorial import models
from maskrcnn_tutorial.io import files, video
from maskrcnn_tutorial.synthetic.scenes import make_clip

from .conftest import write_clip
from .test_cli import assert_clean_error, run
from .test_server import default_sigint


@pytest.fixture
def no_model(monkeypatch):
    """Fails the test if the model is loaded: the checks must come before any work."""
    monkeypatch.setattr(models, "load_model", lambda *a, **k: pytest.fail("model was loaded"))


def fifo(folder: Path) -> Path:
    path = folder / "pipe"
    os.mkfifo(path)
    return path


# --- 1. never rename over something that is not a regular file ------------------------------


@pytest.mark.parametrize("flag", ["--json", "--out", "--raw"])
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: Path(os.devnull), ["a device, not a regular file"]),
        (fifo, ["a FIFO, not a regular file"]),
    ],
)
def test_outputs_that_are_not_regular_files_are_refused(
    capsys, tmp_path, scene_file, no_model, flag, make, words
):
    target = make(tmp_path)
    kind = stat.S_IFMT(os.stat(target).st_mode)
    code, _, err = run(["segment", scene_file, flag, target], capsys)
    assert_clean_error(code, err, str(target), *words)
    assert stat.S_IFMT(os.stat(target).st_mode) == kind  # still the device or FIFO


# --- 2. a write that fails is one error line; a video must hold every frame ------------------


def test_a_file_name_over_255_bytes_is_refused_before_work(capsys, tmp_path, scene_file, no_model):
    code, _, err = run(["segment", scene_file, "--json", tmp_path / ("a" * 251 + ".json")], capsys)
    assert_clean_error(code, err, "over 255 bytes")


def test_a_name_that_fits_is_written_despite_the_temporary_suffix(capsys, tmp_path, scene_file):
    target = tmp_path / ("a" * 250 + ".json")  # 255 bytes: the temporary name is shortened
    code, _, err = run(["--quiet", "segment", scene_file, "--json", target], capsys)
    assert code == 0, err
    assert target.exists() and [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_a_target_under_proc_is_one_error_line(capsys, scene_file, no_model):
    code, _, err = run(["segment", scene_file, "--json", "/proc/maskrcnn-test.json"], capsys)
    assert_clean_error(code, err, "cannot write /proc/maskrcnn-test.json")


def test_a_full_disk_is_one_error_line_and_leaves_nothing(
    capsys, tmp_path, scene_file, monkeypatch
):
    def full(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "write_bytes", full)
    args = ["segment", scene_file, "--model", "shapes", "--json", tmp_path / "a.json"]
    code, _, err = run(args, capsys)
    assert_clean_error(code, err, "a.json", "the disk is full")
    assert list(tmp_path.iterdir()) == []


def test_a_video_missing_frames_fails_the_command(capsys, tmp_path, clip_file, monkeypatch):
    monkeypatch.setattr(video, "count_frames", lambda path: 1)  # what a full disk leaves
    out = tmp_path / "o.avi"
    args = ["--quiet", "segment", clip_file, "--model", "shapes", "--out", out]
    code, stdout, err = run(args, capsys)
    assert_clean_error(code, err, "only 1 of 4 frames", "nothing was written")
    assert "annotated video" not in stdout
    assert list(tmp_path.iterdir()) == []


def test_a_written_video_reads_back_every_frame(tmp_path):
    with video.VideoWriter(tmp_path / "o.mp4", 10.0, (24, 32)) as writer:
        for _ in range(5):
            writer.write(make_clip(1, 1)[0].image)
    assert video.count_frames(tmp_path / "o.mp4") == 5


# --- 3. an output equal to the input or to another output is refused before work -------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (lambda s, d: ["segment", s, "--out", s], ["--out", "is the input"]),
        (lambda s, d: ["segment", s, "--json", d / "x", "--out", d / "x"], ["the --out output"]),
        (lambda s, d: ["segment", s, "--raw", d / "x", "--json", d / "x"], ["the --json output"]),
        (
            lambda s, d: ["scene", "--seed", "1", "--out", d / "x.png", "--truth", d / "x.png"],
            ["--truth", "the --out output"],
        ),  # fmt: skip
        (lambda s, d: ["segment", s, "--out", d / "link.png"], ["is the input"]),
        (lambda s, d: ["segment", s, "--out", d / "hard.png"], ["is the input"]),
    ],
)
def test_outputs_that_collide_are_refused_before_work(
    capsys, tmp_path, scene_file, no_model, args, words
):
    (tmp_path / "link.png").symlink_to(scene_file)
    os.link(scene_file, tmp_path / "hard.png")
    before = scene_file.read_bytes()
    code, _, err = run(args(scene_file, tmp_path), capsys)
    assert_clean_error(code, err, *words)
    assert scene_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.png", "link.png"]


# --- 4. the outputs of one command land together or not at all -------------------------------


def test_when_one_output_fails_none_is_written(capsys, tmp_path, scene_file, monkeypatch):
    real = Path.write_bytes

    def fail_npz(self, data):
        if self.name.endswith(".npz.part") or ".npz." in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail_npz)
    outputs = ["--out", tmp_path / "a.png", "--json", tmp_path / "a.json", "--raw"]
    code, stdout, err = run(
        ["segment", scene_file, "--model", "shapes", *outputs, tmp_path / "a.npz"], capsys
    )
    assert_clean_error(code, err, "a.npz", "disk is full")
    assert list(tmp_path.iterdir()) == []
    # nothing was written, so stdout announces nothing as written (issue 20)
    assert "annotated image" not in stdout and "detections:" not in stdout


def test_staged_writes_land_only_at_the_end(tmp_path):
    with files.staged():
        files.atomic_write_bytes(tmp_path / "a", b"1")
        assert not (tmp_path / "a").exists()
    assert (tmp_path / "a").read_bytes() == b"1"
    with pytest.raises(RuntimeError), files.staged():
        files.atomic_write_bytes(tmp_path / "b", b"2")
        raise RuntimeError("a later step fails")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


# --- 5. a closed stdout ends quietly, with the outputs written --------------------------------


def test_a_closed_stdout_ends_quietly_with_the_outputs_written(tmp_path, scene_file):
    out = tmp_path / "a.png"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maskrcnn_tutorial",
            "segment",
            str(scene_file),
            "--out",
            str(out),
            "--conf",
            "0.05",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert out.exists()


# --- 6. argument ranges are checked while parsing ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["segment", "--webcam", "-1"], ["--webcam", "between 0 and 99", "-1"]),
        (["segment", "--webcam", "100000000000"], ["--webcam", "between 0 and 99"]),
        (["segment", "--webcam", "one"], ["--webcam", "not a whole number"]),
        (["segment", "x.avi", "--max-frames", "-1"], ["--max-frames", "between 1 and"]),
        (["segment", "x.avi", "--max-frames", "0"], ["--max-frames", "between 1 and"]),
        (["scene", "--seed", "-1", "--out", "x.png"], ["--seed", "between 0 and"]),
        (["scene", "--seed", "1e3", "--out", "x.png"], ["--seed", "not a whole number"]),
        (["evaluate", "--images", "0"], ["--images", "between 1 and"]),
        (["evaluate", "--seed", "5"], ["--seed", "between 1000000 and"]),
        (["app", "--port", "0"], ["--port", "between 1 and 65535"]),
        (["app", "--port", "70000"], ["--port", "between 1 and 65535"]),
    ],
)
def test_out_of_range_numbers_are_refused_while_parsing(capsys, no_model, args, words):
    code, _, err = run(args, capsys)
    assert_clean_error(code, err, *words)


@pytest.mark.parametrize(
    ("input_fixture", "out", "words"),
    [
        ("scene_file", "a.txt", ["--out", "cannot write an image as '.txt'"]),
        ("clip_file", "a.png", ["--out", "a video is written as"]),
    ],
)
def test_the_out_extension_is_checked_before_inference(
    request, capsys, tmp_path, no_model, input_fixture, out, words
):
    source = request.getfixturevalue(input_fixture)
    code, _, err = run(["segment", source, "--out", tmp_path / out], capsys)
    assert_clean_error(code, err, *words)


def test_quiet_works_after_the_subcommand_too(capsys, clip_file):
    args = ["segment", clip_file, "--model", "shapes", "--max-frames", "2"]
    _, _, err = run(args, capsys)
    assert "frame" in err  # the progress bar
    for quiet in (["--quiet", *args], [*args, "--quiet"]):
        code, _, err = run(quiet, capsys)
        assert code == 0 and err == "", err


# --- 9. FFmpeg's and OpenCV's own lines do not come before our error line ---------------------


@pytest.mark.parametrize(
    "content",
    [
        b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(200),  # an AVI header with nothing behind it
        b"\x00\x00\x00\x18ftypisom" + bytes(300),  # an MP4 without its moov atom
        b"\x1a\x45\xdf\xa3" + bytes(300),  # a Matroska signature, then zeros
    ],
)
def test_a_broken_video_gives_only_our_error_line(tmp_path, content):
    broken = tmp_path / "broken.avi"
    broken.write_bytes(content)
    result = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "segment", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("error: cannot decode"), result.stderr


# --- 10. SIGTERM and SIGHUP end a run like Ctrl+C, leaving nothing behind ---------------------


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return write_clip(tmp_path_factory.mktemp("input") / "long.avi", 1_000_017, 60)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_mid_video_removes_the_temporary_file(tmp_path, long_clip, signum):
    out = tmp_path / "out" / "o.avi"
    out.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "maskrcnn_tutorial", "--quiet", "segment", str(long_clip),
         "--model", "shapes", "--out", str(out), "--json", str(tmp_path / "out" / "o.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(p.suffix == ".avi" for p in out.parent.iterdir()):  # frames are being written
        assert process.poll() is None and time.monotonic() < deadline, "no frame was written"
        time.sleep(0.02)
    process.send_signal(signum)
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: "), err
    assert "nothing was written" in err and "Traceback" not in err
    assert list(out.parent.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KB file system (tmpfs), where a video runs out of space; root and Linux only."""
    folder = tmp_path / "small"
    folder.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_video_on_a_full_disk_fails_with_only_our_error_line(small_disk, long_clip):
    result = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "--quiet", "segment", str(long_clip),
         "--model", "shapes", "--out", str(small_disk / "v.avi"), "--max-frames", "20"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert "frames could be read back" in result.stderr
    assert list(small_disk.iterdir()) == []


# --- 7. issue 20: streams of the process, names that are not UTF-8, pictures' headers ----------


def link_to_stdout(folder: Path) -> Path:
    link = folder / "out.json"
    link.symlink_to("/dev/stdout")
    return link


@pytest.mark.skipif(not Path("/dev/fd").exists(), reason="needs /dev/fd (Linux, macOS)")
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: Path("/dev/stdout"), "this command's stdout"),
        (lambda d: Path("/dev/stderr"), "this command's stderr"),
        (lambda d: Path("/dev/fd/1"), "this command's stdout"),
        (lambda d: Path("/dev/fd/7"), "this command's file descriptor 7"),
        (lambda d: Path(f"/proc/{os.getpid()}/fd/1"), "this command's stdout"),
        (link_to_stdout, "this command's stdout"),
    ],
)
@pytest.mark.parametrize("flag", ["--json", "--out"])
def test_outputs_that_are_streams_of_the_command_are_refused(
    capsys, tmp_path, scene_file, no_model, flag, make, words
):
    target = make(tmp_path)
    if str(target).startswith("/proc/") and not Path("/proc/self").exists():
        pytest.skip("needs Linux /proc")
    code, _, err = run(["segment", scene_file, flag, target], capsys)
    assert_clean_error(code, err, str(target), words)


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="needs /dev/stdout")
def test_json_to_dev_stdout_appended_to_a_log_keeps_the_log(tmp_path, scene_file):
    log = tmp_path / "run.log"
    log.write_text("earlier runs\n")
    command = [sys.executable, "-m", "maskrcnn_tutorial", "segment", str(scene_file)]
    with log.open("a") as stdout:
        done = subprocess.run(
            [*command, "--json", "/dev/stdout"], stdout=stdout, stderr=subprocess.PIPE, text=True
        )
    assert_clean_error(done.returncode, done.stderr, "/dev/stdout")
    assert log.read_text() == "earlier runs\n"  # the atomic rename emptied it before


def not_utf8(folder: Path, name: bytes) -> Path:
    path = folder / os.fsdecode(name)
    try:
        path.touch()
        path.unlink()
    except OSError:  # macOS file systems refuse such names outright
        pytest.skip("this file system refuses names that are not UTF-8")
    return path


def test_names_that_are_not_utf8_work_and_print_escaped(tmp_path, scene_file):
    source = not_utf8(tmp_path, b"ok\xffname.png")
    source.write_bytes(scene_file.read_bytes())
    out = not_utf8(tmp_path, b"o\xff.png")
    done = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "segment", str(source), "--out", str(out)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # strict stdout: failed before
    )
    assert done.returncode == 0, done.stderr
    assert b"ok\\xffname.png" in done.stdout and b"annotated image: " in done.stdout
    assert out.exists()
    missing = not_utf8(tmp_path, b"gone\xff.png")
    code = subprocess.run(
        [sys.executable, "-m", "maskrcnn_tutorial", "segment", str(missing)],
        capture_output=True,
        text=True,
    )
    assert_clean_error(code.returncode, code.stderr, "gone\\xff.png does not exist")


def png_declaring(width: int, height: int) -> bytes:
    from .test_images import png_declaring as make

    return make(width, height)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (lambda: png_declaring(65535, 65535), "declares more than"),  # 69 bytes
        (lambda: png_declaring(9000, 9000), "9000x9000 pixels, more than 40 megapixels"),
        (lambda: b"P5\n60000 60000\n255\n" + bytes(100), "declares more than"),  # 118 bytes
    ],
)
def test_pictures_declaring_too_many_pixels_are_one_line(capsys, tmp_path, no_model, data, words):
    source = tmp_path / "huge.img"
    source.write_bytes(data())
    code, _, err = run(["segment", source, "--out", tmp_path / "o.png"], capsys)
    assert_clean_error(code, err, str(source), words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.img"]


def test_alpha_errors_name_alpha(capsys, scene_file, no_model):
    code, _, err = run(["segment", scene_file, "--alpha", "5"], capsys)
    assert_clean_error(code, err, "--alpha", "between 0 and 1, got 5")
    assert "threshold" not in err


def test_a_video_that_ends_early_says_so(capsys, tmp_path):
    whole = write_clip(tmp_path / "whole.avi", 1_000_007, 10)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    report = tmp_path / "cut.json"
    code, out, err = run(["--quiet", "segment", cut, "--json", report], capsys)
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "of the 10 its header declares" in warning[0], err
    read = int(warning[0].split("stopped at frame ")[1].split()[0])
    assert 0 < read < 10 and f"{read} frames" in out
    notes = json.loads(report.read_text())["notes"]
    assert notes == [warning[0].removeprefix("warning: ")]
    whole_report = tmp_path / "whole.json"
    code, _, err = run(["--quiet", "segment", whole, "--json", whole_report], capsys)
    assert (
        code == 0 and "warning" not in err and "notes" not in json.loads(whole_report.read_text())
    )


def test_an_animated_gif_says_only_its_first_frame_is_used(capsys, tmp_path):
    from PIL import Image

    frames = [Image.fromarray(s.image[:, :, ::-1]) for s in make_clip(1_000_007, 3)]
    source = tmp_path / "anim.gif"
    frames[0].save(source, save_all=True, append_images=frames[1:])
    report = tmp_path / "anim.json"
    code, _, err = run(["segment", source, "--json", report], capsys)
    assert code == 0, err
    assert "note: " in err and "has 3 frames (an animation); only the first" in err
    assert json.loads(report.read_text())["notes"][0].endswith("only the first is segmented")
