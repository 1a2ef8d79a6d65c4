"""Corruptions that make real renders look like GAN samples, for training and for benchmarks.

GAN samples differ from clean renders in predictable ways: soft edges (blur), high-frequency noise
and upsampling checkerboards (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill
2016), colour and brightness drift, slight geometric wobble, and resampling / compression
artefacts. Every function here takes ``[N, 3, H, W]`` images in [-1, 1] on any device, returns
images in [-1, 1] on the same device, and accepts either one parameter for the whole batch or a
``[N]`` tensor of per-image parameters. :func:`random_affine` also warps the label layers, with
nearest sampling at the same pixel centres, so labels stay consistent with the geometry.

:class:`GanLikeAugmentation` draws a random mix of them per image (used by training);
the benchmark applies each one alone at a fixed strength.

(Over 300 lines: each corruption is a short function, and the pipeline that draws them sits
beside them.)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlens.segment.jpeg import jpeg_compress

__all__ = [
    "GanLikeAugmentation",
    "add_checkerboard",
    "add_noise",
    "gaussian_blur",
    "jpeg_compress",
    "random_affine",
    "resample",
    "shift_colour",
]


def _per_image(value: float | Tensor, images: Tensor) -> Tensor:
    """A parameter as a ``[N]`` tensor on the images' device and dtype."""
    out = torch.as_tensor(value, dtype=images.dtype, device=images.device)
    return out.expand(images.shape[0]) if out.ndim == 0 else out


def gaussian_blur(images: Tensor, sigma: float | Tensor) -> Tensor:
    """Separable Gaussian blur with per-image standard deviation ``sigma`` (pixels).

    Args:
        images: ``[N, C, H, W]`` images.
        sigma: Standard deviation in pixels, a float or ``[N]``; 0 leaves an image unchanged.

    Returns:
        ``[N, C, H, W]`` blurred images (reflect padding at the borders).

    Example:
        >>> x = torch.zeros(1, 3, 9, 9)
        >>> x[..., 4, 4] = 1.0
        >>> y = gaussian_blur(x, 1.0)
        >>> round(y.sum().item(), 4), bool(y[0, 0, 4, 4] < 1), torch.equal(gaussian_blur(x, 0.0), x)
        (3.0, True, True)
    """
    n, c, h, w = images.shape
    sigmas = _per_image(sigma, images).clamp_min(0)  # [N]
    radius = max(1, math.ceil(3.0 * float(sigmas.max())))
    radius = min(radius, h - 1, w - 1)
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    safe = sigmas.clamp_min(1e-6)[:, None]  # [N, 1]
    kernel = torch.exp(-0.5 * (offsets[None] / safe) ** 2)  # [N, K]
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    kernel = kernel.repeat_interleave(c, dim=0)  # [N * C, K]
    x = images.reshape(1, n * c, h, w)
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel[:, None, None, :], groups=n * c)  # [1, N * C, H + 2r, W]
    x = F.conv2d(x, kernel[:, None, :, None], groups=n * c)  # [1, N * C, H, W]
    return x.reshape(n, c, h, w)


