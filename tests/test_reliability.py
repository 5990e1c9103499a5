"""Renders survive signals, kill -9, write failures and bad numbers, and resume bit for bit."""

import errno
import shlex
import signal
import subprocess
import sys
import time

import pytest
import torch

from zoomdream.io.frames import FrameSink
from zoomdream.io.video import VideoSink
from zoomdream.run import checkpoint
from zoomdream.run.folder import RenderFolder
from zoomdream.run.lock import FolderLock
from zoomdream.engine.renderer import Renderer

from helpers import frame_count, pngs, stop_at


@pytest.fixture
def recipe(tmp_path):
    """A 16-bit PNG render, so 'bit for bit' compares every bit of the frame."""

    def make(name="r", frames=8, every=2):
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            f"name: {name}\nsize: [64, 48]\nframes: {frames}\nfps: 10\n"
            "model: {name: efficientnet_lite0}\ndream: {steps: 1, octaves: 1}\nmotion: {zoom: 1.05, rotate: 1}\n"
            f"output: {{dir: {tmp_path / name}, frames: {{bit_depth: 16}}, checkpoint_every: {every}}}\n"
        )
        return path, tmp_path / name

    return make


@pytest.mark.slow
def test_ctrl_c_checkpoints_and_resume_is_bit_identical(cli, recipe, monkeypatch):
    whole_cfg, whole = recipe("whole")
    assert cli("render", whole_cfg, "--quiet")[0] == 0
    cut_cfg, cut = recipe("cut")
    stop_at(monkeypatch, 3)
    code, _, err = cli("render", cut_cfg, "--quiet")
    assert code == 130 and "stopped at frame 4 of 8" in err and "--resume" in err
    assert frame_count(cut / "cut.mp4") == 4, "the interrupted video is closed and plays"
    assert checkpoint.load(RenderFolder(cut).checkpoint).next_frame == 4
    monkeypatch.undo()
    code, _, err = cli("render", cut_cfg, "--quiet", "--resume")
    assert code == 0, err
    assert frame_count(cut / "cut.mp4") == 8
    assert pngs(cut) == pngs(whole)
    assert not (cut / "state").exists()


EVERY_MODE = [
    "dream.noise=0.05", "dream.calm=0.5", "motion.zoom=0.96", "motion.tilt_x=0:(0), 5:(1.5)", "motion.tilt_y=-1", "motion.dream_every=3",
    "color.mode=histogram", "color.space=lab", "color.reference=rolling", "color.memory=0.3",
]  # fmt: skip


@pytest.mark.slow
def test_resume_is_bit_identical_with_every_new_mode_on(cli, recipe, monkeypatch):
    """Noise, momentum, revealed-ground fill, tilt, tweens and a rolling LAB histogram all carry state."""
    whole_cfg, whole = recipe("whole", frames=9)
    sets = [arg for item in EVERY_MODE for arg in ("--set", item)]
    assert cli("render", whole_cfg, "--quiet", *sets)[0] == 0
    cut_cfg, cut = recipe("cut", frames=9)
    stop_at(monkeypatch, 6)  # a dreamed frame: 0, 3, 6 with dream_every 3
    assert cli("render", cut_cfg, "--quiet", *sets)[0] == 130
    monkeypatch.undo()
    code, _, err = cli("render", cut_cfg, "--quiet", "--resume", *sets)
    assert code == 0, err
    assert pngs(cut) == pngs(whole) and len(pngs(whole)) == 9


@pytest.mark.slow
def test_sigterm_exits_143(cli, recipe, monkeypatch):
    cfg, folder = recipe()
    stop_at(monkeypatch, 1, signal.SIGTERM)
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 143 and checkpoint.load(RenderFolder(folder).checkpoint).next_frame == 2


@pytest.mark.slow
def test_resume_refuses_a_changed_config(cli, recipe, monkeypatch):
    cfg, _ = recipe()
    stop_at(monkeypatch, 2)
    assert cli("render", cfg, "--quiet")[0] == 130
    monkeypatch.undo()
    code, _, err = cli("render", cfg, "--quiet", "--resume", "--set", "seed=5")
    assert code == 2 and "seed was 0, now 5" in err and err.count("\n") == 1
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and "--resume" in err, "an interrupted render is not silently restarted"


@pytest.mark.slow
def test_resume_of_a_render_never_started_renders_it(cli, recipe):
    whole_cfg, whole = recipe("whole")
    assert cli("render", whole_cfg, "--quiet")[0] == 0
    cfg, folder = recipe()
    assert cli("render", cfg, "--quiet", "--resume")[0] == 0
    assert pngs(folder) == pngs(whole) and not (folder / "state").exists()
    code, _, err = cli("render", cfg, "--resume", "--quiet")
    assert code == 0 and "already finished" in err, "resuming a finished render is not an error, and says so"


