"""Muon's orthogonalization against an SVD-based reference, and its update rule."""

from __future__ import annotations

import pytest
import torch

from hotlap.optim import Muon, orthogonalize
from hotlap.optim.muon import NEWTON_SCHULZ

SHAPES = [(16, 16), (24, 96), (96, 24), (64, 576)]  # square, wide, tall, a 64x64x3x3 conv filter


def _reference(matrix: torch.Tensor, steps: int) -> torch.Tensor:
    """The iteration acts on each singular value alone: s <- a s + b s^3 + c s^5 from s / |G|_F,
    with the singular vectors unchanged. So: the SVD, the scalar polynomial, U diag(s) V^T."""
    u, s, vh = torch.linalg.svd(matrix.double(), full_matrices=False)
    s = s / matrix.double().norm()
    a, b, c = NEWTON_SCHULZ
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return (u * s) @ vh


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("steps", [1, 3, 5])
def test_newton_schulz_matches_the_svd_reference(shape, steps):
    generator = torch.Generator().manual_seed(sum(shape) + steps)
    matrix = torch.randn(*shape, generator=generator)
    result = orthogonalize(matrix, steps=steps, dtype=torch.float32)
    expected = _reference(matrix, steps).float()
    assert result.shape == matrix.shape and result.dtype == matrix.dtype
    assert torch.linalg.norm(result - expected) <= 1e-4 * torch.linalg.norm(expected)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_result_has_the_svds_singular_vectors_and_values_near_one(shape):
    """U V^T of the SVD up to singular values in about [0.68, 1.14] (what the tuned quintic gives
    after 5 steps; measured on these matrices), and in bfloat16 with 3 steps (the reference's
    setting) the same singular vectors within bfloat16's precision."""
    generator = torch.Generator().manual_seed(7 * shape[0] + shape[1])
    matrix = torch.randn(*shape, generator=generator)
    u, _, vh = torch.linalg.svd(matrix, full_matrices=False)
    for steps, dtype, tolerance in ((5, torch.float32, 1e-4), (3, torch.bfloat16, 0.05)):
        result = orthogonalize(matrix, steps=steps, dtype=dtype)
        in_basis = u.T @ result @ vh.T  # diagonal when the singular vectors are the SVD's
        off = in_basis - torch.diag(torch.diagonal(in_basis))
        assert off.norm() <= tolerance * in_basis.norm()
    result = orthogonalize(matrix, steps=5, dtype=torch.float32)
    values = torch.linalg.svdvals(result)
    assert values.min() >= 0.6 and values.max() <= 1.2
    polar = u @ vh
    assert (result * polar).sum() / (result.norm() * polar.norm()) > 0.95  # measured: 0.978-0.991


def test_a_muon_step_is_the_orthogonalized_nesterov_momentum_after_renormalizing():
    torch.manual_seed(0)
    weight = torch.nn.Parameter(torch.randn(8, 3, 3, 3))
    optimizer = Muon([weight], lr=0.24, momentum=0.6, nesterov=True, dtype=torch.float32)
    grads = [torch.randn_like(weight) for _ in range(2)]
    expected = weight.detach().clone()
    buffer = torch.zeros_like(expected)
    for grad in grads:
        weight.grad = grad.clone()
        optimizer.step()
        buffer = 0.6 * buffer + grad
        direction = grad + 0.6 * buffer
        expected = expected * (8**0.5 / expected.norm())
        expected = expected - 0.24 * orthogonalize(direction.reshape(8, -1), 3, torch.float32).view_as(
            expected
        )
    torch.testing.assert_close(weight.detach(), expected, rtol=1e-5, atol=1e-6)


def test_muon_trains_and_refuses_what_is_not_a_matrix():
    torch.manual_seed(0)
    target = torch.linalg.qr(torch.randn(6, 6))[0]
    weight = torch.nn.Parameter(torch.randn(6, 6) * 0.1)
    optimizer = Muon([weight], lr=0.05, momentum=0.9, renormalize=False, dtype=torch.float32)
    inputs = torch.randn(256, 6)
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = ((inputs @ weight.T - inputs @ target.T) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    with pytest.raises(ValueError, match="matrices and filters"):
        Muon([torch.nn.Parameter(torch.zeros(4))])
    with pytest.raises(ValueError, match="momentum"):
        Muon([weight], momentum=1.0)
