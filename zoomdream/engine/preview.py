"""``--preview``: the same recipe at a quarter of the pixels with cheaper dreaming, to see it move
before committing hours to it.

The camera path is the recipe's own (a scaled render moves exactly the same, see
``Config.scale``), so timing, keyframes and formulas can be judged; the look is thinner because
each dreamed frame gets fewer ascent steps and only every ``PREVIEW_EVERY``-th frame is dreamed.
"""

from __future__ import annotations

from ..config import Config

PREVIEW_SCALE = 0.5  # half the width and height: a quarter of the pixels
PREVIEW_EVERY = 8  # dream every 8th frame; the frames between follow the camera and fade the dream in
PREVIEW_OCTAVES = 1
PREVIEW_FOLDER = "preview"


def preview_config(config: Config) -> Config:
    """The preview recipe: written to ``<output>/preview/``, which a new preview always replaces."""
    dream, motion = config.dream, config.motion
    cheaper = {
        "steps": 0 if dream.steps == 0 else 1,  # a motion-only recipe stays motion-only
        "octaves": min(dream.octaves, PREVIEW_OCTAVES) if isinstance(dream.octaves, int) else PREVIEW_OCTAVES,
    }
    output = config.output.model_copy(
        update={"dir": str(config.output_dir() / PREVIEW_FOLDER), "frames": None, "overwrite": True}
    )
    return config.model_copy(
        update={
            "scale": config.scale * PREVIEW_SCALE,
            "dream": dream.model_copy(update=cheaper),
            "motion": motion.model_copy(update={"dream_every": max(motion.dream_every, PREVIEW_EVERY)}),
            "output": output,
        }
    )

