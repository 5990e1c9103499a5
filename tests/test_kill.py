"""kill -9 of the real CLI at the moments that matter, then ``--resume``: the same render, no leftovers.

The kill points are file names reaching the disk, not timings: a wrapper (written into the test's
folder) wraps ``os.replace``, which every atomic write in zoomdream ends with, and SIGKILLs its own
process just before or just after a given file of the render gets its final name. Everything else
runs unpatched, so these tests only rely on what a user can see in the output folder.
"""

import os
import re
import shlex
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

import zoomdream
from helpers import decode, leftovers, pngs
from zoomdream.run import checkpoint
from zoomdream.run.folder import RenderFolder
from zoomdream.frontends.cli import main

pytestmark = pytest.mark.slow  # every test here renders in a child process and kills it

NAME, FRAMES, FPS = "zoom", 12, 10

RECIPE = (
    f"name: {NAME}\nsize: [64, 48]\nframes: {FRAMES}\nfps: {FPS}\n"
    "model: {{name: efficientnet_lite0}}\ndream: {{steps: 1, octaves: 1}}\nmotion: {{zoom: 1.05, rotate: 1}}\n"
    "output: {{dir: {folder}, frames: {{bit_depth: 16}}, checkpoint_every: 3}}\n"
)

KILLER = '''\
"""zoomdream's CLI, SIGKILLed just before or after the n-th time a file ending in NAME gets its name."""
import os, signal, sys

when, name, nth = sys.argv[1], os.sep + sys.argv[2], int(sys.argv[3])
seen = 0
replace = os.replace


def replace_or_die(src, dst, *args, **kwargs):
    global seen
    hit = os.fspath(dst).endswith(name)
    seen += hit
    if hit and seen == nth and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    replace(src, dst, *args, **kwargs)
    if hit and seen == nth and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)


os.replace = replace_or_die
from zoomdream.frontends.cli import main

sys.exit(main(sys.argv[4:]))
'''


def recipe(folder):
    path = folder / "recipe.yaml"
    path.write_text(RECIPE.format(folder=folder / "out"))
    return path, folder / "out"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted render: its 16-bit PNGs and decoded video frames."""
    cfg, out = recipe(tmp_path_factory.mktemp("reference"))
    assert main(["render", str(cfg), "--quiet"]) == 0
    return pngs(out), decode(out / f"{NAME}.mp4")


def kill(tmp_path, when, name, nth=1, *extra):
    """Render in a child process that SIGKILLs itself at the given file; returns the config and folder."""
    cfg, out = recipe(tmp_path)
    killer = tmp_path / "killer.py"
    killer.write_text(KILLER)
    argv = [sys.executable, str(killer), when, name, str(nth), "render", str(cfg), "--quiet", *extra]
    # The child imports the zoomdream under test, not whichever one is installed.
    env = {**os.environ, "PYTHONPATH": str(Path(zoomdream.__file__).parents[1])}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == -9, f"the render was not killed at {name}: {done.stderr}"
    return cfg, out


def timestamps(video):
    """Each decoded frame's presentation time in seconds, exact, from ffmpeg's showinfo filter."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(video), "-map", "0:v",
           "-fps_mode", "passthrough", "-vf", "showinfo", "-f", "null", "-"]  # fmt: skip
    log = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    num, den = re.search(r"config in time_base: (\d+)/(\d+)", log).groups()
    return [int(pts) * Fraction(int(num), int(den)) for pts in re.findall(r"\bn: *\d+ pts: *(-?\d+)", log)]


def assert_same_render(out, reference):
    frames, video = reference
    assert pngs(out) == frames, "the resumed render's 16-bit frames differ from the uninterrupted render's"
    assert timestamps(out / f"{NAME}.mp4") == [Fraction(i, FPS) for i in range(FRAMES)]
    resumed = decode(out / f"{NAME}.mp4")
    assert resumed.shape == video.shape
    # Segments cut at other frames encode a little differently; a frame out of place differs far more.
    error = np.abs(resumed.astype(int) - video.astype(int)).mean(axis=(1, 2, 3))
    assert error.max() < 1.0, f"decoded frames differ from the uninterrupted video by {error.round(2)}"
    assert leftovers(out) == []


def test_reference_frames_move(reference):
    """The video check below can only catch a frame out of place if neighbouring frames differ."""
    _, video = reference
    step = np.abs(np.diff(video.astype(int), axis=0)).mean(axis=(1, 2, 3))
    assert step.min() > 10.0


def test_killed_before_first_checkpoint_one_command_finishes_it(tmp_path, cli, reference):
    cfg, out = kill(tmp_path, "after", "frames/000005.png", 1, "--set", "output.checkpoint_every=1000")
    assert not RenderFolder(out).checkpoint.exists() and len(pngs(out)) == 6
    code, _, err = cli("render", cfg, "--quiet")
    assert code == 2 and err.count("\n") == 1, err
    command = err.rsplit(": ", 1)[1].strip()
    assert command == f"zoomdream render {cfg} --quiet --resume", "the refusal names the one command that works"
    code, _, err = cli(*shlex.split(command)[1:])
    assert code == 0
    assert err == f"zoomdream: {out} has no checkpoint yet; rendering from the first frame\n", "said even when quiet"
    assert_same_render(out, reference)


@pytest.mark.parametrize(
    "when, name, nth, saved",
    [
        pytest.param("before", "state/checkpoint.pt", 2, 3, id="checkpoint-written-not-renamed"),
        pytest.param("after", "frames/000011.png", 1, 9, id="after-last-frame"),
        pytest.param("before", f"{NAME}.mp4", 1, FRAMES, id="during-final-join"),
    ],
)
def test_killed_then_resumed_equals_uninterrupted(tmp_path, cli, reference, when, name, nth, saved):
    cfg, out = kill(tmp_path, when, name, nth)
    assert checkpoint.load(RenderFolder(out).checkpoint).next_frame == saved, "the last whole checkpoint is the one resume starts from"
    assert not (out / "render.json").exists()
    code, _, err = cli("render", cfg, "--resume", "--quiet")
    assert code == 0 and err == "", err
    assert_same_render(out, reference)
