"""A plain PyTorch DeepDream zoom, written the way blog posts write it: the reference zoomdream must beat.

The issue's target: on the same work (same torchvision model and layer, octaves, steps, a 960-pixel
frame) zoomdream is at least 1.6x faster per frame than this. It is deliberately plain but honest:
the per-step arithmetic is zoomdream's own (jitter, gradient divided by its mean magnitude, clamp,
octaves with the dreamed detail carried up), and the model is rebuilt the cheap way torchvision's
pretrained path does it (no random init, weights loaded from a file). What it does not do is
everything zoomdream does for speed: it reloads the model every frame, runs the whole network past
the layer, backpropagates into the parameters too (they require grad by default), and writes JPEGs
that ffmpeg turns into an MP4 only after the last frame.

    .venv/bin/python benchmarks/baseline.py googlenet.pth out/ --frames 5   # writes out/baseline.mp4
"""

from __future__ import annotations

import argparse
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import imageio_ffmpeg
import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


@dataclass(frozen=True)
class Recipe:
    """The work per frame; the defaults are zoomdream's quickstart on googlenet at 960x540."""

    layer: str = "inception4c"
    size: tuple[int, int] = (960, 540)
    octaves: int = 2
    octave_scale: float = 1.4
    steps: int = 3
    step_size: float = 0.015
    jitter: int = 16
    zoom: float = 1.03
    fps: float = 24.0
    seed: int = 7


def load_model(weights: Path, device: torch.device) -> torch.nn.Module:
    """googlenet built and filled from a state dict file, as a script does it at the top of each frame."""
    model = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def layer_loss(model: torch.nn.Module, layer: str, image: torch.Tensor) -> torch.Tensor:
    """Mean squared activation of the layer, caught by a forward hook while the whole network runs."""
    caught: list[torch.Tensor] = []
    hook = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: caught.append(out))
    try:
        model((image - MEAN.to(image.device)) / STD.to(image.device))
    finally:
        hook.remove()
    return caught[0].pow(2).mean()


def ascent_step(model: torch.nn.Module, recipe: Recipe, image: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """One jittered, normalised gradient step; backward() also fills every parameter's .grad."""
    dy, dx = torch.randint(-recipe.jitter, recipe.jitter + 1, (2,), generator=rng).tolist()
    rolled = image.roll((dy, dx), dims=(2, 3)).detach().requires_grad_(True)
    layer_loss(model, recipe.layer, rolled).backward()
    grad = rolled.grad.roll((-dy, -dx), dims=(2, 3))
    return (image + recipe.step_size * grad / (grad.abs().mean() + 1e-12)).clamp(0, 1)


def deepdream(model: torch.nn.Module, recipe: Recipe, image: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Octaves from small to full size, the detail dreamed at each carried up to the next."""
    height, width = image.shape[-2:]
    detail = None
    for k in range(recipe.octaves - 1, -1, -1):
        size = (round(height / recipe.octave_scale**k), round(width / recipe.octave_scale**k))
        base = F.interpolate(image, size=size, mode="bilinear", antialias=True, align_corners=False)
        if detail is not None:
            base = (base + F.interpolate(detail, size=size, mode="bilinear", align_corners=False)).clamp(0, 1)
        dreamed = base
        for _ in range(recipe.steps):
            dreamed = ascent_step(model, recipe, dreamed, rng)
        detail = dreamed - base
    return dreamed


def zoom_in(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Crop the centre 1/factor of the frame and scale it back up to full size."""
    height, width = image.shape[-2:]
    crop_h, crop_w = round(height / factor), round(width / factor)
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    crop = image[..., top : top + crop_h, left : left + crop_w]
    return F.interpolate(crop, size=(height, width), mode="bilinear", align_corners=False)


def save_jpeg(image: torch.Tensor, path: Path) -> None:
    pixels = (image[0].permute(1, 2, 0).detach().cpu().numpy() * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=95)


def make_video(folder: Path, fps: float, video: Path) -> None:
    """ffmpeg over the JPEG sequence, after the fact, with zoomdream's codec settings."""
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-framerate", str(fps),
        "-i", str(folder / "%06d.jpg"), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18", str(video),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)


def render(
    weights: Path, folder: Path, frames: int, recipe: Recipe = Recipe(), device: torch.device = torch.device("cpu")
) -> float:
    """Dream ``frames`` frames into folder/*.jpg and folder/baseline.mp4; returns the wall seconds."""
    start = time.perf_counter()
    rng = torch.Generator().manual_seed(recipe.seed)
    width, height = recipe.size
    image = torch.rand(1, 3, height, width, generator=rng).to(device)
    for t in range(frames):
        model = load_model(weights, device)
        if t > 0:
            image = zoom_in(image, recipe.zoom)
        image = deepdream(model, recipe, image, rng).detach()
        save_jpeg(image, folder / f"{t:06d}.jpg")
    make_video(folder, recipe.fps, folder / "baseline.mp4")
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help="googlenet state dict (.pth)")
    parser.add_argument("folder", type=Path, help="where the JPEGs and baseline.mp4 go")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    seconds = render(args.weights, args.folder, args.frames, device=torch.device(args.device))
    print(f"{args.frames} frames in {seconds:.1f} s: {seconds / args.frames:.2f} s/frame")


if __name__ == "__main__":
    main()
