import torch

from zoomdream.color import channel_stats, match


def test_full_strength_matches_reference_stats():
    g = torch.Generator().manual_seed(1)
    reference = channel_stats(torch.rand(1, 3, 32, 32, generator=g))
    grey = 0.5 + 0.05 * torch.rand(1, 3, 32, 32, generator=g)
    out = match(grey, reference, torch.tensor([1.0]))
    mean, std = channel_stats(out)
    assert torch.allclose(mean, reference[0], atol=0.02)
    assert (std > channel_stats(grey)[1]).all()


def test_zero_strength_is_identity_and_half_is_between():
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    reference = (torch.full((2, 3, 1, 1), 0.2), torch.full((2, 3, 1, 1), 0.1))
    assert torch.equal(match(x, reference, torch.zeros(2)), x)
    half = match(x, reference, torch.tensor([0.5, 0.5]))
    assert (channel_stats(half)[0] < channel_stats(x)[0]).all()


def test_long_feedback_neither_fades_nor_burns():
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1, 3, 32, 32, generator=g)
    reference = channel_stats(x)
    for _ in range(200):
        x = (0.5 + 0.9 * (x - 0.5)).clamp(0, 1)
        x = match(x, reference, torch.tensor([0.5]))
    mean, std = channel_stats(x)
    assert torch.allclose(std, reference[1], rtol=0.15)
    assert torch.allclose(mean, reference[0], atol=0.05)


def test_flat_frame_gains_are_bounded():
    flat = torch.full((1, 3, 8, 8), 0.5)
    out = match(flat, (torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.3)), torch.ones(1))
    assert torch.isfinite(out).all()
