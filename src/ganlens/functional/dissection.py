"""Shared pieces of network dissection: featuremap upsampling, input checks and the layer summary.

GAN Dissection (Bau et al., "GAN Dissection: Visualizing and Understanding Generative Adversarial
Networks", ICLR 2019, arXiv:1811.10597, section 3.1) compares each unit's featuremap r_u, upsampled
to the segmentation resolution S, with the mask S_c of each concept c (eq. 1:
IoU(u, c) = |A_u AND S_c| / |A_u OR S_c| with A_u = [r_u^up > t_u]).

**Upsampling** (paper section 3.1): bilinear with ``align_corners=False``, so the centre of
output pixel ``i`` maps to input coordinate ``(i + 0.5) * h / S - 0.5``; pixel centres are aligned
and masks never shift. Output pixels whose source coordinate falls outside the featuremap take the
edge value (PyTorch clamps the coordinate).

**Segmentations** are ``int64 [N, K, S, S]``: ``K`` label layers (e.g. object, part, material)
whose values index one vocabulary of ``C`` labels, 0 meaning "no label". A pixel belongs to the
mask of every label it carries; a label repeated in several layers of one pixel counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from ganlens.data.vocabulary import Vocabulary
from ganlens.functional.bilinear import bilinear_at, bilinear_taps

__all__ = [
    "LayerSummary",
    "check_featuremaps",
    "check_segmentation",
    "concept_category_index",
    "layer_summary",
    "upsample_featuremaps",
    "upsampled_at",
]


def check_featuremaps(features: Tensor, num_units: int | None = None) -> None:
    """Raise ``ValueError`` unless ``features`` is a floating ``[N, U, H, W]`` tensor.

    Args:
        features: Candidate featuremaps.
        num_units: Expected ``U``, or None for any.

    Raises:
        ValueError: On a wrong type, rank, dtype or unit count (expected vs actual shape).

    Example:
        >>> check_featuremaps(torch.zeros(2, 3, 4, 4), num_units=3)
        >>> check_featuremaps(torch.zeros(2, 3, 4), num_units=3)
        Traceback (most recent call last):
        ...
        ValueError: features must have shape [N, U=3, H, W]; got [2, 3, 4]
    """
    units = "U" if num_units is None else f"U={num_units}"
    if not isinstance(features, Tensor) or features.ndim != 4:
        shape = list(features.shape) if isinstance(features, Tensor) else type(features).__name__
        raise ValueError(f"features must have shape [N, {units}, H, W]; got {shape}")
    if num_units is not None and features.shape[1] != num_units:
        raise ValueError(f"features must have shape [N, {units}, H, W]; got {list(features.shape)}")
    if not features.is_floating_point():
        raise ValueError(f"features must be a floating tensor; got dtype {features.dtype}")


def check_segmentation(
    segmentation: Tensor, num_concepts: int, batch_size: int | None = None
) -> None:
    """Raise ``ValueError`` unless ``segmentation`` is integer ``[N, K, S, S]`` in ``[0, C)``.

    Args:
        segmentation: Candidate label layers.
        num_concepts: ``C``, the number of label values including 0 ("no label").
        batch_size: Expected ``N`` (the featuremaps' batch size), or None for any.

    Raises:
        ValueError: On a wrong rank, dtype, batch size, or a label outside ``[0, C)``.

    Example:
        >>> check_segmentation(torch.zeros(2, 3, 8, 8, dtype=torch.long), num_concepts=5)
        >>> check_segmentation(torch.full((2, 1, 8, 8), 7), num_concepts=5)
        Traceback (most recent call last):
        ...
        ValueError: segmentation labels must lie in [0, 5) (C=5 concepts); got values in [7, 7]
    """
    n = "N" if batch_size is None else f"N={batch_size}"
    if not isinstance(segmentation, Tensor) or segmentation.ndim != 4:
        shape = list(segmentation.shape) if isinstance(segmentation, Tensor) else segmentation
        raise ValueError(f"segmentation must have shape [{n}, K, S, S]; got {shape}")
    if batch_size is not None and segmentation.shape[0] != batch_size:
        raise ValueError(
            f"segmentation must have shape [{n}, K, S, S]; got {list(segmentation.shape)}"
        )
    if segmentation.is_floating_point() or segmentation.dtype == torch.bool:
        raise ValueError(f"segmentation must be an integer tensor; got dtype {segmentation.dtype}")
    if segmentation.numel() > 0:
        low, high = (int(v) for v in torch.aminmax(segmentation))
        if low < 0 or high >= num_concepts:
            raise ValueError(
                f"segmentation labels must lie in [0, {num_concepts}) (C={num_concepts} "
                f"concepts); got values in [{low}, {high}]"
            )


def upsample_featuremaps(features: Tensor, size: int | Sequence[int]) -> Tensor:
    """Upsample featuremaps bilinearly to the segmentation resolution, pixel centres aligned.

    Args:
        features: ``[N, U, h, w]`` floating featuremaps.
        size: Output side ``S`` or ``(S_h, S_w)``.

    Returns:
        ``[N, U, S_h, S_w]`` float32 (``align_corners=False``; the input itself, as float32, when
        the size already matches).

    Raises:
        ValueError: If ``features`` is not ``[N, U, h, w]``.

    Example:
        >>> r = torch.tensor([[[[0.0, 4.0]]]])  # [1, 1, 1, 2]
        >>> upsample_featuremaps(r, (1, 4))  # centres at input x = -0.25, 0.25, 0.75, 1.25
        tensor([[[[0., 1., 3., 4.]]]])
    """
    check_featuremaps(features)
    target = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    features = features.float()
    h, w = features.shape[-2:]
    if (h, w) == target:
        return features
    if max(h, w) <= MATMUL_UPSAMPLING_MAX:  # two small matrix products beat the kernel
        rows = _interpolation_matrix(h, target[0], features.device)  # [S_h, h]
        columns = _interpolation_matrix(w, target[1], features.device)  # [S_w, w]
        return rows @ features @ columns.t()  # [N, U, S_h, S_w]
    return F.interpolate(features, size=target, mode="bilinear", align_corners=False)


def upsampled_at(features: Tensor, positions: Tensor, size: tuple[int, int]) -> Tensor:
    """Upsampled values at chosen pixels of each image: ``[N, U, M]`` from ``[N, M]`` positions.

    Small featuremaps are upsampled whole by :func:`upsample_featuremaps` (two matrix products,
    faster than evaluating even a fraction of the pixels one by one) and the pixels picked; larger
    ones are evaluated only at the pixels (:func:`~ganlens.functional.bilinear.bilinear_at`). The
    two agree to float32 rounding.

    Args:
        features: float32 ``[N, U, h, w]``.
        positions: int64 ``[N, M]`` flat output pixels ``y * S_w + x``.
        size: ``(S_h, S_w)``.

    Example:
        >>> f = torch.randn(2, 3, 4, 4)
        >>> at = upsampled_at(f, torch.tensor([[0, 17], [255, 3]]), (16, 16))
        >>> torch.allclose(at[1, :, 0], upsample_featuremaps(f, 16)[1, :, 15, 15])
        True
    """
    if max(features.shape[-2:]) > MATMUL_UPSAMPLING_MAX:
        return bilinear_at(features, positions // size[1], positions % size[1], size)
    whole = upsample_featuremaps(features, size).flatten(2)  # [N, U, S_h * S_w]
    return whole.gather(2, positions.unsqueeze(1).expand(-1, whole.shape[1], -1))


MATMUL_UPSAMPLING_MAX = 32
"""Largest featuremap side upsampled as two matrix products: ``A_h r A_w^T`` costs ``h + w``
multiply-adds per output pixel against about 8 for the 4-neighbour kernel, but runs as BLAS,
2.5x (32 px) to 5.5x (4 px) faster to 64 px on one CPU thread (benchmarks/BENCHMARKS.md)."""


def _interpolation_matrix(size_in: int, size_out: int, device: torch.device) -> Tensor:
    """``[S, h]``: the two ``align_corners=False`` bilinear weights of each output row.

    The weights of :func:`~ganlens.functional.bilinear.bilinear_taps`, so the products agree
    with the 4-neighbour formula to float32 rounding.
    """
    taps = bilinear_taps(size_in, size_out)
    matrix = torch.zeros(size_out, size_in)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, taps.low), taps.weight_low, accumulate=True)
    matrix.index_put_((rows, taps.high), taps.weight_high, accumulate=True)
    return matrix.to(device)


def concept_category_index(vocabulary: Vocabulary) -> tuple[Tensor, tuple[str, ...]]:
    """Category number of every label value, and the category names.

    Args:
        vocabulary: The label vocabulary (index 0 is "no label").

    Returns:
        ``(concept_categories, names)``: int64 ``[C]`` holding each label's category number
        (``-1`` for label 0), and the ``G`` category names in order of first appearance.

    Example:
        >>> vocab = Vocabulary([("sky", "object"), ("door", "part"), ("tree", "object")])
        >>> concept_category_index(vocab)
        (tensor([-1,  0,  1,  0]), ('object', 'part'))
    """
    names: list[str] = []
    numbers = [-1]
    for concept in vocabulary:
        if concept.category not in names:
            names.append(concept.category)
        numbers.append(names.index(concept.category))
    return torch.tensor(numbers, dtype=torch.long), tuple(names)


@dataclass(frozen=True)
class LayerSummary:
    """Summary of one dissected layer (GAN Dissection, section 3.1 and Fig. 6).

    Attributes:
        num_units: ``U``, units in the layer.
        num_interpretable: Units whose best IoU (and IQR, where required) clears the cut-offs.
        num_concepts: Distinct concepts among the interpretable units.
        category_counts: Interpretable units per category, every category of the vocabulary
            listed (zeros included).
        units_per_concept: The class distribution: interpretable units per concept name, only
            concepts with at least one unit, most units first (ties by vocabulary order).

    Example:
        >>> summary = LayerSummary(4, 2, 1, {"object": 2, "part": 0}, {"sky": 2})
        >>> summary.num_interpretable, summary.units_per_concept
        (2, {'sky': 2})
    """

    num_units: int
    num_interpretable: int
    num_concepts: int
    category_counts: dict[str, int]
    units_per_concept: dict[str, int]


def layer_summary(concept: Tensor, interpretable: Tensor, vocabulary: Vocabulary) -> LayerSummary:
    """Count interpretable units, distinct concepts, units per category and per concept.

    Args:
        concept: int64 ``[U]``, each unit's best concept (vocabulary index).
        interpretable: bool ``[U]``, whether each unit clears the cut-offs.
        vocabulary: Vocabulary that ``concept`` indexes.

    Returns:
        The :class:`LayerSummary`.

    Raises:
        ValueError: If ``concept`` and ``interpretable`` are not both ``[U]``.

    Example:
        >>> vocab = Vocabulary([("sky", "object"), ("door", "part"), ("tree", "object")])
        >>> s = layer_summary(torch.tensor([1, 3, 1, 2]), torch.tensor([True, True, True, False]),
        ...                   vocab)
        >>> s.num_interpretable, s.num_concepts, s.category_counts, s.units_per_concept
        (3, 2, {'object': 3, 'part': 0}, {'sky': 2, 'tree': 1})
    """
    if concept.ndim != 1 or interpretable.shape != concept.shape:
        raise ValueError(
            f"concept and interpretable must both have shape [U]; got {list(concept.shape)} "
            f"and {list(interpretable.shape)}"
        )
    chosen = concept[interpretable.bool()].cpu()
    counts = torch.bincount(chosen, minlength=len(vocabulary)).tolist()
    _, categories = concept_category_index(vocabulary)
    category_counts = dict.fromkeys(categories, 0)
    for index, count in enumerate(counts):
        if index > 0 and count > 0:
            category_counts[vocabulary.category(index)] += count
    ranked = sorted((i for i, n in enumerate(counts) if i > 0 and n > 0), key=lambda i: -counts[i])
    return LayerSummary(
        num_units=int(concept.shape[0]),
        num_interpretable=int(chosen.numel()),
        num_concepts=len(ranked),
        category_counts=category_counts,
        units_per_concept={vocabulary.name(i): counts[i] for i in ranked},
    )