def add_noise(
    images: Tensor, std: float | Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """Add i.i.d. Gaussian noise of per-image standard deviation ``std`` and clamp to [-1, 1].

    Args:
        images: ``[N, C, H, W]`` images in [-1, 1].
        std: Noise standard deviation, a float or ``[N]``.
        generator: Optional random generator (on the images' device).

    Returns:
        ``[N, C, H, W]`` noisy images in [-1, 1].

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = add_noise(torch.zeros(2, 3, 32, 32), torch.tensor([0.0, 0.1]), generator=g)
        >>> round(y[0].std().item(), 3), round(y[1].std().item(), 2)
        (0.0, 0.1)
    """
    noise = torch.randn(
        images.shape, generator=generator, device=images.device, dtype=images.dtype
    )  # [N, C, H, W]
    return (images + _per_image(std, images)[:, None, None, None] * noise).clamp(-1.0, 1.0)


def add_checkerboard(images: Tensor, amplitude: float | Tensor) -> Tensor:
    """Add a 2-pixel checkerboard of per-image ``amplitude``, like strided-upsampling artefacts.

    Args:
        images: ``[N, C, H, W]`` images in [-1, 1].
        amplitude: Added to even and subtracted from odd pixels, a float or ``[N]``.

    Returns:
        ``[N, C, H, W]`` images in [-1, 1].

    Example:
        >>> add_checkerboard(torch.zeros(1, 3, 2, 2), 0.1)[0, 0]
        tensor([[ 0.1000, -0.1000],
                [-0.1000,  0.1000]])
    """
    h, w = images.shape[-2:]
    rows = torch.arange(h, device=images.device)[:, None]
    cols = torch.arange(w, device=images.device)[None, :]
    pattern = 1.0 - 2.0 * ((rows + cols) % 2).to(images.dtype)  # [H, W]
    return (images + _per_image(amplitude, images)[:, None, None, None] * pattern).clamp(-1.0, 1.0)


def shift_colour(
    images: Tensor,
    brightness: float | Tensor = 0.0,
    contrast: float | Tensor = 1.0,
    saturation: float | Tensor = 1.0,
    gain: Tensor | None = None,
) -> Tensor:
    """Shift brightness, contrast, saturation and per-channel gain, then clamp to [-1, 1].

    Args:
        images: ``[N, 3, H, W]`` images in [-1, 1].
        brightness: Added to every value (float or ``[N]``).
        contrast: Scales deviations from each image's mean grey (float or ``[N]``).
        saturation: Scales deviations from each pixel's grey value (float or ``[N]``).
        gain: Per-channel multipliers on the [0, 1] intensities, ``[3]`` or ``[N, 3]``.

    Returns:
        ``[N, 3, H, W]`` images in [-1, 1].

    Example:
        >>> x = torch.zeros(1, 3, 2, 2)
        >>> round(shift_colour(x, brightness=0.2).mean().item(), 6)
        0.2
    """
    x = (images + 1.0) / 2.0  # [N, 3, H, W] in [0, 1]
    if gain is not None:
        gains = gain.to(images) if gain.ndim == 2 else gain.to(images).expand(images.shape[0], 3)
        x = x * gains[:, :, None, None]
    grey = x.mean(dim=1, keepdim=True)  # [N, 1, H, W]
    x = grey + _per_image(saturation, images)[:, None, None, None] * (x - grey)
    mean = grey.mean(dim=(2, 3), keepdim=True)  # [N, 1, 1, 1]
    x = mean + _per_image(contrast, images)[:, None, None, None] * (x - mean)
    x = x * 2.0 - 1.0 + _per_image(brightness, images)[:, None, None, None]
    return x.clamp(-1.0, 1.0)


def resample(images: Tensor, factor: float) -> Tensor:
    """Downsample by ``factor`` and upsample back: a low-resolution generator's softening.

    Both steps are bilinear with centres aligned; the downsampling is not antialiased, so fine
    texture aliases as it does in strided generators.

    Args:
        images: ``[N, C, H, W]`` images in [-1, 1].
        factor: Size of the intermediate image relative to the input, in (0, 1].

    Returns:
        ``[N, C, H, W]`` images in [-1, 1] (``images`` itself when nothing changes).

    Example:
        >>> x = torch.rand(1, 3, 8, 8) * 2 - 1
        >>> resample(x, 0.5).shape, torch.equal(resample(x, 1.0), x)
        (torch.Size([1, 3, 8, 8]), True)
    """
    h, w = images.shape[-2:]
    small = (max(1, round(h * factor)), max(1, round(w * factor)))
    if small == (h, w):
        return images
    x = F.interpolate(images, size=small, mode="bilinear", align_corners=False, antialias=False)
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False).clamp(-1.0, 1.0)


