import pytest
import torch

from ganlens.segment.network import SceneSegmenterNet, split_heads


@pytest.mark.parametrize("size", [(16, 16), (17, 23), (64, 64), (9, 40)])
def test_output_matches_input_size(size):
    torch.manual_seed(0)
    net = SceneSegmenterNet(widths=(4, 8, 8), head_sizes=(3, 2)).eval()
    assert net(torch.randn(2, 3, *size)).shape == (2, 5, *size)


def test_padding_to_a_multiple_does_not_shift_pixels():
    # Replicate-padding on the bottom/right only: the crop of a non-multiple input equals the same
    # pixels computed inside a larger image that needs no padding, away from the padded edge.
    torch.manual_seed(0)
    net = SceneSegmenterNet(widths=(4, 8), head_sizes=(2,)).eval()
    image = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        whole = net(image)
        cropped = net(image[..., :31, :31])
    # Receptive field at two scales is under 12 px: pixels 12 away from the cut agree exactly.
    torch.testing.assert_close(cropped[..., :18, :18], whole[..., :18, :18])


def test_default_network_is_compact():
    params = sum(p.numel() for p in SceneSegmenterNet().parameters())
    assert 100_000 < params < 1_000_000, params


def test_split_heads_checks_channels():
    with pytest.raises(ValueError, match=r"\[N, 5, H, W\].*got \(1, 4, 2, 2\)"):
        split_heads(torch.zeros(1, 4, 2, 2), (3, 2))


def test_invalid_widths_raise():
    with pytest.raises(ValueError, match="widths and head_sizes"):
        SceneSegmenterNet(widths=())
