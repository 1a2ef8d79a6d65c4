"""ADE20K segmenter adapter: a Hugging Face SegFormer behind the :class:`Segmenter` protocol.

GAN Dissection (Bau et al., ICLR 2019, arXiv:1811.10597) segments LSUN samples with a network
trained on ADE20K-style data; this adapter lets any ``SegformerForSemanticSegmentation`` (Xie et
al., "SegFormer", NeurIPS 2021, arXiv:2105.15203), e.g. an ADE20K checkpoint of 150 classes, play
that role. ``transformers`` is imported only by :meth:`SegformerSegmenter.from_pretrained`
(install the ``ade20k`` extra), so ganlens imports without it.

**Vocabulary.** Model class ``i`` becomes label ``i + 1`` (0 = no label, which SegFormer never
predicts), named by the first synonym of ``config.id2label[i]`` (``"road, route"`` -> ``"road"``;
a repeated name gets ``" (i)"`` appended).

**Categories.** ADE20K has no part or material annotations. Following the thing/stuff distinction
(Adelson 2001; Caesar et al., COCO-Stuff, CVPR 2018), classes that name an amorphous surface,
terrain, body of water or the sky -- the list :data:`ADE20K_STUFF` -- are filed under
``"material"``, every other class under ``"object"``. The list is the ADE20K panoptic "stuff"
split restricted to those kinds (the panoptic split also calls some countable things, such as
house or poster, stuff; they stay objects here). Pass ``stuff_names=()`` to make everything an
object.

**Preprocessing.** Images in [-1, 1] are mapped to [0, 1], resized to ``input_size`` (bilinear,
``align_corners=False``, antialiased when shrinking, as the SegFormer image processor does) and
normalised with ``image_mean``/``image_std``. Logits (1/4 of the input size) are resized to the
requested resolution by the rule of :mod:`ganlens.segment.protocol`. There is one label layer.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlens.data.vocabulary import Vocabulary
from ganlens.segment.protocol import check_images, check_resolution, output_size, resize_maps

__all__ = ["ADE20K_STUFF", "SegformerSegmenter", "ade20k_vocabulary"]

ADE20K_STUFF: frozenset[str] = frozenset(
    {
        # sky and enclosing surfaces
        *("sky", "wall", "floor", "ceiling"),
        # paved and bare ground
        *("road", "sidewalk", "path", "runway", "dirt track", "earth", "land", "sand", "rock"),
        # vegetated ground and terrain
        *("grass", "field", "mountain", "hill"),
        # water
        *("water", "sea", "river", "lake"),
    }
)
"""First-synonym names of the ADE20K classes filed under ``"material"`` (stuff)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def ade20k_vocabulary(
    id2label: Mapping[int, str],
    stuff_names: Collection[str] = ADE20K_STUFF,
    stuff_category: str = "material",
) -> Vocabulary:
    """Vocabulary of a SegFormer's classes: model class ``i`` is label ``i + 1``.

    Args:
        id2label: Class index -> name (``config.id2label``); indices must be ``0 .. C - 1``.
        stuff_names: First-synonym names filed under ``stuff_category``.
        stuff_category: Category of stuff classes (``"material"`` or ``"object"``).

    Returns:
        A :class:`Vocabulary` of ``C + 1`` entries.

    Raises:
        ValueError: If the indices are not ``0 .. C - 1``.

    Example:
        >>> vocab = ade20k_vocabulary({0: "wall", 1: "building, edifice", 2: "sky"})
        >>> vocab.names, vocab.category("building"), vocab.category("sky")
        (('-', 'wall', 'building', 'sky'), 'object', 'material')
    """
    labels = {int(k): str(v) for k, v in id2label.items()}
    if sorted(labels) != list(range(len(labels))):
        raise ValueError(f"id2label keys must be 0 .. {len(labels) - 1}; got {sorted(labels)}")
    concepts: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i in range(len(labels)):
        name = labels[i].split(",")[0].strip().lower() or f"class {i}"
        category = stuff_category if name in stuff_names else "object"
        if name in seen:
            name = f"{name} ({i})"
        seen.add(name)
        concepts.append((name, category))
    return Vocabulary(concepts)


