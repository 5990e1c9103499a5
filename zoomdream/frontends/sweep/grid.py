"""Recipes and grid values into cells: named from their values, each validated before anything renders.

A cell carries its recipe's raw mapping, the folder its relative paths are relative to and its
``--set`` values, not a resolved ``Config``: a Ray task resolves the cell on the machine that
renders it, where the recipe's files may be mounted at another place. Resolving a cell is
``zoomdream render RECIPE --set ...`` with ``output.dir`` set to the cell's folder, so a cell
renders exactly what that command renders.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from ...api import check
from ...config import Config, ConfigError, differences, read_config_file
from ...config.loading import parse_set, set_dotted, validate
from ...config.paths import absolute, rebase
from ...errors import ZoomdreamError

MAX_CELLS = 10_000
MAX_NAME = 100
PREVIEW = "preview"  # render(preview=True) writes into <output>/preview/
UNCOMPARED = ("name", "output.dir")  # differ between cells by construction


class SweepError(ZoomdreamError):
    """A sweep that cannot run as asked; one line naming the cell, the key and the fix."""


@dataclass
class Cell:
    """One render of the sweep: a recipe, the values laid over it, and the folder it renders into."""

    name: str
    recipe: str  # the recipe file as given
    raw: dict  # its mapping as read, without ``sweep``
    base: str  # the folder its relative paths are relative to
    sets: tuple[tuple[str, Any], ...]  # the sweep's --set values, then this cell's grid values
    grid: tuple[tuple[str, Any], ...]  # this cell's grid values: what its name says
    folder: str  # the cell's folder, its output.dir
    preview: bool = False
    frames: int = 0

    @property
    def output(self) -> Path:
        """The render folder the cell's frames go to (``<cell>/preview`` for a preview sweep)."""
        return Path(self.folder) / PREVIEW if self.preview else Path(self.folder)

    def config(self, device: str | None = None) -> Config:
        """The cell's recipe, resolved here: paths from ``base``, output.dir the cell's folder, and
        ``device`` (one worker's GPU) where the recipe leaves the device to zoomdream."""
        raw = copy.deepcopy(self.raw)
        for key, value in self.sets:
            set_dotted(raw, key, copy.deepcopy(value))
        located = rebase(validate(raw, self.recipe), absolute(Path(self.base)))
        config = check(located.model_dump(mode="json"), output__dir=self.folder)
        if device and (config.device == "auto" or config.device.startswith("cuda")):
            config = config.model_copy(update={"device": device})
        return config

    def command(self) -> str:
        """The ``zoomdream render`` command that renders this cell (into the cell's folder)."""
        words = ["zoomdream", "render", self.recipe, "--set", f"output.dir={self.folder}"]
        words += [word for key, value in self.sets for word in ("--set", f"{key}={flow(value)}")]
        return shlex.join(words + (["--preview"] if self.preview else []))


@dataclass
class Sweep:
    """The cells, where they go, and the keys whose values differ between them."""

    name: str
    folder: Path
    cells: list[Cell]
    keys: list[str] = field(default_factory=list)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # cell name -> {differing key: value}
    preview: bool = False

    @property
    def record(self) -> Path:
        return self.folder / ("preview.json" if self.preview else "sweep.json")

    @property
    def page(self) -> Path:
        return self.folder / ("preview.html" if self.preview else "index.html")

    @property
    def stop_file(self) -> Path:
        """Set by a stopped sweep; every cell on every node checks it between frames."""
        return self.folder / ".stop"


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``--grid motion.zoom=1.01,1.03`` -> {"motion.zoom": [1.01, 1.03]}; each value read as YAML,
    as ``--set`` reads it, so ``--grid "size=[64, 48],[96, 72]"`` is two sizes."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise SweepError(f"--grid {item!r}: write it as key.path=value1,value2, e.g. --grid motion.zoom=1.01,1.03")
        try:
            values = yaml.safe_load(f"[{text}]")
        except yaml.YAMLError:
            raise SweepError(f"--grid {key}: cannot read {text!r} as YAML values separated by commas; "
                             "quote a value that holds a comma") from None  # fmt: skip
        if key in grid:
            raise SweepError(f"--grid {key}: given twice; give all its values in one --grid")
        grid[key] = values
    try:
        check({"sweep": grid})  # the rules a recipe's sweep: section follows
    except ConfigError as error:
        raise SweepError(f"--grid {str(error).removeprefix('sweep: ')}") from None
    return grid


def flow(value: Any) -> str:
    """A value as one line of YAML, as ``--set`` would take it back."""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()


def safe(text: str) -> str:
    """A folder name: readable, no slashes, spaces or brackets; long ones shortened with a hash."""
    name = re.sub(r"[\[\]{}\"']|(?<=[,:])\s+", "", text)  # [64, 48] -> 64,48
    name = re.sub(r"[^A-Za-z0-9._=,+-]+", "-", name).strip("-.") or "cell"
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 9].rstrip('-.')}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return name


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, dict) and data:
        return {k: v for key, value in data.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: data}


