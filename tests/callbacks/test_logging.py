"""log_evaluation: every logger gets the scalars with epoch; a failing logger only warns, once."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger

from ganlens.callbacks import logging as evaluation_logging
from ganlens.callbacks.logging import log_evaluation


class BrokenLogger(CSVLogger):
    def log_metrics(self, metrics, step=None):
        raise ConnectionError("network is down")


def trainer(tmp_path, *loggers) -> pl.Trainer:
    return pl.Trainer(logger=list(loggers), default_root_dir=tmp_path, enable_progress_bar=False)


def test_a_failing_logger_warns_once_and_the_others_still_log(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluation_logging, "_warned", set())
    healthy = CSVLogger(tmp_path, name="healthy")
    run = trainer(tmp_path, BrokenLogger(tmp_path, name="broken"), healthy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log_evaluation(run, {"quality/swd": 3.0}, owner="TestMonitor")
        log_evaluation(run, {"quality/swd": 2.0}, owner="TestMonitor")
    messages = [str(w.message) for w in caught if "TestMonitor" in str(w.message)]
    assert len(messages) == 1 and "BrokenLogger" in messages[0] and "network is down" in messages[0]
    healthy.save()
    lines = Path(healthy.experiment.metrics_file_path).read_text().splitlines()
    assert lines[0].split(",") == ["epoch", "quality/swd", "step"] and len(lines) == 3


def test_media_builders_run_only_for_wandb(tmp_path, monkeypatch):
    # log_evaluation swallows every logger error, so an assertion raised inside a builder would
    # never reach pytest: record the calls and check them after the call returns instead.
    monkeypatch.setattr(evaluation_logging, "_warned", set())
    calls: list[str] = []
    logger = CSVLogger(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log_evaluation(trainer(tmp_path, logger), {"x": 1.0}, {"m": lambda: calls.append("m")})
    assert calls == []
    assert [str(w.message) for w in caught if "could not log" in str(w.message)] == []
    logger.save()
    header, row = Path(logger.experiment.metrics_file_path).read_text().splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["x"] == "1.0"


def test_records_carry_the_epoch(tmp_path):
    logger = CSVLogger(tmp_path)
    log_evaluation(trainer(tmp_path, logger), {"dissect/layer4/concepts": 2})
    logger.save()
    header, row = Path(logger.experiment.metrics_file_path).read_text().splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["epoch"] == "0"