def _check_folder(folder: Path) -> None:
    """Refuse a folder that holds no ``save_pretrained`` SegFormer, naming what it holds.

    Example:
        >>> import tempfile
        >>> _check_folder(Path(tempfile.mkdtemp()))
        Traceback (most recent call last):
        ...
        ValueError: SegFormer folder ... has no config.json: ...
    """
    import json

    config = folder / "config.json"
    if not config.is_file():
        raise ValueError(f"SegFormer folder {str(folder)!r} has no config.json: save the model "
                         "there with save_pretrained")  # fmt: skip
    try:
        kind = json.loads(config.read_text()).get("model_type")
    except (ValueError, AttributeError) as error:
        raise ValueError(f"{config} is not a model configuration: {error}") from None
    if kind != "segformer":
        raise ValueError(f"{str(folder)!r} holds a {kind!r} model, not a SegFormer")
    weights = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
    if not any((folder / name).is_file() for name in weights):
        raise ValueError(
            f"SegFormer folder {str(folder)!r} has no weights ({' or '.join(weights[:2])})"
        )


class SegformerSegmenter(nn.Module):
    """A SegFormer semantic-segmentation model as a :class:`~ganlens.segment.Segmenter`.

    Args:
        model: A ``SegformerForSemanticSegmentation`` (anything whose call
            ``model(pixel_values=x)`` returns an object with ``.logits [N, C, h, w]`` and that has
            ``config.id2label``).
        stuff_names: Class names filed under ``stuff_category`` (default :data:`ADE20K_STUFF`).
        stuff_category: ``"material"`` (default) or ``"object"``.
        input_size: Side the images are resized to before the model (512 for the ADE20K
            checkpoints); ``None`` feeds them at their own size.
        image_mean: Per-channel mean of the model's input normalisation.
        image_std: Per-channel standard deviation of the model's input normalisation.

    Example:
        >>> from types import SimpleNamespace
        >>> class Toy(nn.Module):  # stands in for SegformerForSemanticSegmentation
        ...     config = SimpleNamespace(id2label={0: "sky", 1: "tree"})
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.conv = nn.Conv2d(3, 2, 4, stride=4)
        ...     def forward(self, pixel_values):
        ...         return SimpleNamespace(logits=self.conv(pixel_values))
        >>> _ = torch.manual_seed(0)
        >>> seg = SegformerSegmenter(Toy(), input_size=32)
        >>> seg.segment(torch.zeros(2, 3, 16, 16), resolution=8).shape
        torch.Size([2, 1, 8, 8])
        >>> seg.class_probability(torch.zeros(1, 3, 16, 16), "tree").shape, seg.layer_names
        (torch.Size([1, 16, 16]), ('ade20k',))
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        model: nn.Module,
        stuff_names: Collection[str] = ADE20K_STUFF,
        stuff_category: str = "material",
        input_size: int | None = 512,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        super().__init__()
        self.model = model
        config: Any = model.config
        self._vocabulary = ade20k_vocabulary(config.id2label, stuff_names, stuff_category)
        self.input_size = check_resolution(input_size)
        self.register_buffer("mean", torch.tensor(image_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(image_std).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | Path, device: str | torch.device | None = None, **kwargs: Any
    ) -> SegformerSegmenter:
        """Load a SegFormer from a local folder or a hub id (as ``transformers`` resolves it).

        Reads ``image_mean``, ``image_std`` and the input size from the folder's image-processor
        configuration when there is one. Returns the segmenter in eval mode with frozen weights.

        Args:
            name_or_path: Folder written by ``save_pretrained`` or a hub id such as
                ``"nvidia/segformer-b0-finetuned-ade-512-512"`` (downloaded by ``transformers``
                only if not cached; ganlens itself never downloads).
            device: Where to put the model (default CPU).
            kwargs: Overrides for the constructor (``stuff_names``, ``input_size``, ...).

        Raises:
            ImportError: If ``transformers`` is not installed.
            ValueError: If the folder holds no model, another model type, or a SegFormer
                without a trained decode head (a backbone or a classifier), whose segmentation
                would be random.
        """
        try:
            transformers = importlib.import_module("transformers")
        except ImportError as error:
            raise ImportError(
                "the ADE20K adapter needs transformers: pip install 'ganlens[ade20k]'"
            ) from error
        folder = Path(name_or_path)
        if folder.is_dir():
            _check_folder(folder)
        verbosity, bar = (
            transformers.logging.get_verbosity(),
            transformers.logging.is_progress_bar_enabled(),
        )
        transformers.logging.set_verbosity_error()  # its load report: the check below says more
        transformers.logging.disable_progress_bar()  # a bar for a load of a second
        try:
            model, info = transformers.SegformerForSemanticSegmentation.from_pretrained(
                str(name_or_path), output_loading_info=True
            )
        finally:
            transformers.logging.set_verbosity(verbosity)
            if bar:
                transformers.logging.enable_progress_bar()
        untrained = sorted(k for k in info["missing_keys"] if k.startswith("decode_head."))
        if untrained:
            raise ValueError(
                f"SegFormer {str(name_or_path)!r} has no trained decode head ({len(untrained)} "
                f"decode_head weights missing, e.g. {untrained[0]}): it holds a backbone or a "
                "classifier; save a SegformerForSemanticSegmentation fine-tuned for segmentation"
            )
        try:
            processor = transformers.SegformerImageProcessor.from_pretrained(str(name_or_path))
            kwargs.setdefault("image_mean", tuple(processor.image_mean))
            kwargs.setdefault("image_std", tuple(processor.image_std))
            size: Any = getattr(processor, "size", None)  # a dict, or a SizeDict (transformers 5)
            side = [size.get(k) for k in ("height", "width")] if hasattr(size, "get") else [None]
            if side[0] is not None and side[0] == side[-1]:
                kwargs.setdefault("input_size", int(side[0]))
        except (OSError, ValueError):
            pass  # no preprocessor_config.json: keep the ImageNet defaults
        segmenter = cls(model, **kwargs).eval()
        segmenter.requires_grad_(False)
        return segmenter.to(device or "cpu")

    @property
    def vocabulary(self) -> Vocabulary:
        """The model's classes as a vocabulary (class ``i`` is label ``i + 1``)."""
        return self._vocabulary

    @property
    def layer_names(self) -> tuple[str, ...]:
        """One layer, ``("ade20k",)``."""
        return ("ade20k",)

    def logits(self, images: Tensor) -> Tensor:
        """Model logits of ``[N, 3, H, W]`` images in [-1, 1], on the images' device.

        Returns:
            ``[N, C, h, w]`` logits (``h = input_size / 4`` for SegFormer), differentiable in
            ``images``.

        Raises:
            ValueError: If the images have the wrong type, shape or range.
        """
        check_images(images)
        if self.mean.device != images.device:
            self.to(images.device)  # follow the inputs
        x = (images + 1.0) / 2.0  # [N, 3, H, W] in [0, 1]
        if self.input_size is not None and tuple(x.shape[-2:]) != (self.input_size,) * 2:
            shrink = min(x.shape[-2:]) > self.input_size
            size = (self.input_size, self.input_size)
            x = F.interpolate(x, size, mode="bilinear", align_corners=False, antialias=shrink)
        x = (x - self.mean) / self.std
        logits: Tensor = self.model(pixel_values=x).logits  # [N, C, h, w]
        return logits

    def segment(self, images: Tensor, resolution: int | None = None) -> Tensor:
        """Labels ``int64 [N, 1, S, S]`` (``S = resolution``, default the images' ``H x W``).

        The argmax of the logits resized bilinearly (``align_corners=False``), plus one.
        """
        size = output_size(images, check_resolution(resolution))
        with torch.no_grad():
            labels = resize_maps(self.logits(images), size).argmax(dim=1) + 1  # [N, S, S]
        return labels[:, None]

    def class_probability(
        self, images: Tensor, concept: str | int, resolution: int | None = None
    ) -> Tensor:
        """Softmax probability ``float [N, S, S]`` of ``concept``, differentiable in ``images``.

        Raises:
            ValueError: For a concept the model does not know (the message lists the known ones).
        """
        if isinstance(concept, str) and concept in self.vocabulary:
            label = self.vocabulary.index(concept)
        elif isinstance(concept, int) and 1 <= concept < len(self.vocabulary):
            label = concept
        else:
            known = ", ".join(self.vocabulary.names[1:])
            raise ValueError(f"unknown concept {concept!r}; this segmenter knows: {known}")
        size = output_size(images, check_resolution(resolution))
        probability = self.logits(images).softmax(dim=1)[:, label - 1 : label]  # [N, 1, h, w]
        return resize_maps(probability, size)[:, 0]
