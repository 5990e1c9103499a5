import json
from pathlib import Path

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
import torch
import yaml

import zoomdream
from zoomdream.dream import models
from zoomdream.engine.renderer import Renderer

from conftest import rendered


@pytest.mark.slow
def test_end_to_end_mp4_frames_and_records(tiny_config, tmp_path):
    result = zoomdream.render(tiny_config)
    out = tmp_path / "out"
    assert result.video == out / "tiny.mp4" and result.frames == 3
    reader = imageio_ffmpeg.read_frames(str(result.video))
    info = next(reader)
    video_frames = list(reader)
    assert len(video_frames) == 3
    assert info["size"] == (64, 48) and info["fps"] == pytest.approx(12)
    pngs = sorted((out / "frames").glob("*.png"))
    assert [p.name for p in pngs] == ["000000.png", "000001.png", "000002.png"]
    first = iio.imread(pngs[0])
    assert first.shape == (48, 64, 3) and first.dtype == np.uint8
    decoded = np.frombuffer(video_frames[0], np.uint8).reshape(48, 64, 3)
    blocks = lambda a: a.astype(float).reshape(6, 8, 8, 8, 3).mean(axis=(1, 3))  # noqa: E731 - chroma is 2x2 subsampled
    assert np.abs(blocks(decoded) - blocks(first)).mean() < 6
    record = json.loads((out / "render.json").read_text())
    assert record["frames"] == 3 and record["model"] == "efficientnet_lite0" and record["seconds_per_frame"] > 0
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["dream"]["objective"], "the default objective is written out"
    assert not list(out.glob(".*part*"))


@pytest.mark.slow
def test_same_seed_renders_identically(tiny_config):
    config = zoomdream.load_config(tiny_config)
    assert torch.equal(rendered(Renderer(config)), rendered(Renderer(config)))


def test_motion_only_preview_loads_no_network(tiny_config, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(models, "load_feature_net", refuse)
    config = zoomdream.load_config(tiny_config, ["dream.steps=0", "motion.zoom=1.1"])
    x0, x1 = rendered(Renderer(config), 2)
    assert not torch.allclose(x0, x1)


@pytest.mark.slow
def test_dreaming_changes_frames_more_than_motion_alone(tiny_config):
    dreamed = Renderer(zoomdream.load_config(tiny_config, ["dream.steps=3", "color.match=none"]))
    still = Renderer(zoomdream.load_config(tiny_config, ["dream.steps=0", "color.match=none"]))
    assert (rendered(dreamed, 1) - rendered(still, 1)).abs().mean() > 0.005


def test_dream_every_k_follows_the_same_camera_path(tiny_config):
    photo = Path(__file__).parent.parent / "configs" / "coffee.jpg"
    path = ["frames=10", "dream.steps=0", "color.match=none", "motion.sharpen=0", "motion.zoom=1.04", "motion.rotate=0:(0), 10:(3)"]
    path.append(f"start.image={photo}")
    smooth = rendered(Renderer(zoomdream.load_config(tiny_config, path)), 10)
    cadenced = rendered(Renderer(zoomdream.load_config(tiny_config, [*path, "motion.dream_every=4"])), 10)
    assert cadenced.shape == smooth.shape == (10, 1, 3, 48, 64)
    assert torch.allclose(cadenced, smooth, atol=1e-6), "without a dream the frames between are the camera path itself"
    steps = (cadenced[1:] - cadenced[:-1]).abs().mean(dim=(1, 2, 3, 4))
    assert steps.max() < 2.5 * steps.median(), "no jump at the dreamed frames"


@pytest.mark.slow
def test_dream_every_k_dreams_k_times_less(tiny_config, monkeypatch):
    calls = []
    original = Renderer._dream
    monkeypatch.setattr(Renderer, "_dream", lambda self, x, plan: calls.append(1) or original(self, x, plan))
    rendered(Renderer(zoomdream.load_config(tiny_config, ["frames=9", "motion.dream_every=4"])))
    assert len(calls) == 3, "frames 0, 4 and 8 are dreamed"


@pytest.mark.slow
def test_variants_render_side_by_side_each_to_its_own_folder(tiny_config, tmp_path):
    lanes = "[{name: calm}, {name: wild, seed: 3, motion: {zoom: 0.97, rotate: 2}, color: {mode: none}}]"
    result = zoomdream.render(tiny_config, seed=1, variants=yaml.safe_load(lanes))
    out = tmp_path / "out"
    assert result.videos == [out / "calm" / "calm.mp4", out / "wild" / "wild.mp4"]
    for video in result.videos:
        reader = imageio_ffmpeg.read_frames(str(video))
        next(reader)
        assert len(list(reader)) == 3
    calm = [iio.imread(p) for p in sorted((out / "calm" / "frames").glob("*.png"))]
    wild = [iio.imread(p) for p in sorted((out / "wild" / "frames").glob("*.png"))]
    assert len(calm) == len(wild) == 3 and not np.array_equal(calm[2], wild[2])
    alone = zoomdream.render(tiny_config, seed=1, output__dir=str(tmp_path / "alone"))
    single = [iio.imread(p) for p in sorted(alone.frames_dir.glob("*.png"))]
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(calm, single)) <= 2, "a lane renders as alone"


@pytest.mark.slow
def test_calm_dreams_boil_less(tiny_config, tmp_path):
    """dream.calm keeps the dream's consistent change and averages out what jitters frame to frame."""

    def boil(calm):
        config = zoomdream.load_config(tiny_config, [f"dream.calm={calm}", "frames=14", "dream.steps=2", "motion.zoom=1.03",
                                                     f"output.dir={tmp_path / str(calm)}"])  # fmt: skip
        zoomdream.render(config)
        curve = json.loads((tmp_path / str(calm) / "render.json").read_text())["look"]["tiny"]["boil"]
        return float(np.median(curve[4:]))

    restless, calm = boil(0), boil(0.8)
    assert calm < 0.8 * restless, (calm, restless)


@pytest.mark.slow
def test_ground_the_camera_reveals_takes_the_whole_dream_change(tiny_config):
    """Momentum carries the dream's change only where a frame showed the ground before; new ground
    at a zoom-out's border has none to carry and takes this frame's change in full, as frame 0 does."""
    renderer = Renderer(zoomdream.load_config(tiny_config, ["motion.zoom=0.8", "dream.calm=0.75"]))
    frames = renderer.frames()
    next(frames), next(frames)
    known = renderer.known[0, 0]
    assert known[:, :4].max() == 0 and known[20:28, 28:36].min() == 1, "the border is new, the middle seen"
    x = torch.full((1, 3, 48, 64), 0.5)
    renderer.velocity = torch.zeros_like(x)
    calmed = renderer._calm(x, x + 0.2, torch.tensor([0.75]))
    assert torch.allclose(calmed[..., :4], x[..., :4] + 0.2), "new ground: the whole change"
    assert torch.allclose(calmed[..., 20:28, 28:36], x[..., 20:28, 28:36] + 0.05), "seen ground: a quarter of it"
