import pytest

from ganlens.training.schedule import GrowthPhase, GrowthSchedule

SCHEDULE = GrowthSchedule(
    [GrowthPhase(4, 0, 100, 32), GrowthPhase(8, 50, 100, 16), GrowthPhase(16, 40, 10)]
)


@pytest.mark.parametrize(
    ("shown", "phase", "resolution", "alpha", "batch"),
    [
        (0, 0, 4, 1.0, 32),
        (99, 0, 4, 1.0, 32),
        (100, 1, 8, 0.0, 16),  # a new phase starts with the new block fully faded out
        (125, 1, 8, 0.5, 16),
        (150, 1, 8, 1.0, 16),
        (249, 1, 8, 1.0, 16),
        (250, 2, 16, 0.0, None),
        (270, 2, 16, 0.5, None),
        (10**9, 2, 16, 1.0, None),  # the last phase goes on
    ],
)
def test_stage_by_images_shown(shown, phase, resolution, alpha, batch):
    stage = SCHEDULE.stage(shown)
    assert (stage.phase, stage.resolution, stage.batch_size) == (phase, resolution, batch)
    assert stage.alpha == pytest.approx(alpha)


def test_first_phase_fade_is_ignored_and_totals_add_up():
    schedule = GrowthSchedule([GrowthPhase(4, 999, 10), GrowthPhase(8, 20, 30)])
    assert schedule.stage(0).alpha == 1.0
    assert schedule.total_images() == 60


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([], "at least one phase"),
        ([GrowthPhase(6)], "power of two"),
        ([GrowthPhase(4), GrowthPhase(16)], "must double the previous 4"),
        ([GrowthPhase(4, 0, -1)], "must be >= 0"),
        ([GrowthPhase(4, batch_size=0)], "batch_size must be >= 1"),
    ],
)
def test_invalid_schedules_are_rejected(phases, message):
    with pytest.raises(ValueError, match=message):
        GrowthSchedule(phases)
