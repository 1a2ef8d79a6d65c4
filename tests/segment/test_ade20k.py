import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from ganlens.segment import Segmenter
from ganlens.segment.ade20k import ADE20K_STUFF, SegformerSegmenter, ade20k_vocabulary

transformers = pytest.importorskip("transformers")

NAMES = {0: "wall", 1: "building, edifice", 2: "sky", 3: "tree", 4: "road, route", 5: "door"}


def _id2label() -> dict[int, str]:
    """150 ADE20K-style names: a few real ones (with synonyms), fillers, and one repeat."""
    labels = {i: f"thing {i}" for i in range(150)}
    labels.update(NAMES)
    labels[149] = "door"  # a repeated first synonym
    return labels


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.SegformerConfig(
        num_labels=150, id2label=_id2label(), label2id={v: k for k, v in _id2label().items()},
        hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1],
        decoder_hidden_size=16,
    )  # fmt: skip
    return transformers.SegformerForSemanticSegmentation(config).eval()


@pytest.fixture(scope="module")
def segmenter(model):
    return SegformerSegmenter(model, input_size=64)


def _images(n=2, h=32, w=32, seed=0):
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_vocabulary_maps_ids_names_and_categories(segmenter):
    vocab = segmenter.vocabulary
    assert len(vocab) == 151 and vocab.name(0) == "-"
    assert [vocab.name(i + 1) for i in range(5)] == ["wall", "building", "sky", "tree", "road"]
    assert vocab.name(150) == "door (149)" and vocab.index("door") == 6
    categories = {vocab.name(i): vocab.category(i) for i in range(1, 151)}
    assert {n for n, c in categories.items() if c == "material"} == {"wall", "sky", "road"}
    assert categories["building"] == "object" and categories["thing 7"] == "object"
    assert {"sky", "floor", "road", "grass", "wall", "water"} <= ADE20K_STUFF
    everything = ade20k_vocabulary(_id2label(), stuff_names=())
    assert set(everything.categories[1:]) == {"object"}
    with pytest.raises(ValueError, match=r"keys must be 0 \.\. 1"):
        ade20k_vocabulary({0: "a", 2: "b"})


def test_implements_the_protocol(segmenter):
    assert isinstance(segmenter, Segmenter)
    assert segmenter.layer_names == ("ade20k",)


@pytest.mark.parametrize(("size", "resolution"), [((32, 32), None), ((24, 40), 16), ((64, 64), 96)])
def test_segment_is_argmax_of_resized_logits(segmenter, size, resolution):
    images = _images(2, *size)
    labels = segmenter.segment(images, resolution)
    expected_size = size if resolution is None else (resolution, resolution)
    assert labels.shape == (2, 1, *expected_size) and labels.dtype == torch.int64
    assert labels.min() >= 1 and labels.max() <= 150
    with torch.no_grad():
        logits = segmenter.logits(images)  # [2, 150, 16, 16]: input 64 px, logits at 1/4
        assert logits.shape == (2, 150, 16, 16)
        resized = F.interpolate(logits, expected_size, mode="bilinear", align_corners=False)
    assert torch.equal(labels[:, 0], resized.argmax(dim=1) + 1)


def test_native_input_size_when_none(model):
    seg = SegformerSegmenter(model, input_size=None)
    with torch.no_grad():
        assert seg.logits(_images(1, 48, 48)).shape[-2:] == (12, 12)


def test_class_probability_matches_softmax_and_has_gradients(segmenter):
    images = _images(2).requires_grad_(True)
    sky = segmenter.class_probability(images, "sky", resolution=8)
    assert sky.shape == (2, 8, 8) and sky.min() >= 0 and sky.max() <= 1
    sky.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    with torch.no_grad():
        probs = segmenter.logits(images).softmax(dim=1)[:, 2:3]  # "sky" is class 2, label 3
        expected = F.interpolate(probs, (8, 8), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(sky.detach(), expected)
    by_index = segmenter.class_probability(images.detach(), 3, resolution=8)
    torch.testing.assert_close(by_index, expected)


def test_errors_name_the_problem(segmenter):
    with pytest.raises(ValueError, match=r"unknown concept 'cloud'.*wall, building, sky"):
        segmenter.class_probability(_images(1), "cloud")
    with pytest.raises(ValueError, match="unknown concept 151"):
        segmenter.class_probability(_images(1), 151)
    with pytest.raises(ValueError, match=r"\[-1, 1\]; got min 0"):
        segmenter.segment(torch.linspace(0, 255, 3 * 16).view(1, 3, 4, 4))


def test_from_pretrained_reads_a_local_folder(model, tmp_path):
    model.save_pretrained(tmp_path)
    processor = transformers.SegformerImageProcessor(
        size={"height": 32, "width": 32}, image_mean=[0.5] * 3, image_std=[0.5] * 3
    )
    processor.save_pretrained(tmp_path)
    loaded = SegformerSegmenter.from_pretrained(tmp_path)
    assert loaded.input_size == 32 and torch.allclose(loaded.mean, torch.full((1, 3, 1, 1), 0.5))
    assert not any(p.requires_grad for p in loaded.parameters())
    images = _images(1, 32, 32)
    reference = SegformerSegmenter(model, input_size=32, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    assert torch.equal(loaded.segment(images), reference.segment(images))


def test_ganlens_imports_without_transformers():
    code = "import sys, ganlens.segment; print('transformers' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _tiny_config(**extra):
    return transformers.SegformerConfig(
        hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_attention_heads=[1, 1, 1, 1],
        decoder_hidden_size=16, num_labels=5, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    "kind, message",
    [
        ("backbone", "has no trained decode head (16 decode_head weights missing"),
        ("classifier", "has no trained decode head"),
        ("bert", "holds a 'bert' model, not a SegFormer"),
        ("empty", "has no config.json"),
        ("no weights", "has no weights"),
    ],
)
def test_a_folder_without_a_segmentation_segformer_is_one_line(tmp_path, capsys, kind, message):
    from ganlens.cli import main

    folder = tmp_path / "model"
    if kind == "backbone":
        transformers.SegformerModel(_tiny_config()).save_pretrained(folder)
    elif kind == "classifier":
        transformers.SegformerForImageClassification(_tiny_config()).save_pretrained(folder)
    elif kind == "bert":
        config = transformers.BertConfig(hidden_size=8, num_hidden_layers=1, vocab_size=10,
                                         num_attention_heads=1, intermediate_size=8)  # fmt: skip
        transformers.BertModel(config).save_pretrained(folder)
    elif kind == "no weights":
        _tiny_config().save_pretrained(folder)
    else:
        folder.mkdir()
    capsys.readouterr()  # save_pretrained's own progress bar
    out = tmp_path / "out"
    args = ["units", "--segmenter", f"segformer:{folder}", "--layers", "layer4", "--samples", "4",
            "--out", str(out), "--quiet"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())
