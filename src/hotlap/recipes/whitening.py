"""The airbench family's whitening conv: a frozen 2x2 conv whose filters are the eigenvectors of
the training images' patch covariance, each divided by the square root of its eigenvalue, and
their negatives (so that the GELU after it passes both signs)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["image_patches", "init_whitening", "whitening_filters"]


def image_patches(images: torch.Tensor, size: int) -> torch.Tensor:
    """All size x size patches (stride 1) of NCHW images, as (n_patches, C, size, size) fp32."""
    c = images.shape[1]
    patches = images.unfold(2, size, 1).unfold(3, size, 1)  # N, C, H', W', size, size
    return patches.transpose(1, 3).reshape(-1, c, size, size).float()


def whitening_filters(
    images: torch.Tensor, kernel: int, eps: float, largest_first: bool = True
) -> torch.Tensor:
    """Eigenvectors of the uncentered patch covariance X^T X / n, divided by sqrt(eigenvalue + eps),
    as conv filters (C*k*k, C, k, k): largest eigenvalue first (airbench94), or in eigh's
    ascending order (airbench94_muon)."""
    patches = image_patches(images, kernel)
    n, c, h, w = patches.shape
    flat = patches.view(n, -1)
    covariance = (flat.T @ flat) / n
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance, UPLO="U")
    eigenvalues = eigenvalues.view(-1, 1, 1, 1)
    eigenvectors = eigenvectors.T.reshape(c * h * w, c, h, w)
    if largest_first:
        eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(0)
    return eigenvectors / torch.sqrt(eigenvalues + eps)


def init_whitening(layer: nn.Conv2d, images: torch.Tensor, eps: float, largest_first: bool = True) -> None:
    """Set the whitening conv to the whitening filters and their negatives."""
    filters = whitening_filters(images, layer.weight.shape[-1], eps, largest_first)
    layer.weight.data[:] = torch.cat((filters, -filters)).to(layer.weight.dtype)
