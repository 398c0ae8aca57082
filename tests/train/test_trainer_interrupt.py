"""Ctrl-C while training (issue 30.7): the trainer stops after the step it is in, saves a checkpoint of that
step, says where it stopped, and the same run started again resumes there with the state an uninterrupted
run has at the end."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
import torch

from product_studio.errors import TrainingInterrupted

pytestmark = pytest.mark.slow  # trains a tiny model three times (as test_trainer.py does)

sys.path.insert(0, str(Path(__file__).parent))
from test_trainer import make_trainer  # noqa: E402 - the tiny task those tests train


def test_ctrl_c_stops_at_a_whole_step_and_the_same_run_resumes_exactly(tmp_path):
    straight = make_trainer(tmp_path / "straight")
    straight.fit()

    stopped = make_trainer(tmp_path / "stopped")
    default_step = stopped.step_fn

    def ctrl_c_during_step_six(trainer, batch):
        if trainer.step == 5:  # the 6th step: the last checkpoint is of step 4
            os.kill(os.getpid(), signal.SIGINT)
        return default_step(trainer, batch)

    stopped.step_fn = ctrl_c_during_step_six
    with pytest.raises(TrainingInterrupted) as info:
        stopped.fit()
    assert info.value.step == 6 and info.value.total_steps == 12
    message = str(info.value)
    assert "stopped at step 6 of 12" in message and "epoch" in message and "run the same command again to resume" in message
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C is Python's again

    resumed = make_trainer(tmp_path / "stopped", resume=True)
    assert resumed.step == 6  # not 4: nothing done before the Ctrl-C is lost
    resumed.fit()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    for key, value in straight.ema.state_dict().items():
        assert torch.equal(value, resumed.ema.state_dict()[key]), key


def test_a_second_ctrl_c_interrupts_at_once(tmp_path):
    trainer = make_trainer(tmp_path)
    default_step = trainer.step_fn

    def two_ctrl_c(t, batch):
        if t.step == 2:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return default_step(t, batch)

    trainer.step_fn = two_ctrl_c
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_where_ctrl_c_is_ignored_on_purpose_it_stays_ignored(tmp_path):
    """A run started in the background (`&`: SIGINT ignored) is not stopped by a Ctrl-C meant for the shell."""
    trainer = make_trainer(tmp_path)
    default_step = trainer.step_fn

    def ctrl_c(t, batch):
        if t.step == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return default_step(t, batch)

    trainer.step_fn = ctrl_c
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert trainer.fit().steps == 12
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
