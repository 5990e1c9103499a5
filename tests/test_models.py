"""zoomdream.models: bundled models offline, truncation, gradients, layer listing, torchvision weights and errors."""

from __future__ import annotations

import shutil
import socket

import pytest
import torch
from torchvision.models import get_model, get_model_weights

import zoomdream.dream.models as zm
from zoomdream.dream.models import efficientnet_lite, tf_inception, torchvision_zoo


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def inception() -> zm.FeatureNet:
    return zm.load_feature_net("inception_v3_tf", ["mixed_1", "mixed_3"])


@pytest.fixture(scope="module")
def lite0() -> zm.FeatureNet:
    return zm.load_feature_net("efficientnet_lite0", ["_blocks.5"])


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every connection attempt fails at once and is recorded."""
    attempts: list[object] = []

    def refuse(address: object, *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture
def empty_cache(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch"


def total_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# bundled models


def test_inception_shapes_and_values(inception: zm.FeatureNet) -> None:
    out = inception(torch.rand(2, 3, 96, 96))
    assert inception.layers == ("mixed_1", "mixed_3")
    assert out["mixed_1"].shape == (2, 288, 9, 9)
    assert out["mixed_3"].shape == (2, 768, 4, 4)
    assert all(torch.isfinite(a).all() for a in out.values())


def test_inception_port_matches_torchscript_original(inception: zm.FeatureNet) -> None:
    x = torch.rand(1, 3, 80, 100)
    stages = dict(tf_inception.load_scripted().net.layers.named_children())
    y = x * 255 / 128 - 1  # what the TF graph was fed: (pixel - 128) / 128
    with torch.no_grad():
        for name, stage in stages.items():
            y = stage(y)
            if name == "mixed_3":
                break
        ours = inception(x)["mixed_3"]
    torch.testing.assert_close(ours, y, rtol=1e-4, atol=1e-4)


def test_inception_input_range_is_tf_minus_one_to_one(inception: zm.FeatureNet) -> None:
    black_white = torch.tensor([0.0, 1.0]).view(1, 1, 2, 1)
    scaled = (black_white - inception.mean) / inception.std
    torch.testing.assert_close(scaled[0, :, :, 0], torch.tensor([[-1.0, 127 / 128]] * 3))


def test_inception_is_cut_after_deepest_layer(inception: zm.FeatureNet) -> None:
    stages = dict(inception.body.named_children())
    assert "mixed_3" in stages and "mixed_4" not in stages and "mixed_10" not in stages
    full = zm.load_feature_net("inception_v3_tf", ["mixed_10"])
    assert total_parameters(inception) < total_parameters(full) / 4


def test_lite0_shapes_any_size(lite0: zm.FeatureNet) -> None:
    assert lite0(torch.rand(1, 3, 64, 64))["_blocks.5"].shape == (1, 80, 4, 4)
    assert lite0(torch.rand(1, 3, 67, 90))["_blocks.5"].shape == (1, 80, 5, 6)  # TF "same" padding: ceil(size / 16)


def test_lite0_is_cut_after_deepest_layer(lite0: zm.FeatureNet) -> None:
    kept = {name for name, _ in lite0.body.named_modules()}
    assert "_blocks.5" in kept and "_blocks.6" not in kept and "_conv_head" not in kept and "_fc" not in kept
    assert all(not key.startswith(("_blocks.6.", "_fc.")) for key in lite0.state_dict())


def test_lite0_batch_lanes_are_independent(lite0: zm.FeatureNet) -> None:
    x = torch.rand(3, 3, 64, 80)
    with torch.no_grad():
        batched = lite0(x)["_blocks.5"]
        single = lite0(x[1:2])["_blocks.5"]
    torch.testing.assert_close(batched[1:2], single, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("net_name", ["inception", "lite0"])
def test_gradient_reaches_input_and_weights_are_frozen(net_name: str, request: pytest.FixtureRequest) -> None:
    net: zm.FeatureNet = request.getfixturevalue(net_name)
    assert not net.training
    assert all(not p.requires_grad for p in net.parameters())
    x = torch.rand(1, 3, 96, 96, requires_grad=True)
    sum(a.square().mean() for a in net(x).values()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.slow
def test_bundled_default_layers_exist_and_load() -> None:
    assert zm.BUNDLED == ("inception_v3_tf", "efficientnet_lite0", "efficientnet_lite2")
    for name in zm.BUNDLED:
        listed = dict(zm.list_layers(name))
        assert all(layer in listed for layer in zm.default_layers(name))
    net = zm.load_feature_net("efficientnet_lite2", zm.default_layers("efficientnet_lite2"), device=torch.device("cpu"))
    assert all(a.dim() == 4 for a in net(torch.rand(1, 3, 64, 64)).values())


def test_list_layers_names_channels_in_forward_order() -> None:
    layers = zm.list_layers("inception_v3_tf")
    names = [name for name, _ in layers]
    channels = dict(layers)
    assert channels["mixed_3"] == 768 and channels["mixed_10"] == 2048 and channels["mixed_4.tower_1.conv_2"] == 128
    assert names.index("conv") < names.index("mixed_3") < names.index("mixed_5") < names.index("mixed_10")
    assert "pool2" not in channels  # the FID head is not a layer
    lite = dict(zm.list_layers("efficientnet_lite0"))
    assert lite["_blocks.10"] == 112 and lite["_blocks.15"] == 320


# errors


def test_unknown_model_suggests_close_name() -> None:
    suggestion = r"unknown model 'inceptionv3_tf'.*bundled models.*did you mean 'inception_v3_tf'"
    with pytest.raises(zm.ModelError, match=suggestion):
        zm.load_feature_net("inceptionv3_tf", ["mixed_3"])
    with pytest.raises(zm.ModelError, match="unknown model 'foo'"):
        zm.list_layers("foo")


def test_unknown_layer_suggests_close_name() -> None:
    message = (
        "model 'inception_v3_tf' has no layer 'mixed_33'; did you mean 'mixed_3'? "
        "(zoomdream layers inception_v3_tf lists them)"
    )
    with pytest.raises(zm.ModelError) as caught:
        zm.load_feature_net("inception_v3_tf", ["mixed_33"])
    assert str(caught.value) == message


def test_no_layers_is_an_error() -> None:
    with pytest.raises(zm.ModelError, match="no layers given"):
        zm.load_feature_net("efficientnet_lite0", [])


def test_inception_tf_takes_no_weights_file(tmp_path) -> None:
    with pytest.raises(zm.ModelError, match="ships its own weights"):
        zm.load_feature_net("inception_v3_tf", ["mixed_3"], weights=str(tmp_path / "x.pth"))


def test_lite_weights_file_of_other_architecture_is_rejected() -> None:
    lite2_file = efficientnet_lite.bundled_file("efficientnet_lite2")
    with pytest.raises(zm.ModelError, match=r"efficientnet-lite2-.*\.pth' does not fit the model \(size mismatch"):
        zm.load_feature_net("efficientnet_lite0", ["_blocks.1"], weights=str(lite2_file))


# torchvision models


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("weights") / "resnet18.pth"
    torch.save(get_model("resnet18", weights=None).state_dict(), path)
    return str(path)


@pytest.mark.slow
def test_torchvision_user_weights(resnet18_file: str, no_network: list[object]) -> None:
    net = zm.load_feature_net("resnet18", ["layer2"], weights=resnet18_file)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        out = net(x)["layer2"]
    assert out.shape == (2, 128, 8, 8)
    assert not any(key.startswith(("layer3.", "layer4.", "fc.")) for key in net.state_dict())
    reference = get_model("resnet18", weights=None).eval()
    reference.load_state_dict(torch.load(resnet18_file, weights_only=True))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        r = reference
        expected = r.layer2(r.layer1(r.maxpool(r.relu(r.bn1(r.conv1((x - mean) / std))))))
    torch.testing.assert_close(out, expected)
    assert no_network == []


@pytest.mark.slow
def test_torchvision_user_weights_with_other_class_count(tmp_path) -> None:
    path = tmp_path / "resnet18_10.pth"
    torch.save(get_model("resnet18", weights=None, num_classes=10).state_dict(), path)
    net = zm.load_feature_net("resnet18", ["fc"], weights=str(path))
    assert net(torch.rand(1, 3, 64, 64))["fc"].shape == (1, 10)


def test_missing_weights_file(tmp_path) -> None:
    with pytest.raises(zm.ModelError, match=r"model 'resnet18': weights file '.*nope\.pth' not found"):
        zm.load_feature_net("resnet18", ["layer2"], weights=str(tmp_path / "nope.pth"))


def test_unreadable_weights_file(tmp_path) -> None:
    path = tmp_path / "bad.pth"
    path.write_bytes(b"not a checkpoint" * 8)
    hint = r"cannot read weights file '.*bad\.pth'.*torch\.save\(model\.state_dict\(\), path\)"
    with pytest.raises(zm.ModelError, match=hint):
        zm.load_feature_net("resnet18", ["layer2"], weights=str(path))


def test_weights_file_of_other_model(tmp_path) -> None:
    path = tmp_path / "other.pth"
    torch.save({"something.weight": torch.zeros(3)}, path)
    with pytest.raises(zm.ModelError, match=r"other\.pth' lacks .* tensors .*is it a resnet18 state dict"):
        zm.load_feature_net("resnet18", ["layer2"], weights=str(path))


def test_offline_and_not_cached_fails_fast(empty_cache, no_network: list[object]) -> None:
    with pytest.raises(zm.ModelError) as caught:
        zm.load_feature_net("vgg16", ["features.22"])
    assert str(caught.value) == (
        "model 'vgg16': weights are not cached and cannot be downloaded (offline); use a bundled model "
        "(inception_v3_tf, efficientnet_lite0, efficientnet_lite2) or give model.weights: path/to/vgg16.pth"
    )
    assert len(no_network) == 1


def test_cached_torchvision_weights_load_offline(empty_cache, no_network: list[object], resnet18_file: str) -> None:
    weights = get_model_weights("resnet18").DEFAULT
    cached = torchvision_zoo.cached_file(weights.url)
    assert cached.parent == empty_cache / "hub" / "checkpoints"
    cached.parent.mkdir(parents=True)
    shutil.copyfile(resnet18_file, cached)
    net = zm.load_feature_net("resnet18", ["layer1"])
    assert net(torch.rand(1, 3, 64, 64))["layer1"].shape == (1, 64, 16, 16)
    torch.testing.assert_close(net.std.flatten(), torch.tensor(weights.transforms().std))
    assert no_network == []


def test_torchvision_layers_and_defaults_need_no_weights(empty_cache, no_network: list[object]) -> None:
    layers = dict(zm.list_layers("resnet50"))
    assert layers["layer3"] == 1024 and layers["layer1.0.conv1"] == 64
    assert zm.default_layers("resnet50") == ["layer3"]
    assert zm.default_layers("googlenet") == ["inception4c"]
    assert zm.default_layers("mobilenet_v2") == ["features.13"]  # chosen from the layer list: last at stride 16
    assert no_network == []


# ---- sizes the network cannot see --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["inception_v3_tf", "efficientnet_lite0"])
def test_bundled_models_know_their_smallest_input(name):
    """The constants the bundled models carry are what trying sizes finds, so they cannot drift."""
    from zoomdream.dream.models.feature_net import smallest_side

    net = zm.load_feature_net(name, zm.default_layers(name))
    assert net.min_side == smallest_side(net, torch.device("cpu"))


@pytest.mark.slow
def test_inputs_below_the_smallest_side_are_padded_and_still_get_a_gradient():
    net = zm.load_feature_net("inception_v3_tf", ["mixed_3"])
    assert net.min_side > 20
    x = torch.rand(2, 3, 20, 33, requires_grad=True)
    act = net(x)["mixed_3"]
    act.pow(2).mean().backward()
    assert x.grad.shape == x.shape and bool((x.grad.abs().sum((1, 2, 3)) > 0).all())


@pytest.mark.slow
@pytest.mark.parametrize("size, octaves, scale", [([64, 36], 2, 1.4), ([32, 32], 8, 4.0), ([33, 97], 3, 1.1)])
def test_every_size_check_accepts_renders(cli, tmp_path, size, octaves, scale):
    """The smallest sizes check accepts, with the most and the largest octaves, render with InceptionV3."""
    args = ["--set", f"size={size}", "--set", "frames=2", "--set", f"dream.octaves={octaves}", "--set",
            f"dream.octave_scale={scale}", "--set", "dream.steps=1", "--set", f"output.dir={tmp_path}"]  # fmt: skip
    assert cli("check", "configs/quickstart.yaml", *args)[0] == 0
    code, _, err = cli("render", "configs/quickstart.yaml", "--quiet", *args)
    assert code == 0, err
    assert (tmp_path / "quickstart.mp4").exists()
