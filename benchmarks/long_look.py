"""The 1,000-frame look table: a recipe rendered long at 320x180, measured by the look report.

    .venv/bin/python benchmarks/long_look.py --frames 1000 [--code PATH] [--set KEY=VALUE ...]

Renders configs/quickstart.yaml (or --config) with PNG frames into a temporary folder, using the
zoomdream found at --code (default: this checkout; another checkout measures an older version with
today's yardstick), then measures the frames with today's look report and prints one JSON line:
luma range, saturation range relative to frame 100, centroid collapse (last 100 frames vs frames
100-200), median boil, steady-state strength (mean squared mixed_3 activation, frames 50-59) and,
for zoom-outs, the share of axis-aligned gradient energy in the outer 15% band (stripes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio.v3 as iio
import torch
import torch.nn.functional as F

from zoomdream.dream import models
from zoomdream.look.report import look_at

ROOT = Path(__file__).resolve().parent.parent


def render(code: Path, config: Path, folder: Path, frames: int, overrides: list[str]) -> None:
    sets = ["size=[320, 180]", f"frames={frames}", f"output.dir={folder}", "output.frames={bit_depth: 8}", *overrides]
    argv = [sys.executable, "-m", "zoomdream", "render", str(config), "--quiet", "--overwrite"]
    argv += [arg for item in sets for arg in ("--set", item)]
    subprocess.run(argv, check=True, env={**os.environ, "PYTHONPATH": str(code)}, cwd=code)


def stripes(frame: torch.Tensor, band: float = 0.15, sigma: float = 2.0) -> float:
    """Mean over the outer ``band`` of |Jxx - Jyy| / (Jxx + Jyy) of the structure tensor (smoothed over
    ``sigma`` pixels): about 0.3 for a dream's round motifs, toward 1 for streaks along an axis."""
    y = frame.mean(0)[None, None]
    gx = F.pad(y[..., :, 2:] - y[..., :, :-2], (1, 1, 0, 0), mode="replicate") / 2
    gy = F.pad(y[..., 2:, :] - y[..., :-2, :], (0, 0, 1, 1), mode="replicate") / 2
    radius = int(3 * sigma)
    kernel = torch.exp(-torch.arange(-radius, radius + 1.0) ** 2 / (2 * sigma**2))
    kernel = (kernel[:, None] * kernel[None, :] / kernel.sum() ** 2)[None, None]
    jxx, jyy = (F.conv2d(g * g, kernel, padding=radius)[0, 0] for g in (gx, gy))
    ratio = (jxx - jyy).abs() / (jxx + jyy).clamp_min(1e-12)
    h, w = ratio.shape
    inner = torch.zeros_like(ratio, dtype=torch.bool)
    inner[round(h * band) : h - round(h * band), round(w * band) : w - round(w * band)] = True
    return float(ratio[~inner].mean())


def measure(folder: Path, frames: int) -> dict[str, float]:
    look_at(folder, 12)  # writes look.json (and the images) with today's measures
    curves = json.loads((folder / "look.json").read_text())["curves"]
    pngs = sorted((folder / "frames").glob("*.png"))
    read = lambda i: torch.from_numpy(iio.imread(pngs[i])).permute(2, 0, 1).float() / 255  # noqa: E731
    net = models.load_feature_net("inception_v3_tf", ["mixed_3"])
    with torch.no_grad():
        strength = statistics.mean(float(net(read(i)[None])["mixed_3"].pow(2).mean()) for i in range(50, 60))
    luma, sat, cen = curves["luma"], curves["saturation"], curves["centroid"]
    boil = [b for b in curves["boil"][20:] if b is not None]
    reference = sat[min(100, frames - 1)]
    late = cen[-100:]
    early = cen[100:200] if frames >= 300 else cen[len(cen) // 4 : len(cen) // 2]
    return {
        "luma_min": min(luma[20:]), "luma_max": max(luma[20:]),
        "saturation_vs_100_min": min(sat[100:] or sat) / reference, "saturation_vs_100_max": max(sat[100:] or sat) / reference,
        "centroid_late_vs_early": statistics.mean(late) / statistics.mean(early),
        "boil_median": statistics.median(boil), "strength": strength,
        "stripes_last10": statistics.mean(stripes(read(i)) for i in range(len(pngs) - 10, len(pngs))),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "quickstart.yaml")
    parser.add_argument("--code", type=Path, default=ROOT, help="the zoomdream checkout that renders")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--folder", type=Path, help="measure this render folder (config.yaml, frames/) instead of rendering")
    args = parser.parse_args()
    if args.folder:
        figures = measure(args.folder, args.frames)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "long"
            render(args.code.resolve(), args.config.resolve(), folder, args.frames, args.overrides)
            figures = measure(folder, args.frames)
    print(json.dumps({"config": args.config.name, "code": str(args.code), "overrides": args.overrides,
                      **{k: round(v, 4) for k, v in figures.items()}}))  # fmt: skip


if __name__ == "__main__":
    main()
