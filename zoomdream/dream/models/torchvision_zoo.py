"""torchvision classification models: pretrained weights from the torch hub cache, or a user's state dict.

Pretrained weights are downloaded once into the cache where there is network; offline and not
cached is an immediate error, never a hang.
"""

from __future__ import annotations

import os
import pickle
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn
from torchvision.models import get_model, get_model_weights

from .bundled import BUNDLED
from .errors import ModelError
from .feature_net import Backbone
from .weights_file import apply_state, read_state

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_LAYERS = {  # classic DeepDream picks; other models get layers.middle_layer
    "googlenet": ["inception4c"],
    "inception_v3": ["Mixed_6a", "Mixed_6c"],  # = inception_v3_tf's mixed_3, mixed_5
    "vgg16": ["features.22"],  # relu4_3
    "vgg19": ["features.24"],  # relu4_3
}
# No auxiliary classifiers (never dreamed on) and no random init that the weights overwrite anyway.
BUILD_OPTIONS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}
CONNECT_TIMEOUT_S = 3.0


def names() -> list[str]:
    """Every torchvision classification model name."""
    return torchvision.models.list_models(module=torchvision.models)


def architecture(name: str, **options: object) -> nn.Module:
    """The network with random weights."""
    return get_model(name, weights=None, **BUILD_OPTIONS.get(name, {}), **options)


def shapes_only(name: str) -> nn.Module:
    """The network without weights, built on the meta device where the builder allows (no memory, no init)."""
    try:
        with torch.device("meta"):
            return architecture(name)
    except (NotImplementedError, RuntimeError):  # builders that compute with tensors (regnet)
        return architecture(name)


def cached_file(url: str) -> Path:
    """Where torch.hub keeps (or will keep) the file at url; TORCH_HOME moves it."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def online(host: str) -> bool:
    """Whether host answers on 443 within a few seconds."""
    try:
        socket.create_connection((host, 443), timeout=CONNECT_TIMEOUT_S).close()
    except OSError:
        return False
    return True


def ensure_cached(name: str, url: str) -> None:
    """Download the weights into the cache unless they are there; fail fast when offline."""
    path = cached_file(url)
    if path.is_file():
        return
    if not online(urlparse(url).hostname or ""):
        raise ModelError(
            f"model '{name}': weights are not cached and cannot be downloaded (offline); "
            f"use a bundled model ({', '.join(BUNDLED)}) or give model.weights: path/to/{name}.pth"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), progress=True)
    except (OSError, RuntimeError) as error:  # network, disk, hash
        raise ModelError(
            f"model '{name}': downloading {url} failed ({error}); try again or give model.weights: path/to/{name}.pth"
        ) from error


def pretrained(name: str) -> Backbone:
    """The model with torchvision's default weights and their preprocessing."""
    weights = get_model_weights(name).DEFAULT
    ensure_cached(name, weights.url)
    try:
        net = get_model(name, weights=weights)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as error:  # a truncated or corrupt cache file
        raise ModelError(
            f"model '{name}': cached weights '{cached_file(weights.url)}' are unreadable ({error}); "
            "delete the file to download it again"
        ) from error
    preprocess = weights.transforms()
    return Backbone(name, net.eval(), tuple(preprocess.mean), tuple(preprocess.std))


def class_count(name: str, state: dict[str, torch.Tensor]) -> dict[str, int]:
    """num_classes= for get_model when the file's classifier has another size (a fine-tuned model)."""
    linears = [(key, module) for key, module in shapes_only(name).named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        return {}
    head, layer = linears[-1]
    weight = state.get(f"{head}.weight")
    return {"num_classes": weight.shape[0]} if weight is not None and weight.shape[0] != layer.out_features else {}


def from_file(name: str, path: str | os.PathLike) -> Backbone:
    """The model with a user's state dict; such weights expect ImageNet mean/std input."""
    state = read_state(path, name)
    net = architecture(name, **class_count(name, state))
    apply_state(net, state, path, name)
    return Backbone(name, net.eval(), IMAGENET_MEAN, IMAGENET_STD)

