"""The benchmark's own measures: FLOP counting and the strength/boil figures other scripts use."""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from measure import FlopCount  # noqa: E402
from strength import strength_and_boil  # noqa: E402

SMALL = [
    "size=[64, 64]", "model.name=efficientnet_lite0", "dream.objective=[{layer: _blocks.2}]", "dream.octaves=1",
    "dream.steps=1",
]  # fmt: skip


def test_flop_count_is_the_convolutions_multiply_adds():
    x, w = torch.rand(2, 3, 10, 10), torch.rand(8, 3, 3, 3)
    with FlopCount() as count:
        F.conv2d(x, w)
    assert count.total == 2 * (2 * 8 * 8 * 8) * (3 * 3 * 3)


@pytest.mark.slow  # two 20-frame renders
def test_a_bigger_step_dreams_stronger_and_boils_more():
    quiet = strength_and_boil([*SMALL, "dream.step_size=0.002"], frames=20, device="cpu")
    loud = strength_and_boil([*SMALL, "dream.step_size=0.03"], frames=20, device="cpu")
    assert loud["strength"] > quiet["strength"] > 0
    assert loud["boil"] > quiet["boil"] > 0
    assert loud["boil_steady"] > quiet["boil_steady"] > 0
    assert quiet["steps_per_frame"] == 1
