"""State dict files (a user's or a package's): read safely, loaded with errors that name the file."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from .errors import ModelError

SAVE_HINT = "save it with torch.save(model.state_dict(), path)"


def _first_line(error: BaseException) -> str:
    """The gist of an error: its first sentence, one line."""
    return next(iter(str(error).strip().splitlines()), type(error).__name__).split(". ")[0]


def read_state(path: str | os.PathLike, model: str) -> dict[str, Tensor]:
    """Tensors by name from a torch.save'd state dict; weights_only, so a file cannot run code."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model '{model}': weights file '{path}' not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a file boundary: pickle, zip and torch errors all mean "unreadable"
        raise ModelError(
            f"model '{model}': cannot read weights file '{path}' ({_first_line(error)}); {SAVE_HINT}"
        ) from error
    if not isinstance(state, dict) or not all(isinstance(value, Tensor) for value in state.values()):
        raise ModelError(f"model '{model}': weights file '{path}' is not a state dict; {SAVE_HINT}")
    return state


def apply_state(net: nn.Module, state: dict[str, Tensor], path: str | os.PathLike, model: str) -> None:
    """Copy the tensors in: every tensor of the net must be there, shaped alike; extra ones (aux heads) are ignored."""
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches
        detail = next((line.strip() for line in str(error).splitlines() if "size mismatch" in line), _first_line(error))
        raise ModelError(f"model '{model}': weights file '{path}' does not fit the model ({detail})") from error
    if result.missing_keys:
        raise ModelError(
            f"model '{model}': weights file '{path}' lacks {len(result.missing_keys)} of the model's tensors "
            f"(e.g. '{result.missing_keys[0]}'); is it a {model} state dict?"
        )


def load_state(net: nn.Module, path: str | os.PathLike, model: str) -> None:
    """read_state + apply_state."""
    apply_state(net, read_state(path, model), path, model)
