"""The painting server: a FastAPI app over a :class:`~ganlens.paint.model.PaintModel`.

Endpoints (the OpenAPI document is at ``/openapi.json``):

* ``GET /``: the page; ``GET /static/...``: its script and style sheet.
* ``GET /api/info``: the model, its paintable layers, concepts with colours, defaults, limits.
* ``GET /api/layers/{layer}/rankings``: each concept's ranking of the layer's units (IoU and,
  when fitted, ACE), best first.
* ``POST /api/generate``: images of seeds or dissection sample ids under strokes, in order.
* ``POST /api/segment``: the segmenter's labels of the same images.

Every bad request gets a 4xx whose ``detail`` lists ``loc`` (the field) and ``msg``; bodies over
the limit get 413 before they are parsed. The app runs no code named by requests, and edits run
one at a time (hooks are registered on the shared generator).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import torch
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from torch import Tensor

from ganlens import __version__
from ganlens.hooks import Intervention
from ganlens.images import concept_colors
from ganlens.paint.edits import Stroke, render, stroke_intervention
from ganlens.paint.images import data_url, label_png, to_uint8
from ganlens.paint.limits import MAX_BODY_BYTES, BodyLimit
from ganlens.paint.masks import decode_bits, decode_png
from ganlens.paint.model import PaintModel
from ganlens.paint.schemas import (
    MAX_IMAGES,
    MAX_STROKES,
    GenerateRequest,
    ImagesResponse,
    InfoResponse,
    LayerResponse,
    RankingResponse,
    SegmentResponse,
    StrokePayload,
)

__all__ = ["PayloadError", "create_app"]

STATIC = resources.files("ganlens.paint") / "static"


class PayloadError(ValueError):
    """A request the schema admits but the model cannot serve; answered with 422.

    Example:
        >>> PayloadError(("body", "seeds"), "bad").loc
        ('body', 'seeds')
    """

    def __init__(self, loc: tuple[str | int, ...], message: str, status: int = 422) -> None:
        super().__init__(message)
        self.loc, self.message, self.status = loc, message, status


def _error(status: int, errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"detail": errors}, status_code=status)


def _latents(model: PaintModel, body: GenerateRequest) -> Tensor:
    if body.seeds is not None:
        return model.seed_latents(body.seeds)
    assert body.samples is not None
    for position, sample in enumerate(body.samples):
        if not 0 <= sample < model.num_samples:
            raise PayloadError(
                ("body", "samples", position),
                f"sample id {sample} out of range; allowed ids: 0..{model.num_samples - 1}",
            )
    return model.sample_latents(body.samples)


def _units(model: PaintModel, stroke: StrokePayload, loc: tuple[str | int, ...]) -> tuple[int, ...]:
    count = model.layers[stroke.layer].num_units
    if stroke.units is not None:
        bad = [u for u in stroke.units if not 0 <= u < count]
        if bad:
            raise PayloadError((*loc, "units"), f"units {bad} out of range 0..{count - 1}")
        return tuple(stroke.units)
    if stroke.top_n > count:
        raise PayloadError((*loc, "top_n"), f"top_n {stroke.top_n} exceeds the {count} units")
    rankings = {r.name: r for r in model.rankings(stroke.layer)}
    if stroke.ranking not in rankings:
        raise PayloadError(
            (*loc, "ranking"),
            f"unknown ranking {stroke.ranking!r} for layer {stroke.layer!r}; "
            f"available: {', '.join(sorted(rankings)) or 'none'}",
        )
    return rankings[stroke.ranking].order[: stroke.top_n]


def _interventions(model: PaintModel, body: GenerateRequest) -> list[Intervention]:
    edits = []
    for position, stroke in enumerate(body.strokes):
        loc: tuple[str | int, ...] = ("body", "strokes", position)
        if stroke.layer not in model.layers:
            raise PayloadError(
                (*loc, "layer"),
                f"unknown layer {stroke.layer!r}; paintable layers: {', '.join(model.layers)}",
            )
        units = _units(model, stroke, loc)
        mask = stroke.mask
        try:
            if mask.png is not None:
                pixels = decode_png(mask.png)
            else:
                assert mask.bits is not None and mask.width and mask.height
                pixels = decode_bits(mask.bits, mask.width, mask.height)
        except ValueError as error:
            raise PayloadError((*loc, "mask", "png" if mask.png else "bits"), str(error)) from error
        info = model.layers[stroke.layer]
        painted = Stroke(stroke.layer, units, stroke.action, pixels, stroke.strength, stroke.pool)
        edits.append(stroke_intervention(painted, info.grid, model.levels(stroke.layer)))
    return edits


def _images(model: PaintModel, body: GenerateRequest) -> Tensor:
    latents = _latents(model, body)
    with model.lock:
        return render(model.generator, latents, _interventions(model, body))


def create_app(
    model: PaintModel, *, layer: str | None = None, seed: int = 0, samples: int = 8, top_n: int = 10
) -> FastAPI:
    """The FastAPI app serving ``model``.

    Args:
        model: The generator, segmenter and rankings.
        layer: Layer selected when the page opens (default :meth:`PaintModel.default_layer`).
        seed: Seed of the first image shown.
        samples: Images shown (at most 16 per request; the page asks in batches).
        top_n: Units per stroke when the page opens.

    Raises:
        ValueError: If ``layer`` is not paintable.

    Example:
        >>> from fastapi.testclient import TestClient
        >>> from ganlens.paint.model import load_paint_model
        >>> client = TestClient(create_app(load_paint_model(None, None, None, quick_samples=8)))
        >>> client.get("/api/info").json()["layer"]
        'layer6'
    """
    selected = layer or model.default_layer()
    if selected not in model.layers:
        raise ValueError(f"layer {selected!r} is not paintable; choose one of {list(model.layers)}")
    vocabulary = model.segmenter.vocabulary
    colors = concept_colors(len(vocabulary.names))
    concepts = [
        {"index": i, "name": name, "color": "#{:02x}{:02x}{:02x}".format(*colors[i])}
        for i, name in enumerate(vocabulary.names)
    ]
    app = FastAPI(
        title="ganlens paint", version=__version__, docs_url=None, redoc_url=None,
        description="Paint with a GAN's units (GAN Dissection, Bau et al., ICLR 2019).",
    )  # fmt: skip
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return _error(422, errors)

    @app.exception_handler(HTTPException)
    async def refused(request: Request, error: HTTPException) -> JSONResponse:
        where = {400: "body", 404: "path", 405: "method", 413: "body"}.get(
            error.status_code, "request"
        )
        detail = [{"loc": [where], "msg": str(error.detail), "type": "http_error"}]
        return JSONResponse(
            {"detail": detail}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(PayloadError)
    async def unservable(request: Request, error: PayloadError) -> JSONResponse:
        return _error(
            error.status, [{"loc": list(error.loc), "msg": error.message, "type": "value_error"}]
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> str:
        return (STATIC / "index.html").read_text(encoding="utf-8")

    @app.get("/api/info")
    def info() -> InfoResponse:
        return InfoResponse(
            source=model.source, resolution=model.resolution, latent_size=model.latent_size,
            layers=[LayerResponse(name=i.name, num_units=i.num_units, grid=list(i.grid))
                    for i in model.layers.values()],
            layer=selected, seeds=list(range(seed, seed + samples)), num_samples=model.num_samples,
            top_n=top_n, concepts=concepts,
            limits={"images": MAX_IMAGES, "strokes": MAX_STROKES, "body_bytes": MAX_BODY_BYTES},
        )  # fmt: skip

    @app.get("/api/layers/{layer}/rankings")
    def rankings(layer: str) -> list[RankingResponse]:
        if layer not in model.layers:
            raise PayloadError(
                ("path", "layer"), f"unknown layer {layer!r}; paintable: {', '.join(model.layers)}",
                status=404,
            )  # fmt: skip
        return [
            RankingResponse(name=r.name, concept=r.concept, metric=r.metric, units=list(r.order))
            for r in model.rankings(layer)
        ]

    @app.post("/api/generate")
    def generate(body: GenerateRequest) -> ImagesResponse:
        pixels = to_uint8(_images(model, body))
        return ImagesResponse(images=[data_url(p) for p in pixels])

    @app.post("/api/segment")
    def segment(body: GenerateRequest) -> SegmentResponse:
        images = _images(model, body)
        with model.lock, torch.no_grad():
            labels = model.segmenter.segment(images.to(model.device), images.shape[-1])[:, 0].cpu()
        counts = torch.bincount(labels.flatten(), minlength=len(colors))
        shown = [
            dict(concepts[i], pixels=int(counts[i]))
            for i in counts.nonzero().flatten().tolist()
            if i > 0
        ]
        return SegmentResponse(images=[label_png(m, colors) for m in labels], concepts=shown)

    return app