def _differing(configs: list[Config]) -> list[str]:
    flat = [_flat(config.model_dump(mode="json")) for config in configs]
    keys = list(dict.fromkeys(key for one in flat for key in one))
    shown = [json.dumps(one.get(key), sort_keys=True) for one in flat for key in keys]
    width = len(keys)
    return [key for i, key in enumerate(keys)
            if key not in UNCOMPARED and len({shown[j * width + i] for j in range(len(flat))}) > 1]  # fmt: skip


def _recipe(path: str, sets: Sequence[str]) -> tuple[dict, Config]:
    try:
        raw = read_config_file(path)
        return raw, check(path, sets)
    except ConfigError as error:
        raise SweepError(f"{path}: {error}") from None


def plan(
    recipes: Sequence[str | Path],
    grid: dict[str, list[Any]] | None = None,
    sets: Sequence[str] = (),
    *,
    preview: bool = False,
    folder: str | Path | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> Sweep:
    """Every cell of the sweep, each resolved and validated: the first bad cell is a SweepError
    naming it and the key. Nothing is written."""
    grid = dict(grid or {})
    pairs = [parse_set(item) for item in sets]
    both = sorted(set(grid) & {key for key, _ in pairs})
    if both:
        raise SweepError(f"{both[0]}: given to both --set and --grid; give it once")
    loaded = [(str(path), *_recipe(str(path), sets)) for path in recipes]
    names = [config.name for _, _, config in loaded]
    if len(set(names)) < len(names):
        names = [Path(path).stem for path, _, _ in loaded]
    if len(set(names)) < len(names):
        names = [f"{i + 1}-{n}" for i, n in enumerate(names)]
    title = name or (names[0] if len(names) == 1 else "+".join(names) if len("+".join(names)) <= 60 else f"{names[0]}+{len(names) - 1}-more")
    root = Path(folder) if folder else loaded[0][2].output_dir().parent / f"{safe(title)}-sweep"
    root = root.expanduser().resolve()
    cells: list[Cell] = []
    for (path, raw, config), label in zip(loaded, names):
        axes = {key: values for key, values in config.sweep.items() if key not in dict(pairs)}
        axes.update(grid)
        raw = {key: value for key, value in raw.items() if key != "sweep"}
        for combo in itertools.product(*axes.values()):
            values = tuple(zip(axes, combo))
            words = [f"{key}={flow(value)}" for key, value in values]
            cell_name = safe("_".join(([label] if len(loaded) > 1 else []) + words) or label)
            cells.append(Cell(cell_name, path, raw, str(Path(path).resolve().parent), (*pairs, *values), values, "", preview))
            if len(cells) > MAX_CELLS:
                raise SweepError(f"more than {MAX_CELLS} cells; sweep fewer values at a time")
    seen: dict[str, int] = {}
    configs = []
    for cell in cells:
        seen[cell.name] = seen.get(cell.name, 0) + 1
        if seen[cell.name] > 1:
            cell.name = f"{cell.name}-{seen[cell.name]}"
        cell.folder = str(root / cell.name)
        try:
            configs.append(cell.config())
        except ConfigError as error:
            raise SweepError(f"cell {cell.name}: {error}") from None
        cell.frames = configs[-1].frame_count
    axes = list(dict.fromkeys(key for cell in cells for key, _ in cell.grid))
    covered = lambda key: any(key == a or key.startswith(f"{a}.") or a.startswith(f"{key}.") for a in axes)  # noqa: E731
    keys = (["recipe"] if len(loaded) > 1 else []) + axes + [key for key in _differing(configs) if not covered(key)]
    values = {}
    for cell, config in zip(cells, configs):
        flat, given = _flat(config.model_dump(mode="json")), dict(cell.grid)
        values[cell.name] = {key: cell.recipe if key == "recipe" else given[key] if key in given else flat.get(key) for key in keys}
    sweep = Sweep(title, root, cells, keys, values, preview)
    for cell, config in zip(cells, configs):
        _may_render(cell, config, overwrite)
    return sweep


def finished_differently(cell: Cell, config: Config) -> str:
    """Why a finished cell's render is not this cell's recipe ('' when it is)."""
    from ...engine.preview import preview_config
    from ...engine.renderer import with_objective
    from ...run.folder import RenderFolder

    folder = RenderFolder(cell.output)
    if not folder.record.exists():
        return ""
    rendered = preview_config(config) if cell.preview else config  # as api.render fingerprints it
    rendered = rendered if rendered.variants else with_objective(rendered)
    record = folder.read_record()
    saved = record.get("fingerprint")
    changed = differences(saved, rendered.fingerprint()) if isinstance(saved, dict) else []
    if record.get("frames") != rendered.frame_count:
        changed.insert(0, f"frames was {record.get('frames')!r}, now {rendered.frame_count!r}")
    return "; ".join(changed)


def _may_render(cell: Cell, config: Config, overwrite: bool) -> None:
    """A cell another render is writing, or that finished with another recipe, is refused now,
    not when its turn comes."""
    from ...run.folder import RenderFolder

    if RenderFolder(cell.output).state() == "rendering":
        raise SweepError(f"cell {cell.name}: another zoomdream render is writing {cell.output}; wait for it")
    changed = "" if overwrite else finished_differently(cell, config)
    if changed:
        raise SweepError(f"cell {cell.name}: {cell.output} holds a finished render of another recipe ({changed}); "
                         "sweep again with --overwrite to render every cell again", "--overwrite")  # fmt: skip