def random_affine(
    images: Tensor,
    labels: Tensor,
    max_degrees: float = 4.0,
    max_scale: float = 0.08,
    max_shift: float = 2.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Warp images and label layers by one small random similarity transform per image.

    Images are resampled bilinearly and labels by nearest neighbour, both with
    ``align_corners=False`` and edge replication, so a label stays on the pixel its colour went to.

    Args:
        images: ``[N, 3, H, W]`` images.
        labels: ``[N, K, H, W]`` integer label layers.
        max_degrees: Largest rotation, degrees.
        max_scale: Largest relative zoom in or out.
        max_shift: Largest translation in pixels along each axis.
        generator: Optional random generator (on the images' device).

    Returns:
        ``(images, labels)`` warped, with the input shapes and dtypes.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> labels = torch.zeros(2, 3, 16, 16, dtype=torch.long)
        >>> labels[:, 0, 4:12, 4:12] = 5
        >>> images = labels[:, :1].float().expand(-1, 3, -1, -1) / 5
        >>> warped, moved = random_affine(images, labels, generator=g)
        >>> moved.dtype, bool(((warped[:, 0] > 0.5) == (moved[:, 0] == 5)).float().mean() > 0.97)
        (torch.int64, True)
    """
    n, _, h, w = images.shape

    def uniform(scale: float) -> Tensor:
        u = torch.rand(n, generator=generator, device=images.device, dtype=images.dtype)
        return (2.0 * u - 1.0) * scale

    angle = uniform(math.radians(max_degrees))
    zoom = 1.0 + uniform(max_scale)
    shift_x, shift_y = uniform(2.0 * max_shift / w), uniform(2.0 * max_shift / h)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos, -sin, shift_x], 1), torch.stack([sin, cos, shift_y], 1)], 1
    )  # [N, 2, 3]: output coordinates -> input coordinates
    grid = F.affine_grid(theta, [n, 1, h, w], align_corners=False)  # [N, H, W, 2]
    warped = F.grid_sample(images, grid, "bilinear", "border", align_corners=False)
    moved = F.grid_sample(labels.to(images.dtype), grid, "nearest", "border", align_corners=False)
    return warped, moved.round().to(labels.dtype)  # [N, 3, H, W], [N, K, H, W]


class GanLikeAugmentation:
    """A random mix of the corruptions above, each applied to a random subset of the batch.

    Geometry first (affine, which also warps the labels), then resampling, blur, colour, noise,
    checkerboard and JPEG compression. Strengths are drawn per image, uniformly up to the
    given maxima.

    Args:
        probability: Chance that an image receives each corruption.
        max_blur: Largest blur sigma in pixels.
        max_noise: Largest noise standard deviation (in [-1, 1] units).
        max_checkerboard: Largest checkerboard amplitude.
        jpeg_quality: Lowest JPEG quality (the highest is 95).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> images, labels = torch.rand(4, 3, 16, 16) * 2 - 1, torch.zeros(4, 3, 16, 16).long()
        >>> out, out_labels = GanLikeAugmentation(probability=1.0)(images, labels, generator=g)
        >>> out.shape, out_labels.shape, bool(out.abs().max() <= 1), torch.equal(out, images)
        (torch.Size([4, 3, 16, 16]), torch.Size([4, 3, 16, 16]), True, False)
    """

    def __init__(
        self,
        probability: float = 0.3,
        max_blur: float = 1.2,
        max_noise: float = 0.12,
        max_checkerboard: float = 0.06,
        jpeg_quality: int = 20,
    ) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1]; got {probability}")
        self.probability, self.max_blur, self.max_noise = probability, max_blur, max_noise
        self.max_checkerboard, self.jpeg_quality = max_checkerboard, jpeg_quality

    def __call__(
        self, images: Tensor, labels: Tensor, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor]:
        """Corrupt ``images [N, 3, H, W]`` and warp ``labels [N, K, H, W]`` consistently."""
        n, device = images.shape[0], images.device

        def rand(*shape: int) -> Tensor:
            return torch.rand(shape, generator=generator, device=device, dtype=images.dtype)

        def chosen() -> Tensor:
            return rand(n) < self.probability  # [N] bool

        pick = chosen()
        if pick.any():
            warped, moved = random_affine(images[pick], labels[pick], generator=generator)
            images, labels = images.clone(), labels.clone()
            images[pick], labels[pick] = warped, moved
        pick = chosen()
        if pick.any():
            images = images.clone()
            images[pick] = resample(images[pick], 0.5 + 0.4 * float(rand(1)))
        images = torch.where(
            chosen()[:, None, None, None], gaussian_blur(images, self.max_blur * rand(n)), images
        )
        colour = chosen()[:, None, None, None]
        shifted = shift_colour(
            images,
            0.3 * rand(n) - 0.15,
            0.75 + 0.5 * rand(n),
            0.6 + 0.8 * rand(n),
            0.85 + 0.3 * rand(n, 3),
        )
        images = torch.where(colour, shifted, images)
        noisy = add_noise(images, self.max_noise * rand(n), generator=generator)
        images = torch.where(chosen()[:, None, None, None], noisy, images)
        checker = add_checkerboard(images, self.max_checkerboard * rand(n))
        images = torch.where(chosen()[:, None, None, None], checker, images)
        pick = chosen()
        if pick.any():
            quality = self.jpeg_quality + (95 - self.jpeg_quality) * rand(int(pick.sum()))
            images = images.clone()
            images[pick] = jpeg_compress(images[pick], quality)
        return images, labels
