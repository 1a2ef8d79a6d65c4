"""The scene-world segmenter: a trained compact U-Net that ships inside the package.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) judges generated images through a semantic
segmenter; for the procedural scene world (:mod:`ganlens.data.scene_world`) this one plays that role
offline. It predicts the world's three label layers, each with its own softmax head:

* object: the 8 object concepts (every pixel has one),
* part: "no label" + the 7 part concepts,
* material: "no label" + the 2 material concepts,

so :meth:`SceneSegmenter.segment` returns the ``[N, 3, S, S]`` format of the ground truth. The
resizing rule is that of :mod:`ganlens.segment.protocol` (bilinear, ``align_corners=False``;
labels are the argmax of resized logits). Weights live in ``ganlens/segment/weights/`` as a plain
state dict (``scene_segmenter.pt``) plus a JSON record of the architecture and training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganlens.data.scene_world import LAYER_NAMES, SCENE_VOCABULARY
from ganlens.data.vocabulary import Vocabulary
from ganlens.segment.network import SceneSegmenterNet, split_heads
from ganlens.segment.protocol import check_images, check_resolution, output_size, resize_maps

__all__ = [
    "SCENE_HEADS",
    "SceneSegmenter",
    "default_weights_path",
    "load_scene_segmenter",
    "save_scene_segmenter",
]

SCENE_HEADS: tuple[tuple[int, ...], ...] = (
    tuple(SCENE_VOCABULARY.in_category("object")),
    (0, *SCENE_VOCABULARY.in_category("part")),
    (0, *SCENE_VOCABULARY.in_category("material")),
)
"""Vocabulary label value of each class of each head (object, part, material)."""


def default_weights_path() -> Path:
    """Path of the shipped ``scene_segmenter.pt`` (its metadata sits beside it as ``.json``).

    Example:
        >>> default_weights_path().name
        'scene_segmenter.pt'
    """
    return Path(str(resources.files("ganlens.segment") / "weights" / "scene_segmenter.pt"))


class SceneSegmenter(nn.Module):
    """A :class:`~ganlens.segment.protocol.Segmenter` over per-layer softmax heads.

    Args:
        network: Produces ``[N, sum(len(h) for h in heads), H, W]`` logits from images.
        heads: Vocabulary label value of each class of each head, one tuple per label layer.
        vocabulary: The vocabulary the labels index.
        layer_names: One name per head.

    Raises:
        ValueError: If ``heads`` and ``layer_names`` differ in length or a head names a label
            outside the vocabulary.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> seg = SceneSegmenter(SceneSegmenterNet(widths=(4, 8))).eval()
        >>> images = torch.rand(2, 3, 16, 16) * 2 - 1
        >>> seg.segment(images, resolution=8).shape, seg.layer_names
        (torch.Size([2, 3, 8, 8]), ('object', 'part', 'material'))
        >>> seg.class_probability(images, "door").shape
        torch.Size([2, 16, 16])
    """

    def __init__(
        self,
        network: nn.Module,
        heads: Sequence[Sequence[int]] = SCENE_HEADS,
        vocabulary: Vocabulary = SCENE_VOCABULARY,
        layer_names: Sequence[str] = LAYER_NAMES,
    ) -> None:
        super().__init__()
        if len(heads) != len(layer_names):
            raise ValueError(f"{len(heads)} heads but {len(layer_names)} layer names")
        if any(not 0 <= label < len(vocabulary) for head in heads for label in head):
            raise ValueError(f"heads {heads} name labels outside 0..{len(vocabulary) - 1}")
        self.network = network
        self.heads = tuple(tuple(int(v) for v in head) for head in heads)
        self._vocabulary, self._layer_names = vocabulary, tuple(layer_names)
        self._where = {label: (k, j) for k, h in enumerate(self.heads) for j, label in enumerate(h)}
        for k, head in enumerate(self.heads):
            self.register_buffer(f"head_labels_{k}", torch.tensor(head), persistent=False)

    @property
    def vocabulary(self) -> Vocabulary:
        """The scene vocabulary (0 = no label)."""
        return self._vocabulary

    @property
    def layer_names(self) -> tuple[str, ...]:
        """``("object", "part", "material")`` for the scene world."""
        return self._layer_names

    def logits(self, images: Tensor) -> list[Tensor]:
        """Per-head logits at the images' resolution, computed on the images' device.

        Args:
            images: ``[N, 3, H, W]`` float images in [-1, 1].

        Returns:
            One ``[N, len(heads[k]), H, W]`` tensor per head, differentiable in ``images``.

        Raises:
            ValueError: If ``images`` has the wrong type, shape or range.
        """
        check_images(images)
        parameter = next(self.parameters())
        if parameter.device != images.device:
            self.to(images.device)  # follow the inputs (a callback's segmenter is no submodule)
        x = images.to(parameter.dtype).contiguous(memory_format=torch.channels_last)
        return split_heads(self.network(x), [len(h) for h in self.heads])

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Label layers: the argmax of each head's logits resized to ``S x S``.

        Args:
            images: ``[N, 3, H, W]`` float images in [-1, 1].
            resolution: Output side ``S``; ``None`` keeps ``H x W``.

        Returns:
            ``int64 [N, K, S, S]`` vocabulary labels, one layer per head.

        Raises:
            ValueError: On bad images or resolution.
        """
        size = output_size(images, check_resolution(resolution))
        with torch.no_grad():
            layers = [
                getattr(self, f"head_labels_{k}")[resize_maps(head, size).argmax(dim=1)]
                for k, head in enumerate(self.logits(images))
            ]  # K x [N, S, S]
        return torch.stack(layers, dim=1)

    def locate(self, concept: str | int) -> tuple[int, int]:
        """``(head, class)`` of a concept given by name or label value.

        Raises:
            ValueError: If the segmenter does not predict it (the message lists known concepts).
        """
        label = concept if isinstance(concept, int) else None
        if isinstance(concept, str) and concept in self.vocabulary:
            label = self.vocabulary.index(concept)
        if label is None or label == 0 or label not in self._where:
            known = ", ".join(self.vocabulary.name(v) for v in sorted(self._where) if v != 0)
            raise ValueError(f"unknown concept {concept!r}; this segmenter knows: {known}")
        return self._where[label]

    def class_probability(
        self, images: Tensor, concept: str | int, resolution: int | None = None
    ) -> Tensor:
        """Softmax probability of ``concept`` in its layer, resized to ``S x S``.

        Args:
            images: ``[N, 3, H, W]`` float images in [-1, 1].
            concept: Concept name or label value.
            resolution: Output side ``S``; ``None`` keeps ``H x W``.

        Returns:
            ``float [N, S, S]`` in [0, 1], differentiable with respect to ``images``.

        Raises:
            ValueError: For an unknown concept (known ones are listed) or bad images.
        """
        head, index = self.locate(concept)
        size = output_size(images, check_resolution(resolution))
        probability = self.logits(images)[head].softmax(dim=1)[:, index : index + 1]  # [N,1,H,W]
        return resize_maps(probability, size)[:, 0]


