import pytest

from ganlens.models.architecture import progressive_channels, resolution_log2, resolve_channels


def test_channel_schedule() -> None:
    assert progressive_channels(256) == (512, 512, 512, 512, 256, 128, 64)
    assert progressive_channels(1024) == (512, 512, 512, 512, 256, 128, 64, 32, 16)
    assert progressive_channels(16) == (512, 512, 512)
    assert progressive_channels(32, fmap_base=64, fmap_max=16) == (16, 16, 8, 4)
    assert progressive_channels(1024, fmap_base=256, fmap_max=64)[-1] == 1  # floor at 1


@pytest.mark.parametrize("resolution", [8, 2048, 24, 0, 16.0, True])
def test_resolution_must_be_supported_power_of_two(resolution: object) -> None:
    with pytest.raises(ValueError, match=r"resolution must be a power of two between 16 and 1024"):
        resolution_log2(resolution)  # type: ignore[arg-type]
    assert resolution_log2(1024) == 10


def test_resolve_channels() -> None:
    assert resolve_channels(32, [9, 8, 7, 6]) == (9, 8, 7, 6)
    assert resolve_channels(32, None, fmap_base=64, fmap_max=16) == (16, 16, 8, 4)
    for bad in ([8, 8, 8], [8, 8, 8, 0], [8, 8, 8, 2.5]):
        with pytest.raises(ValueError, match=r"channels must hold 4 positive integers"):
            resolve_channels(32, bad)  # type: ignore[arg-type]
