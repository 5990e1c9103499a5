"""The CUDA code path (reduced precision, channels_last, compile) exercised on the CPU."""

import pytest
import torch

import zoomdream
from zoomdream.dream import models
from zoomdream.engine.device import RenderError, autocast_dtype, pick_device
from zoomdream.engine.renderer import Renderer

from conftest import rendered


def test_precision_choices():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert autocast_dtype("fp16", cuda) is torch.float16
    assert autocast_dtype("bf16", cuda) is torch.bfloat16
    assert autocast_dtype("fp32", cuda) is None
    assert autocast_dtype("fp16", cpu) is None, "the CPU dreams in fp32"


def test_missing_device_is_a_user_error():
    if not torch.cuda.is_available():
        with pytest.raises(RenderError, match="cuda is not available"):
            pick_device("cuda")
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.slow
def test_reduced_precision_dream_stays_close_to_fp32(tiny_config):
    config = zoomdream.load_config(tiny_config, ["color.match=none"])
    full = Renderer(config)
    half = Renderer(config)
    half.dtype = torch.bfloat16  # what autocast_dtype picks on a bf16 GPU, run through CPU autocast
    a, b = rendered(full, 1), rendered(half, 1)
    assert torch.isfinite(b).all() and b.dtype == torch.float32
    assert (a - b).abs().mean() < 0.01


@pytest.mark.slow
def test_channels_last_network_gives_the_same_activations():
    net = models.load_feature_net("efficientnet_lite0", ["_blocks.10"])
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    before = net(x)["_blocks.10"]
    after = net.channels_last()(x)["_blocks.10"]
    assert after.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(before, after, atol=1e-4)


def test_compile_wraps_the_network(tiny_config, monkeypatch):
    seen = []
    monkeypatch.setattr(torch, "compile", lambda net, **kw: seen.append(kw) or net)
    Renderer(zoomdream.load_config(tiny_config, ["compile=true"]))
    assert seen == [{"dynamic": False}]