@pytest.mark.slow
@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")])
def test_write_failure_keeps_frames_and_checkpoint_then_resumes(cli, recipe, monkeypatch, code, cause):
    whole_cfg, whole = recipe("whole")
    assert cli("render", whole_cfg, "--quiet")[0] == 0
    cfg, folder = recipe("full")
    original = FrameSink.write

    def write(self, index, frame):
        if index == 5:
            raise OSError(code, cause, str(self.folder / f"{index:06d}.png"))
        original(self, index, frame)

    monkeypatch.setattr(FrameSink, "write", write)
    exit_code, _, err = cli("render", cfg, "--quiet")
    assert exit_code == 2 and err.count("\n") == 1
    assert "000005.png" in err and cause in err
    assert sorted(pngs(folder)) == [f"{i:06d}.png" for i in range(5)]
    assert checkpoint.load(RenderFolder(folder).checkpoint).next_frame == 4
    monkeypatch.undo()
    assert cli("render", cfg, "--quiet", "--resume")[0] == 0
    assert pngs(folder) == pngs(whole)
    assert frame_count(folder / "full.mp4") == 8


@pytest.mark.slow
def test_failing_encoder_is_one_line(cli, recipe, monkeypatch):
    cfg, folder = recipe()
    original = VideoSink.write

    def write(self, index, frame):
        if index == 3:
            self._ffmpeg.kill()
            self._ffmpeg.wait()
        original(self, index, frame)

    monkeypatch.setattr(VideoSink, "write", write)
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "ffmpeg" in err
    assert checkpoint.load(RenderFolder(folder).checkpoint).next_frame == 2


@pytest.mark.slow
def test_output_folder_deleted_mid_render(cli, recipe, monkeypatch, tmp_path):
    cfg, folder = recipe()
    original = Renderer._dreamed

    def step(self, x, t):
        if t == 3:
            # Moved away in one step, so the writer thread cannot race a recursive delete.
            folder.rename(tmp_path / "trash")
        return original(self, x, t)

    monkeypatch.setattr(Renderer, "_dreamed", step)
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and err.count("\n") == 1 and str(folder) in err


@pytest.mark.slow
def test_nan_stops_before_the_frame_is_written(cli, recipe, monkeypatch):
    cfg, folder = recipe()
    original = Renderer._dream

    calls = {"n": 0}

    def dream(self, x, plan):
        calls["n"] += 1
        out = original(self, x, plan)
        return torch.full_like(out, float("nan")) if calls["n"] == 4 else out

    monkeypatch.setattr(Renderer, "_dream", dream)
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and "frame 3" in err and "NaN" in err
    assert sorted(pngs(folder)) == [f"{i:06d}.png" for i in range(3)]


@pytest.mark.slow
def test_second_render_into_a_busy_folder_is_refused(cli, recipe):
    cfg, folder = recipe()
    folder.mkdir()
    with FolderLock(RenderFolder(folder).lock):
        code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and "another zoomdream render is writing here" in err
    assert cli("render", cfg, "--quiet")[0] == 0, "the lock is gone with its holder"


def spawn(cfg, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "zoomdream", "render", str(cfg), "--quiet", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.slow
def test_real_process_ctrl_c_twice_and_kill_9(recipe):
    cfg, folder = recipe("proc", frames=400, every=3)
    proc = spawn(cfg)
    wait_for(folder / "state" / "checkpoint.pt", proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err and "--resume" in err
    saved = checkpoint.load(RenderFolder(folder).checkpoint).next_frame
    assert saved >= 3

    proc = spawn(cfg, "--resume")
    wait_for(folder / "frames" / f"{saved + 6:06d}.png", proc)
    proc.kill()
    proc.wait()
    leftovers = [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".png", ".pt") and p.stat().st_size == 0]
    assert leftovers == []
    state = checkpoint.load(RenderFolder(folder).checkpoint)
    assert state.next_frame >= saved
    proc = spawn(cfg, "--resume", "--set", "frames=30") if state.next_frame < 30 else None
    if proc is not None:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert frame_count(folder / "proc.mp4") == 30


def checkpoints_taken(monkeypatch):
    """(next frame, time) of every checkpoint the loop decides to take."""
    taken = []
    original = Renderer.state_dict

    def spy(self):
        taken.append((self.next_frame, time.perf_counter()))
        return original(self)

    monkeypatch.setattr(Renderer, "state_dict", spy)
    return taken


@pytest.mark.slow
def test_checkpoints_by_time(cli, recipe, monkeypatch):
    """Frames of at least 0.5 s with checkpoint_every '1s': one checkpoint per second of
    rendering, so every second or third frame, never two within a second, and one at the end."""
    cfg, folder = recipe(frames=8, every='"1s"')
    original = Renderer._dreamed

    def slow(self, x, t):
        time.sleep(0.5)
        return original(self, x, t)

    monkeypatch.setattr(Renderer, "_dreamed", slow)
    taken = checkpoints_taken(monkeypatch)
    assert cli("render", cfg, "--quiet")[0] == 0
    frames = [n for n, _ in taken]
    assert frames[-1] == 8 and len(frames) >= 3, frames
    assert all(0 < b - a <= 2 for a, b in zip([0, *frames], frames)), f"a second passed without a checkpoint: {frames}"
    times = [t for _, t in taken[:-1]]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:])), f"checkpoints closer than a second: {frames}"