def save_scene_segmenter(
    network: SceneSegmenterNet, path: str | Path, metadata: dict[str, Any] | None = None
) -> Path:
    """Write ``network``'s state dict to ``path`` and its description to ``path`` + ``.json``.

    Args:
        network: The trained net.
        path: Destination ``.pt`` file (folders are created).
        metadata: Extra JSON-serialisable facts (training steps, scores, ...).

    Returns:
        The path of the JSON file.

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "seg.pt"
        >>> save_scene_segmenter(SceneSegmenterNet(widths=(4, 8)), target).name
        'seg.json'
        >>> load_scene_segmenter(weights=target).network.widths
        (4, 8)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    torch.save(state, path)
    record = {
        "architecture": "SceneSegmenterNet",
        "widths": list(network.widths),
        "head_sizes": list(network.head_sizes),
        "heads": [list(h) for h in SCENE_HEADS],
        "layer_names": list(LAYER_NAMES),
        "vocabulary": list(SCENE_VOCABULARY.names),
        **(metadata or {}),
    }
    json_path = path.with_suffix(".json")
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    return json_path


def load_scene_segmenter(
    device: str | torch.device | None = None, weights: str | Path | None = None
) -> SceneSegmenter:
    """Load the shipped scene segmenter (no network access), in eval mode with frozen weights.

    Args:
        device: Where to put it (default CPU); it also follows its inputs' device later.
        weights: A ``.pt`` written by :func:`save_scene_segmenter` (default: the shipped one).

    Returns:
        A :class:`SceneSegmenter` whose parameters do not require gradients (gradients of
        :meth:`~SceneSegmenter.class_probability` flow to the images only).

    Raises:
        FileNotFoundError: If the weights or their JSON record are missing.
        ValueError: If the record's vocabulary differs from the scene vocabulary.

    Example:
        >>> seg = load_scene_segmenter()
        >>> seg.segment(torch.zeros(1, 3, 32, 32), resolution=16).shape
        torch.Size([1, 3, 16, 16])
    """
    path = Path(weights) if weights is not None else default_weights_path()
    json_path = path.with_suffix(".json")
    if not path.is_file() or not json_path.is_file():
        raise FileNotFoundError(f"scene segmenter weights {path} or record {json_path} missing")
    record = json.loads(json_path.read_text())
    if tuple(record["vocabulary"]) != SCENE_VOCABULARY.names:
        raise ValueError(
            f"weights {path} were trained for vocabulary {record['vocabulary']}; "
            f"expected {list(SCENE_VOCABULARY.names)}"
        )
    network = SceneSegmenterNet(widths=record["widths"], head_sizes=record["head_sizes"])
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    network = network.to(memory_format=torch.channels_last)
    segmenter = SceneSegmenter(network, heads=record["heads"], layer_names=record["layer_names"])
    segmenter.requires_grad_(False)
    return segmenter.eval().to(device or "cpu")
