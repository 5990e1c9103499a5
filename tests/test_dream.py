import torch

from zoomdream.dream.ascent import Objective, Settings, View, dream, gradient, octave_sizes, tile_grid, to_tiles
from zoomdream.dream.objectives.activation import activation
from zoomdream.dream.objectives.diversity import diversity


class TinyNet(torch.nn.Module):
    """Two conv layers, enough to have something to dream on."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.a = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.b = torch.nn.Conv2d(8, 8, 3, padding=1, stride=2)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
                p.requires_grad_(False)

    def forward(self, x):
        a = torch.relu(self.a(x))
        return {"a": a, "b": torch.relu(self.b(a))}


def frames(b=2, h=64, w=64):
    return torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(1))


def per_lane(objective, net, x):
    """Each lane's score, the frame untiled."""
    acts = net(x)
    return torch.stack([objective(View({k: v[i : i + 1] for k, v in acts.items()}, x[i : i + 1], i)).sum() for i in range(len(x))])


def test_dream_raises_the_objective_on_every_lane():
    net, x = TinyNet(), frames()
    objective = activation("b") + 0.5 * activation("a", [1, 2])
    before = per_lane(objective, net, x)
    out = dream(x, net, objective, Settings(steps=5, octaves=2, jitter=4), torch.Generator().manual_seed(0))
    after = per_lane(objective, net, out)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert (after > before * 1.2).all()


def test_channels_restrict_the_objective():
    net, x = TinyNet(), frames(1)
    acts = net(x)
    assert torch.allclose(activation("a", [3])(View(acts, x)), acts["a"][:, 3].pow(2).mean())


def test_an_objective_may_read_the_input_frame():
    brightness = Objective(lambda view: view.image.mean((1, 2, 3)), [])
    x = frames() * 0.5
    out = dream(x, TinyNet(), brightness, Settings(steps=3, octaves=1), torch.Generator())
    assert (out.mean((1, 2, 3)) > x.mean((1, 2, 3)) + 0.02).all()


def test_zero_steps_is_a_no_op():
    x = frames()
    assert dream(x, TinyNet(), activation("a"), Settings(steps=0), torch.Generator()) is x


def test_same_seed_same_dream():
    net, x = TinyNet(), frames()
    run = lambda: dream(x, net, activation("b"), Settings(steps=2), torch.Generator().manual_seed(5))  # noqa: E731
    assert torch.equal(run(), run())


def test_step_is_normalised_per_lane():
    net = TinyNet()
    x = frames()
    x[1] = x[1] * 0.1
    out = dream(x, net, activation("b"), Settings(steps=1, octaves=1, jitter=0, step_size=0.01), torch.Generator())
    change = (out - x).abs().mean(dim=(1, 2, 3))
    assert torch.allclose(change, torch.full_like(change, 0.01), rtol=0.2)


def test_octaves_go_small_to_full_and_skip_tiny_ones():
    assert octave_sizes(100, 200, 3, 2.0, 20) == [(25, 50), (50, 100), (100, 200)]
    assert octave_sizes(64, 64, 4, 2.0, 40) == [(64, 64)]


def test_tiles_cover_the_frame_in_one_batch():
    assert tile_grid(1080, 1920, 512) == (3, 4, 360, 480)
    x = frames(2, 100, 130)
    tiles = to_tiles(x, 64)
    assert tiles.shape == (2 * 2 * 3, 3, 50, 44)
    assert torch.equal(tiles[0], x[0, :, :50, :44]) and torch.equal(tiles[6], x[1, :, :50, :44])


def test_tiled_gradient_matches_untiled_away_from_seams():
    net, x = TinyNet(), frames(1, 128, 128)
    objective = activation("a")
    whole = gradient(x, net, objective, tile=512)
    tiled = gradient(x, net, objective, tile=64)
    assert torch.allclose(whole[..., 8:56, 8:56], tiled[..., 8:56, 8:56] / 4, rtol=1e-4, atol=1e-9)


def test_small_budget_gives_the_same_gradient_in_several_batches():
    net, x = TinyNet(), frames(2, 128, 96)
    objectives = [activation("a"), activation("b", [0, 1])]
    whole = gradient(x, net, objectives, tile=64)
    pieces = gradient(x, net, objectives, tile=64, budget=64 * 48 * 3)
    assert torch.allclose(whole, pieces, rtol=1e-4, atol=1e-8)


def test_each_lane_gets_its_own_objective():
    net, x = TinyNet(), frames(2)
    mixed = gradient(x, net, [activation("a"), activation("b")], tile=512)
    assert torch.allclose(mixed[0], gradient(x[:1], net, activation("a"), tile=512)[0], rtol=1e-4, atol=1e-8)
    assert torch.allclose(mixed[1], gradient(x[1:], net, activation("b"), tile=512)[0], rtol=1e-4, atol=1e-8)


def test_lanes_compared_across_batches_get_the_gradient_of_one_batch():
    net, x = TinyNet(), frames(3, 128, 96)
    whole = gradient(x, net, diversity("b"), tile=64)
    pieces = gradient(x, net, diversity("b"), tile=64, budget=64 * 48 * 5)  # 5 of the 12 tiles per batch: lanes split
    assert whole.abs().mean() > 0
    assert torch.allclose(whole, pieces, rtol=1e-4, atol=1e-8)