@pytest.mark.slow
def test_checkpoints_by_frames_when_they_come_first(cli, recipe, monkeypatch):
    cfg, _ = recipe(frames=8, every='[3, "3600s"]')
    taken = checkpoints_taken(monkeypatch)
    assert cli("render", cfg, "--quiet")[0] == 0
    assert [n for n, _ in taken] == [3, 6, 8]


def follow(cli, refusal):
    """A refusal is one line ending in the command that fixes it; run that command, which must finish the render."""
    code, _, err = refusal
    assert code == 2 and err.count("\n") == 1 and ": zoomdream render " in err, f"no command to run: {err}"
    command = shlex.split(err.rsplit(": zoomdream ", 1)[1])
    flags = [arg for arg in command if arg in ("--resume", "--overwrite")]
    assert command[0] == "render" and len(flags) == 1, f"the refusal names no single command: {err}"
    code, _, err = cli(*command, "--quiet")
    assert code == 0, f"the command the refusal named failed: {err}"


@pytest.mark.slow
def test_every_refusal_names_a_command_that_finishes_the_render(cli, recipe, monkeypatch):
    cfg, folder = recipe(frames=3)

    def interrupted():
        stop_at(monkeypatch, 1)
        assert cli("render", cfg, "--quiet", "--overwrite")[0] == 130
        monkeypatch.undo()

    interrupted()
    follow(cli, cli("render", cfg))  # --resume
    follow(cli, cli("render", cfg))  # finished: --overwrite
    follow(cli, cli("render", cfg, "--resume", "--set", "frames=4"))  # finished cannot grow: --overwrite
    assert len(pngs(folder)) == 4
    interrupted()
    follow(cli, cli("render", cfg, "--resume", "--set", "seed=5"))  # changed config: --overwrite, keeping seed=5
    assert "seed: 5" in (folder / "config.yaml").read_text()
    interrupted()
    RenderFolder(folder).checkpoint.write_bytes(b"not a checkpoint")
    follow(cli, cli("render", cfg, "--resume"))  # damaged checkpoint: --overwrite
    assert not (folder / "state").exists() and len(pngs(folder)) == 3


@pytest.mark.slow
def test_resuming_a_finished_render_changes_nothing(cli, recipe):
    cfg, folder = recipe(frames=3)
    assert cli("render", cfg, "--quiet")[0] == 0
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    code, _, err = cli("render", cfg, "--resume")
    assert code == 0 and err == f"zoomdream: {folder} is already finished; nothing to resume\n"
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("change, named", [("seed=5", "seed was 0, now 5"), ("size=[48, 32]", "size was [64, 48], now [48, 32]"),
                                           ("model.name=inception_v3_tf", "model was"), ("dream.objective.0.layer=_blocks.3", "dream.objective was")])
@pytest.mark.slow
def test_a_finished_render_resumed_with_another_recipe_is_refused(cli, recipe, change, named):
    """--resume of a finished render is a no-op for the same recipe, and a one-line refusal that
    names what differs and --overwrite for another: the folder holds the old recipe's render."""
    cfg, folder = recipe(frames=3)
    args = ["--set", "dream.objective=[{layer: _blocks.10}]"] if "objective" in change else []
    assert cli("render", cfg, "--quiet", *args)[0] == 0
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    code, _, err = cli("render", cfg, "--resume", *args, "--set", change)
    assert code == 2 and err.count("\n") == 1
    assert "holds a finished render of another recipe" in err and named in err and err.rstrip().endswith("--overwrite")
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()} == before, "nothing was touched"
    assert cli("render", cfg, "--resume", *args)[0] == 0, "the same recipe is still the no-op it was"
