"""bf16 on the CPU (issue 13, item 9): ``auto`` takes it where the CPU computes bf16 natively,
``bf16`` forces it, and a bf16 render stopped and resumed gives the same frames bit for bit."""

import json
import threading

import pytest
import torch

from zoomdream.api import Interrupted, render
from zoomdream.engine import device
from zoomdream.engine.device import autocast_dtype, cpu_has_native_bf16
from zoomdream.run.events import Frames

CPU = torch.device("cpu")


def recipe(folder):
    return {
        "name": "bf16", "size": [64, 48], "frames": 6, "fps": 12, "device": "cpu", "precision": "bf16",
        "model": {"name": "efficientnet_lite0"}, "dream": {"steps": 1, "octaves": 1},
        "output": {"dir": str(folder), "video": None, "frames": {"bit_depth": 16}, "checkpoint_every": 2},
    }  # fmt: skip


class StopAfter:
    """Events subscriber and stop token in one: set once frame ``frame`` is made."""

    def __init__(self, frame):
        self.frame, self.event = frame, threading.Event()

    def __call__(self, event):
        if isinstance(event, Frames) and event.first <= self.frame < event.first + event.count:
            self.event.set()

    def is_set(self):
        return self.event.is_set()


def pngs(folder):
    return {p.name: p.read_bytes() for p in sorted((folder / "frames").glob("*.png"))}


@pytest.mark.slow  # three renders end to end
def test_bf16_render_resumes_bit_for_bit(tmp_path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    render(recipe(whole))
    stop = StopAfter(2)
    with pytest.raises(Interrupted) as stopped:
        render(recipe(parts), events=stop, stop=stop)
    assert stopped.value.done == 3 and len(pngs(parts)) == 3
    render(recipe(parts), resume=True)
    assert json.loads((parts / "render.json").read_text())["precision"] == "bfloat16"
    expected = pngs(whole)
    assert len(expected) == 6
    assert pngs(parts) == expected


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_cpus_native_bf16(monkeypatch, native):
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: native)
    assert autocast_dtype("auto", CPU) is (torch.bfloat16 if native else None)
    assert autocast_dtype("bf16", CPU) is torch.bfloat16, "bf16 is forced on any CPU"
    assert autocast_dtype("fp32", CPU) is None
    assert autocast_dtype("fp16", CPU) is None, "fp16 is a GPU format"
    assert autocast_dtype("auto", CPU, cpu_gains=False) is None, "networks that gain nothing stay fp32"
    assert autocast_dtype("bf16", CPU, cpu_gains=False) is torch.bfloat16


def test_auto_takes_bf16_on_the_cpu_only_for_the_networks_that_gain(tiny_config, monkeypatch):
    from zoomdream.config import load_config
    from zoomdream.engine.renderer import Renderer

    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    lite = Renderer(load_config(tiny_config, ["dream.steps=0", "device=cpu"]))
    inception = Renderer(load_config(tiny_config, ["dream.steps=0", "device=cpu", "model.name=inception_v3_tf"]))
    assert (lite.dtype, inception.dtype) == (None, torch.bfloat16)


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    flags = {"amx": "flags : fpu avx2 amx_bf16 amx_tile", "avx512": "flags : avx512f avx512_bf16", "none": "flags : avx2 avx512f"}
    for name, line in flags.items():
        (tmp_path / name).write_text(line + "\n")
    assert cpu_has_native_bf16(str(tmp_path / "amx")) and cpu_has_native_bf16(str(tmp_path / "avx512"))
    assert not cpu_has_native_bf16(str(tmp_path / "none"))
    assert not cpu_has_native_bf16(str(tmp_path / "missing"))
