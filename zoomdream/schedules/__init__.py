"""Values that change over a render: keyframes, formulas and the sound features they may read.

numpy only, below the config: ``keyframes`` (parsing and interpolation), ``expressions`` (safe
formulas), ``sound`` (a track's per-frame features), ``field`` (the recipe's schedule type).
"""
