"""What many tests share: a tiny recipe, decoding a video as stored, reading frames back,
leftover temporary files, and stopping a render at a frame (through the stop token, or by
sending the CLI a real signal)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from zoomdream.io import ffmpeg
from zoomdream.run.events import Frames
from zoomdream.run.folder import LOCK_FILE

TINY = {
    "name": "tiny",
    "size": [64, 48],
    "frames": 3,
    "fps": 12,
    "model": {"name": "efficientnet_lite0"},
    "dream": {"steps": 1, "octaves": 1},
}


def tiny_recipe(folder: Path, name: str = "tiny", extra: str = "", **lines: str) -> Path:
    """A small valid recipe in ``folder`` that renders into ``folder/<name>``; ``lines`` replace
    its top-level keys (as YAML text), ``extra`` adds lines."""
    values = {
        "name": name, "size": "[64, 48]", "frames": "3", "fps": "12", "model": "{name: efficientnet_lite0}",
        "dream": "{steps: 1, octaves: 1}", "output": f"{{dir: {folder / name}, frames: {{bit_depth: 8}}}}",
    }  # fmt: skip
    values.update(lines)
    path = folder / f"{name}.yaml"
    path.write_text("".join(f"{key}: {value}\n" for key, value in values.items()) + extra)
    return path


def decode(video: Path) -> np.ndarray:
    """Every frame as stored (no rate conversion that could hide or make a duplicate), uint8 (n, H, W, 3)."""
    return np.stack(list(ffmpeg.decode_video(Path(video))))


def frame_count(video: Path) -> int:
    return sum(1 for _ in ffmpeg.decode_video(Path(video)))


def pngs(folder: Path) -> dict[str, bytes]:
    """A render's PNG files by name, for bit-for-bit comparisons."""
    return {p.name: p.read_bytes() for p in sorted((Path(folder) / "frames").glob("*.png"))}


def read_pngs(folder: Path) -> list[np.ndarray]:
    return [iio.imread(p) for p in sorted(Path(folder).glob("*.png"))]


def leftovers(folder: Path) -> list[str]:
    """Temporary files (hidden or .part), and the state folder, that a finished render must not leave."""
    return sorted(
        str(p.relative_to(folder))
        for p in Path(folder).rglob("*")
        if p.name != LOCK_FILE and (p.name.startswith(".") or ".part" in p.name or p.name == "state")
    )


class StopAt:
    """An events subscriber and a stop token in one: set once frame ``frame`` is made, as a
    front-end's stop button would be. Pass it as both ``events`` and ``stop``."""

    def __init__(self, frame: int):
        self.frame, self.event = frame, threading.Event()

    def __call__(self, event: object) -> None:
        if isinstance(event, Frames) and event.first <= self.frame < event.first + event.count:
            self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()


def stop_at(monkeypatch, frame: int, signum: int = signal.SIGINT) -> None:
    """Send the CLI process a real signal once frame ``frame`` is made (what Ctrl-C does then)."""
    from zoomdream.frontends import cli

    real = cli.render

    def render(config, *, events=None, **kwargs):
        def send(event):
            if isinstance(event, Frames) and event.first <= frame < event.first + event.count:
                os.kill(os.getpid(), signum)

        return real(config, events=[events, send], **kwargs)

    monkeypatch.setattr(cli, "render", render)
