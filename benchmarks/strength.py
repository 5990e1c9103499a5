"""How strong the dream is, and how much it boils: the look workloads, and ``strength_and_boil``
that other scripts and tests call to compare recipes (calmer dreams, another precision).

Strength is always scored in fp32 by the render's own objective, whatever precision rendered
the frames, so renders in fp32 and bf16 are measured with the same yardstick.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any, Sequence

import cv2
import imageio.v3 as iio
import numpy as np
import torch

import zoomdream
from common import CONFIG, MIN_SIDE, Bench, ascent_steps, quickstart, scored, scratch, wxh
from measure import Record, now, rate
from zoomdream.dream.ascent import dream, octave_sizes
from zoomdream.dream.objectives import Objective, View
from zoomdream.engine.renderer import Renderer
from zoomdream.run.folder import RECORD

STRENGTH_SIZE = [320, 180]  # the smallest 16:9 size at which a 4-octave still keeps all 4 octaves
STRENGTH_STILL = (4, 10)  # octaves, steps per octave
STRENGTH_STEPS = (1, 2, 3)  # steps per octave per frame, at the quickstart's 2 octaves
STRENGTH_FRAMES, STRENGTH_LAST = 60, 10  # frames rendered; the last ones are the steady state


def strength_of(net: Any, objective: Objective, frames: torch.Tensor) -> float:
    """The mean objective of frames (n, 3, H, W), scored as the dream scores them (in fp32)."""
    with torch.no_grad():
        return float(objective(View(net(frames), frames)).mean())


def read_frames(folder: Path, indices: range) -> torch.Tensor:
    """Frames of a render's 16-bit PNG sequence as (n, 3, H, W) floats in [0, 1]."""
    pixels = [iio.imread(folder / f"{i:06d}.png", plugin="opencv", flags=cv2.IMREAD_UNCHANGED) for i in indices]
    return torch.from_numpy(np.stack(pixels).astype(np.float32) / 65535).permute(0, 3, 1, 2).contiguous()


def strength_and_boil(overrides: Sequence[str], frames: int = STRENGTH_FRAMES, device: str = "auto") -> Record:
    """The quickstart at 320x180 with ``--set`` style overrides (``["dream.step_size=0.01"]``, which
    may change the size too) rendered for ``frames`` frames (at least 20): how strong its dream is
    once the zoom is in its steady state, and how much the picture boils.

    strength: the mean of the render's own objective (lane 0, last frame's weights) over the last
    STRENGTH_LAST frames; trend: that against the STRENGTH_LAST frames before; boil: the median of
    the look curve written into render.json (what ``zoomdream look`` judges), boil_steady: its
    median over the same last frames; precision: what the render dreamed in (render.json).
    """
    if frames < 2 * STRENGTH_LAST:
        raise ValueError(f"strength_and_boil needs at least {2 * STRENGTH_LAST} frames for its trend, not {frames}")
    folder = Path(tempfile.mkdtemp(dir=scratch()))
    try:
        config = zoomdream.load_config(CONFIG, [f"size={STRENGTH_SIZE}", *overrides], frames=frames, device=device,
                                       output__dir=str(folder), output__frames={"format": "png", "bit_depth": 16})  # fmt: skip
        result = zoomdream.render(config)
        assert result.frames_dir is not None
        record = json.loads((folder / RECORD).read_text())
        boil = next(iter(record["look"].values()))["boil"]
        renderer = Renderer(config)
        objective = scored(renderer, frames - 1)
        last, before = range(frames - STRENGTH_LAST, frames), range(frames - 2 * STRENGTH_LAST, frames - STRENGTH_LAST)
        value = strength_of(renderer.net, objective, read_frames(result.frames_dir, last).to(renderer.device))
        earlier = strength_of(renderer.net, objective, read_frames(result.frames_dir, before).to(renderer.device))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "strength": value, "trend": value / earlier - 1,
        "boil": statistics.median(x for x in boil if x is not None), "boil_steady": statistics.median(boil[i] for i in last),
        "steps_per_frame": ascent_steps(renderer, frames - 1), "precision": record["precision"],
        **rate(result.seconds, result.frames),
    }  # fmt: skip


@functools.cache
def still_strength(b: Bench) -> Record:
    """A classic still-image dream from the zoom's own start noise: STRENGTH_STILL octaves and steps."""
    renderer = Renderer(quickstart(b, size=STRENGTH_SIZE))
    octaves, steps = STRENGTH_STILL
    settings = dataclasses.replace(renderer.planners[0].at(0).settings, octaves=octaves, steps=steps)
    x = renderer.start.to(b.device)
    start = now(b.device)
    with torch.no_grad():
        still = dream(x, renderer.net, scored(renderer), settings, torch.Generator().manual_seed(renderer.config.seed))
    seconds = now(b.device) - start
    total = steps * len(octave_sizes(*still.shape[-2:], octaves, settings.octave_scale, MIN_SIDE))
    value = strength_of(renderer.net, scored(renderer), still)
    return {"strength": value, "steps_per_frame": total, "seconds": seconds}


def strength(b: Bench, steps: int | None) -> Record:
    """How few steps per frame a zoom needs to reach a still image's dream strength (steps None: the still)."""
    still = still_strength(b)
    if steps is None:
        return {"params": f"octaves {STRENGTH_STILL[0]}, steps {STRENGTH_STILL[1]}", **still}
    record = strength_and_boil([f"dream.steps={steps}"], STRENGTH_FRAMES, str(b.device))
    params = f"steps {steps}, mean of frames {STRENGTH_FRAMES - STRENGTH_LAST}-{STRENGTH_FRAMES - 1}, with encoding"
    return {"params": params, **record, "vs_still": record["strength"] / still["strength"]}


def look(b: Bench, precision: str) -> Record:
    """Steady-state strength and boil of the quickstart with the --set overrides at a precision, for
    comparing calmer dreams; a reduced precision's line compares itself with fp32's."""
    params = f"{' '.join((*b.look_overrides, f'precision={precision}'))}, {wxh(STRENGTH_SIZE)}, {STRENGTH_FRAMES} frames"
    record = look_record(b, precision)
    if precision == "fp32":
        return {"params": params, **record}
    full = look_record(b, "fp32")
    return {"params": params, **record, "strength_vs_fp32": record["strength"] / full["strength"] - 1,
            "boil_vs_fp32": record["boil"] / full["boil"] - 1}  # fmt: skip


@functools.cache
def look_record(b: Bench, precision: str) -> Record:
    return strength_and_boil([*b.look_overrides, f"precision={precision}"], STRENGTH_FRAMES, str(b.device))
