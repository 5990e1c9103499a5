"""Deforum settings in, a zoomdream recipe out (``zoomdream from-deforum``).

Deforum saves a JSON ``*_settings.txt`` next to every render. Its camera (zoom, rotation, pan,
3D moves), timing, size and colour coherence have zoomdream counterparts; everything that drives
Stable Diffusion (prompts, sampler, img2img strength, ...) does not. The recipe moves the camera
as Deforum moves it at every frame, keeps Deforum's schedule strings where zoomdream reads them
the same way (so ``t`` expressions still animate), lists every setting left behind as a comment,
and is checked before it is written, so nothing is dropped silently and nothing broken is written.

The modules, by job: ``settings`` reads the file, ``keyframes`` reads schedules with Deforum's
semantics and writes them as zoomdream's, ``camera`` converts 2D and 3D moves, ``recipe`` writes
the commented YAML, ``check`` validates it, ``conversion`` puts them together.
"""

from .conversion import convert, convert_file
from .errors import DeforumError
from .recipe import Conversion, write_config
from .settings import read_settings

__all__ = ["Conversion", "DeforumError", "convert", "convert_file", "read_settings", "write_config"]
