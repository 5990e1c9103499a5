"""Every example config is valid and renders (at a tiny size, so the suite stays fast)."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from helpers import decode
from zoomdream.io.codecs import EXTENSIONS

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


def test_there_are_examples():
    names = {p.stem for p in CONFIGS}
    assert {"quickstart", "default", "photo", "zoom-out", "spiral", "multilayer", "torchvision"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_example_passes_check(cli, path):
    code, out, err = cli("check", path)
    assert code == 0, err


@pytest.fixture(scope="module")
def googlenet_weights(tmp_path_factory):
    """The torchvision example offline: a state dict written here, since tests download nothing."""
    path = tmp_path_factory.mktemp("weights") / "googlenet.pth"
    torch.manual_seed(0)
    torch.save(torchvision.models.get_model("googlenet", weights=None, aux_logits=False, init_weights=True).state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_example_renders_tiny(cli, path, tmp_path, googlenet_weights):
    tiny = ["size=[96, 64]", "frames=2", "duration=null", "dream.steps=1", f"output.dir={tmp_path}"]
    if "googlenet" in path.read_text():
        tiny.append(f"model.weights={googlenet_weights}")
    args = [x for item in tiny for x in ("--set", item)]
    code, _, err = cli("render", path, "--quiet", *args)
    assert code == 0, err
    videos = sorted(p for p in tmp_path.rglob("*") if p.suffix in EXTENSIONS and not p.name.startswith("."))
    assert videos, "the example wrote no video"
    for video in videos:
        frames = decode(video).astype(np.float32) / 255
        assert frames.shape[:3] == (2, 64, 96), f"{video.name}: {frames.shape}"
        assert frames.std() > 0.03, f"{video.name}: the frames are flat"
        assert 0.1 < frames.mean() < 0.9, f"{video.name}: the frames are black or white"
