import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pathlib import Path

import zoomdream
from helpers import decode
from zoomdream.engine.preview import preview_config

PHOTO = Path(__file__).parent.parent / "configs" / "coffee.jpg"


def frames_of(video):
    frames = decode(video)
    return {"size": (frames.shape[2], frames.shape[1])}, [f.astype(np.float32) / 255 for f in frames]


@pytest.mark.slow
def test_preview_is_cheaper_and_lands_beside_the_render(tiny_config, tmp_path, cli):
    config = zoomdream.load_config(tiny_config, ["size=[128, 96]", "dream.steps=3", "dream.octaves=3"])
    preview = preview_config(config)
    assert preview.frame_size == (64, 48) and preview.size == config.size, "a quarter of the pixels, the same camera"
    assert (preview.dream.steps, preview.dream.octaves, preview.motion.dream_every) == (1, 1, 8)
    assert preview.output_dir() == tmp_path / "out" / "preview" and preview.output.frames is None
    code, out, _ = cli("render", tiny_config, "--preview", "--set", "size=[128, 96]", "--set", "frames=6")
    assert code == 0 and str(tmp_path / "out" / "preview" / "tiny.mp4") in out, "it says where the preview is"
    info, frames = frames_of(tmp_path / "out" / "preview" / "tiny.mp4")
    assert info["size"] == (64, 48) and len(frames) == 6
    assert not (tmp_path / "out" / "tiny.mp4").exists(), "the real render's place is untouched"
    assert cli("render", tiny_config, "--preview", "--set", "size=[128, 96]", "--quiet")[0] == 0, "a new preview replaces the last"


@pytest.mark.slow
def test_preview_follows_the_same_camera_path_in_time(tiny_config, tmp_path):
    motion = ["size=[128, 96]", "frames=8", "dream.steps=0", f"start.image={PHOTO}", "color.mode=none",
              "motion.zoom=1.03", "motion.pan_x=3", "motion.rotate=1", "motion.sharpen=0"]  # fmt: skip
    whole = zoomdream.render(zoomdream.load_config(tiny_config, motion))
    quick = zoomdream.render(zoomdream.load_config(tiny_config, motion), preview=True)
    _, big = frames_of(whole.video)
    _, small = frames_of(quick.video)
    shrink = lambda f: F.interpolate(torch.from_numpy(f).permute(2, 0, 1)[None], size=(48, 64), mode="area")[0].permute(1, 2, 0).numpy()  # noqa: E731
    same = np.abs(shrink(big[7]) - small[7])[8:-8, 8:-8].mean()
    behind = np.abs(shrink(big[4]) - small[7])[8:-8, 8:-8].mean()
    assert same < 0.03 and same < behind / 2, "frame 7 of the preview shows what frame 7 of the render shows"
