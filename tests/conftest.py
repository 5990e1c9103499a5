import os
import signal

import imageio_ffmpeg
import pytest
import torch

from zoomdream.render import Renderer

from zoomdream.cli import main


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def tiny_config(tmp_path):
    """A small valid recipe in a temporary folder, rendering into that folder."""
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "name: tiny\n"
        "size: [64, 48]\n"
        "frames: 3\n"
        "fps: 12\n"
        "model: {name: efficientnet_lite0}\n"
        "dream: {steps: 1, octaves: 1}\n"
        f"output: {{dir: {tmp_path / 'out'}, frames: {{bit_depth: 8}}}}\n"
    )
    return path


def rendered(renderer, total=None):
    """The frames a render would write, driven through Renderer.frames(): (n, B, 3, H, W)."""
    out = [frames for _, frames in renderer.frames()]
    return torch.cat(out)[:total]


def stop_at(monkeypatch, frame, signum=signal.SIGINT):
    """Send a real signal to this process while frame ``frame`` is being made."""
    original = Renderer._dreamed

    def step(self, x, t):
        if t == frame:
            os.kill(os.getpid(), signum)
        return original(self, x, t)

    monkeypatch.setattr(Renderer, "_dreamed", step)


def frame_count(video):
    """Decoded frames as stored (no frame-rate conversion that could duplicate one at a segment join)."""
    reader = imageio_ffmpeg.read_frames(str(video), output_params=["-fps_mode", "passthrough"])
    next(reader)
    return sum(1 for _ in reader)
