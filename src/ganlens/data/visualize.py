"""Pictures of labelled scenes: image rows and label-overlay rows, with a legend by category.

Labels are coloured by the package's one concept palette, :func:`ganlens.images.concept_colors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont
from torchvision.utils import draw_segmentation_masks

from ganlens.data.vocabulary import CATEGORIES, Vocabulary
from ganlens.images import concept_colors

_BACKGROUND, _INK, _GAP = (250, 250, 247), (40, 40, 40), 4


class LabelledImage(Protocol):
    """Anything with a ``uint8 [3, H, W]`` image and ``[K, H, W]`` integer labels."""

    image: torch.Tensor
    labels: torch.Tensor


def overlay_labels(image: torch.Tensor, layer: torch.Tensor, alpha: float = 0.6) -> torch.Tensor:
    """Blend one label layer over an image, one colour per label (0 stays uncoloured).

    Args:
        image: ``uint8 [3, H, W]``.
        layer: Integer labels ``[H, W]``.
        alpha: Opacity of the label colours.

    Returns:
        ``uint8 [3, H, W]``.

    Example:
        >>> image = torch.zeros(3, 4, 4, dtype=torch.uint8)
        >>> layer = torch.tensor([[0, 0, 1, 1]] * 4)
        >>> out = overlay_labels(image, layer, alpha=1.0)
        >>> out[:, 0, 0].tolist(), out[:, 0, 3].tolist() == list(concept_colors(2)[1])
        ([0, 0, 0], True)
    """
    if image.shape[-2:] != layer.shape:
        raise ValueError(f"layer shape {tuple(layer.shape)} must match image {tuple(image.shape)}")
    present = [int(v) for v in torch.unique(layer).tolist() if v > 0]
    if not present:
        return image
    palette = concept_colors(max(present) + 1)
    masks = torch.stack([layer == v for v in present])  # [C, H, W]
    blended: torch.Tensor = draw_segmentation_masks(
        image, masks, alpha=alpha, colors=[palette[v] for v in present]
    )
    return blended


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def scene_grid(
    scenes: Sequence[LabelledImage],
    vocabulary: Vocabulary,
    layer_names: Sequence[str],
    tile: int = 160,
) -> Image.Image:
    """One column per scene: the image, then one overlay row per label layer, then a legend.

    Args:
        scenes: Labelled images (e.g. :class:`~ganlens.data.scene_world.RenderedScene`).
        vocabulary: Names and categories of the label values.
        layer_names: A row title per label layer.
        tile: Displayed side of each image in pixels (nearest-neighbour upscaling keeps labels
            crisp).

    Returns:
        A PIL RGB image.

    Example:
        >>> from ganlens.data.scene_world import SceneWorld
        >>> world = SceneWorld(32)
        >>> picture = scene_grid([world[0], world[1]], world.vocabulary, world.layer_names, tile=64)
        >>> picture.mode, picture.width > 2 * 64
        ('RGB', True)
    """
    rows = ["image", *layer_names]
    margin, header = 96, 34
    palette = concept_colors(len(vocabulary))
    legend = _legend(vocabulary, palette, width=margin + len(scenes) * (tile + _GAP))
    width = margin + len(scenes) * (tile + _GAP)
    height = header + len(rows) * (tile + _GAP) + legend.height
    canvas = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    resolution = scenes[0].image.shape[-1] if scenes else 0
    draw.text(
        (8, 8),
        f"ganlens scene world · {resolution}px · {len(scenes)} scenes",
        fill=_INK,
        font=_font(16),
    )
    for r, title in enumerate(rows):
        draw.text((8, header + r * (tile + _GAP) + tile // 2 - 8), title, fill=_INK, font=_font(14))
    for c, scene in enumerate(scenes):
        big = F.interpolate(scene.image[None].float(), size=(tile, tile), mode="nearest")[0]
        image = big.to(torch.uint8)
        labels = F.interpolate(scene.labels[None].float(), size=(tile, tile), mode="nearest")[0]
        panels = [image] + [overlay_labels(image, layer.long()) for layer in labels]
        for r, panel in enumerate(panels):
            pixels = Image.fromarray(panel.permute(1, 2, 0).numpy())
            canvas.paste(pixels, (margin + c * (tile + _GAP), header + r * (tile + _GAP)))
    canvas.paste(legend, (0, header + len(rows) * (tile + _GAP)))
    return canvas


def _legend(vocabulary: Vocabulary, palette: list[tuple[int, int, int]], width: int) -> Image.Image:
    """Swatches and names, one block of lines per category."""
    font, line, swatch = _font(13), 22, 14
    entries = [(cat, [c for c in vocabulary if c.category == cat]) for cat in CATEGORIES]
    lines: list[tuple[str, list[tuple[str, tuple[int, int, int]]]]] = []
    for category, concepts in entries:
        row: list[tuple[str, tuple[int, int, int]]] = []
        used = 96
        for concept in concepts:
            need = swatch + 8 + int(font.getlength(concept.name)) + 18
            if row and used + need > width:
                lines.append((category, row))
                category, row, used = "", [], 96
            row.append((concept.name, palette[concept.index]))
            used += need
        if row:
            lines.append((category, row))
    legend = Image.new("RGB", (width, 10 + line * len(lines) + 6), _BACKGROUND)
    draw = ImageDraw.Draw(legend)
    for i, (category, row) in enumerate(lines):
        y = 10 + i * line
        draw.text((8, y), category, fill=(110, 110, 110), font=font)
        x = 96
        for name, color in row:
            draw.rectangle((x, y + 1, x + swatch, y + 1 + swatch), fill=color, outline=_INK)
            draw.text((x + swatch + 6, y), name, fill=_INK, font=font)
            x += swatch + 8 + int(font.getlength(name)) + 18
    return legend
