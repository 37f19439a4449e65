"""Ranks from the launchers' environment, read before mmengine's init_dist."""
import argparse

import pytest

from repvgg_seg.engine.cli import add_runner_args, parse_runner_args
from repvgg_seg.process_env import global_rank, local_rank, usable_cpus

LAUNCHER_VARIABLES = ('RANK', 'LOCAL_RANK', 'SLURM_PROCID', 'SLURM_LOCALID',
                      'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_LOCAL_RANK')


@pytest.fixture
def clean_env(monkeypatch):
    for name in LAUNCHER_VARIABLES:
        # setenv first, so that what the test (or parse_runner_args) sets is
        # undone afterwards even where the variable was not set before
        monkeypatch.setenv(name, '')
        monkeypatch.delenv(name)
    return monkeypatch


def _parse(argv):
    parser = argparse.ArgumentParser()
    add_runner_args(parser)
    return parse_runner_args(parser, argv)


def test_slurm_ranks_reach_the_checks_through_the_tools_parser(clean_env):
    clean_env.setenv('SLURM_PROCID', '5')
    clean_env.setenv('SLURM_LOCALID', '1')
    _parse([])  # no --local-rank: LOCAL_RANK must stay unset
    assert (global_rank(), local_rank()) == (5, 1)


def test_torchrun_ranks_come_first(clean_env):
    for name, value in (('SLURM_PROCID', '0'), ('SLURM_LOCALID', '0'),
                        ('RANK', '3'), ('LOCAL_RANK', '3')):
        clean_env.setenv(name, value)
    assert (global_rank(), local_rank()) == (3, 3)


def test_legacy_local_rank_flag_and_defaults(clean_env):
    assert (global_rank(), local_rank()) == (0, 0)
    _parse(['--local-rank', '2'])
    assert local_rank() == 2


def test_usable_cpus_is_bounded():
    assert 1 <= usable_cpus() <= 8 and usable_cpus(limit=1) == 1
