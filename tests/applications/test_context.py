"""Planted door unit: insertion adds door on wall and nothing on sky."""

from __future__ import annotations

import pytest
import torch

from ganlens.applications.context import ContextTable, context_labels, insertion_in_context
from ganlens.applications.planted import LabelImageSegmenter, PlantedContextGenerator
from ganlens.data.scene_world import SCENE_VOCABULARY, render_scene


def test_door_appears_on_wall_and_never_on_sky():
    # One pixel per cell: a cell's context is exactly its pixel's label.
    generator = PlantedContextGenerator(resolution=32, grid=32)
    z = torch.tensor([[float(i)] for i in range(6)])
    table = insertion_in_context(
        generator,
        "layer1",
        LabelImageSegmenter(),
        "door",
        [0],
        torch.ones(1),
        z,
        radius=0,
        spacing=3,
        min_added=0.5,
        batch_size=6,
    )
    rows = {r["context"]: r for r in table.rows()}
    assert rows["wall"]["cells"] > 10 and rows["sky"]["cells"] > 100
    assert rows["wall"]["success_rate"] == 1.0 and rows["wall"]["mean_added"] == 1.0
    assert rows["sky"]["successes"] == 0 and rows["sky"]["mean_added"] == 0.0
    for name, row in rows.items():
        if name not in ("wall", "door"):
            assert row["successes"] == 0, name  # the toy paints door on wall only
    # exact count: every tried wall pixel of the six scenes (rows and columns 0, 3, ...)
    walls = sum(
        int((render_scene(0, i, 32).labels[1, ::3, ::3] == SCENE_VOCABULARY.index("wall")).sum())
        for i in range(6)
    )
    assert rows["wall"]["cells"] == walls
    assert table.maps["added"].shape == (6, 32, 32)
    assert torch.isnan(table.maps["added"][:, 1, 1]).all()  # not tried with spacing 3


def test_wider_windows_reach_wall_from_next_to_it():
    generator = PlantedContextGenerator(resolution=32, grid=8)
    z = torch.tensor([[float(i)] for i in range(4)])
    narrow, wide = (
        insertion_in_context(
            generator, "layer1", LabelImageSegmenter(), "door", [0], torch.ones(1), z, radius=r
        )
        for r in (0, 1)
    )
    cells = {r["context"]: r["successes"] for r in narrow.rows()}
    cells_wide = {r["context"]: r["successes"] for r in wide.rows()}
    # a 3x3-cell window centred next to a wall paints door on that wall: more successes, some
    # of them at cells whose own label is not wall
    assert sum(cells_wide.values()) > sum(cells.values())
    assert sum(n for c, n in cells_wide.items() if c not in ("wall", "door")) > sum(
        n for c, n in cells.items() if c not in ("wall", "door")
    )


def test_context_labels_prefer_part_over_object():
    labels = torch.zeros(1, 2, 2, 2, dtype=torch.long)
    labels[0, 0] = 8  # building
    labels[0, 1, 0, 0] = 9  # wall on one pixel
    assert context_labels(labels, ("object", "part"), ("part", "object")).tolist() == [
        [[9, 8], [8, 8]]
    ]
    assert context_labels(labels, ("object", "part"), ("object",)).tolist() == [[[8, 8], [8, 8]]]
    assert context_labels(labels, ("object", "part"), ("material",)).tolist() == [[[8, 8], [8, 8]]]


def test_table_rows_and_errors():
    table = ContextTable(("-", "sky", "wall"))
    table.add(torch.tensor([2, 2, 1]), torch.tensor([0.3, 0.05, -0.1]), 0.1)
    rows = table.rows()
    assert rows[0] == {
        "context": "wall",
        "label": 2,
        "cells": 2,
        "successes": 1,
        "success_rate": 0.5,
        "mean_added": pytest.approx(0.175),
    }
    generator, segmenter = PlantedContextGenerator(), LabelImageSegmenter()
    z = torch.zeros(1, 1)
    with pytest.raises(ValueError, match="unknown concept 'unicorn'"):
        insertion_in_context(generator, "layer1", segmenter, "unicorn", [0], torch.ones(1), z)
    with pytest.raises(ValueError, match="spacing and batch_size >= 1"):
        insertion_in_context(
            generator, "layer1", segmenter, "door", [0], torch.ones(1), z, spacing=0
        )
