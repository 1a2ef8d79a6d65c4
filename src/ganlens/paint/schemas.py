"""Request and response bodies of the painting API, validated by pydantic.

Limits keep every request small: at most :data:`MAX_IMAGES` images, :data:`MAX_STROKES`
strokes, 1024 x 1024 masks and :data:`MAX_MASK_CHARS` characters of base64 per mask (the body
as a whole is capped by the app).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_IMAGES",
    "MAX_MASK_CHARS",
    "MAX_STROKES",
    "GenerateRequest",
    "ImagesResponse",
    "InfoResponse",
    "LayerResponse",
    "MaskPayload",
    "RankingResponse",
    "SegmentResponse",
    "StrokePayload",
]

MAX_IMAGES = 16
"""Images per request."""
MAX_STROKES = 64
"""Strokes per request."""
MAX_MASK_CHARS = 1_500_000
"""Characters of base64 per mask (about 1.1 MB of PNG)."""
MAX_SEED = 2**31 - 1

_STRICT = ConfigDict(extra="forbid", strict=True)
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Index = Annotated[int, Field(ge=0, le=MAX_SEED)]


class MaskPayload(BaseModel):
    """Where a stroke paints: a PNG (``png``) or a bit raster (``bits``, ``width``, ``height``).

    ``png`` is base64 or a ``data:image/png;base64,`` URL; its alpha channel (else grey level)
    is the mask. ``bits`` is base64 of ``ceil(width * height / 8)`` bytes, row-major, most
    significant bit first. Any resolution up to 1024 x 1024 is pooled to the layer grid.

    Example:
        >>> MaskPayload(bits="gA==", width=1, height=1).width
        1
    """

    model_config = _STRICT
    png: str | None = Field(None, max_length=MAX_MASK_CHARS)
    bits: str | None = Field(None, max_length=MAX_MASK_CHARS)
    width: int | None = Field(None, ge=1, le=1024)
    height: int | None = Field(None, ge=1, le=1024)

    @model_validator(mode="after")
    def _one_kind(self) -> MaskPayload:
        if (self.png is None) == (self.bits is None):
            raise ValueError("give exactly one of png and bits")
        if self.bits is not None and (self.width is None or self.height is None):
            raise ValueError("bits needs width and height")
        return self


class StrokePayload(BaseModel):
    """One stroke: which units of which layer, draw or remove, how strongly, where.

    Units are either listed (``units``) or the top ``top_n`` of a ranking named as
    ``GET /api/layers/{layer}/rankings`` lists it (``ranking``, e.g. ``"tree-iou"``).

    Example:
        >>> StrokePayload(layer="layer6", ranking="tree-iou", action="remove",
        ...               mask={"bits": "gA==", "width": 1, "height": 1}).top_n
        10
    """

    model_config = _STRICT
    layer: str = Field(max_length=200)
    units: list[Index] | None = Field(None, min_length=1, max_length=4096)
    ranking: str | None = Field(None, max_length=200)
    top_n: int = Field(10, ge=1, le=4096)
    action: Literal["draw", "remove"]
    strength: float = Field(1.0, ge=0.0, le=1.0)
    pool: Literal["max", "mean"] = "max"
    mask: MaskPayload

    @model_validator(mode="after")
    def _one_selection(self) -> StrokePayload:
        if (self.units is None) == (self.ranking is None):
            raise ValueError("give exactly one of units and ranking")
        return self


class GenerateRequest(BaseModel):
    """Images to render (by ``seeds`` or dissection ``samples`` ids) and the strokes, in order.

    Example:
        >>> GenerateRequest(seeds=[0, 1]).strokes
        []
    """

    model_config = _STRICT
    seeds: list[Seed] | None = Field(None, min_length=1, max_length=MAX_IMAGES)
    samples: list[Index] | None = Field(None, min_length=1, max_length=MAX_IMAGES)
    strokes: list[StrokePayload] = Field(default_factory=list, max_length=MAX_STROKES)

    @model_validator(mode="after")
    def _one_source(self) -> GenerateRequest:
        if (self.seeds is None) == (self.samples is None):
            raise ValueError("give exactly one of seeds and samples")
        return self


class ImagesResponse(BaseModel):
    """Rendered images as PNG data URLs, in request order.

    Example:
        >>> ImagesResponse(images=["data:image/png;base64,"]).images[0][:10]
        'data:image'
    """

    images: list[str]


class SegmentResponse(BaseModel):
    """Segmentations (RGBA PNG data URLs) and the concepts they show, with colours and pixels.

    Example:
        >>> SegmentResponse(images=[], concepts=[{"name": "sky", "pixels": 3}]).concepts[0]["name"]
        'sky'
    """

    images: list[str]
    concepts: list[dict[str, str | int]]


class RankingResponse(BaseModel):
    """A concept's ranking of a layer's units, best first.

    Example:
        >>> RankingResponse(name="tree-iou", concept="tree", metric="iou", units=[2, 0]).units
        [2, 0]
    """

    name: str
    concept: str
    metric: str
    units: list[int]


class LayerResponse(BaseModel):
    """A paintable layer.

    Example:
        >>> LayerResponse(name="layer6", num_units=64, grid=[16, 16]).grid
        [16, 16]
    """

    name: str
    num_units: int
    grid: list[int]


class InfoResponse(BaseModel):
    """What the page needs to start: the model, its layers, defaults and limits.

    Example:
        >>> sorted(InfoResponse.model_fields)[:3]
        ['concepts', 'latent_size', 'layer']
    """

    source: str
    resolution: int | None
    latent_size: int
    layers: list[LayerResponse]
    layer: str
    seeds: list[int]
    num_samples: int
    top_n: int
    concepts: list[dict[str, str | int]]
    limits: dict[str, int]
