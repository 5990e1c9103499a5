"""Every workload of the benchmark by name, not yet run, so --only can pick before anything is measured.

The workloads live by job: micro.py (single ascent steps, the frame loop, batching, dream_every,
tiles), end_to_end.py (zoomdream.render with encoding, the writer's overlap, the plain-PyTorch
baseline), strength.py (strength and boil); common.py holds what they share and measure.py the
clocks and counters.
"""

from __future__ import annotations

import functools
from typing import Any

from common import Bench, quickstart, wxh
from end_to_end import BASELINE_RENDER, OVERLAP, OVERLAP_PARTS, end_to_end, overlap, preview, versus_baseline
from micro import ASCENT_MODELS, ASCENT_SIZES, RENDERS, TILE_MODEL, TILE_SIZE, VARIANT_SEEDS, ascent, dream_every
from micro import render_loop, tiles, variants
from strength import STRENGTH_SIZE, STRENGTH_STEPS, STRENGTH_STILL, look, strength


def named(b: Bench) -> list[tuple[str, Any]]:
    """Every workload by name: ``ascent/<model>:<layers>/<W>x<H>/<fp32|bf16>/threads_<n>`` and so on."""
    p, quick = functools.partial, f"quickstart_{wxh(quickstart(b).size)}"
    found: list[tuple[str, Any]] = [
        (f"ascent/{name}:{'+'.join(layers)}/{wxh(size)}/{label}/threads_{count}", p(ascent, b, name, layers, size, precision, count))
        for name, layers in ASCENT_MODELS.items() for size in ASCENT_SIZES[name]
        for label, precision in b.precisions.items() for count in b.thread_counts
    ]  # fmt: skip
    for kind, run in (("render", lambda overrides: p(render_loop, b, overrides)),
                      ("e2e", lambda overrides: p(end_to_end, b, overrides, b.repeat))):  # fmt: skip
        found += [
            (f"{kind}/{label}/{plabel}", run({**overrides, "precision": precision}))
            for label, overrides in RENDERS.items() for plabel, precision in b.precisions.items()
        ]  # fmt: skip
    found.append(("preview/default", p(preview, b)))
    config = quickstart(b)
    assert config.dream.objective
    lanes, dreamer = len(VARIANT_SEEDS), f"{config.model.name}:{config.dream.objective[0].layer}"
    found += [(f"variants/{quick}/separate_x{lanes}", p(variants, b, False)),
              (f"variants/{quick}/batched_x{lanes}", p(variants, b, True))]  # fmt: skip
    found += [(f"overlap/{wxh(OVERLAP['size'])}/{part}", p(overlap, b, part)) for part in OVERLAP_PARTS]
    found += [(f"dream_every/{quick}/every_{k}", p(dream_every, b, k)) for k in (1, 4)]
    found.append((f"tiles/{TILE_MODEL[0]}:{TILE_MODEL[1][0]}/{wxh(TILE_SIZE)}", p(tiles, b)))
    base = f"baseline/googlenet_{wxh(BASELINE_RENDER['size'])}"
    found += [(f"{base}/{side}", p(versus_baseline, b, side == "plain_pytorch")) for side in ("plain_pytorch", "zoomdream")]
    for steps in (None, *STRENGTH_STEPS):
        name = f"still_{STRENGTH_STILL[0]}x{STRENGTH_STILL[1]}" if steps is None else f"zoom_steps_{steps}"
        found.append((f"strength/{dreamer}/{wxh(STRENGTH_SIZE)}/{name}", p(strength, b, steps)))
    found += [(f"look/quickstart_{wxh(STRENGTH_SIZE)}/{label}", p(look, b, precision)) for label, precision in b.precisions.items()]
    return found
