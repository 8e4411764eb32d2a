"""Snapshots of a run mid-way: model, optimiser, sampler and rows so far, written atomically.

A snapshot (``<results>/snapshots/<sweep>/<run_id>.pt``) is what a killed run resumes
from, in the next process or on another machine: the weights and the optimiser's moments,
the legacy sampler's generator state (the permuted sampler needs only the step), the
step, the learning rate summed so far, the rows already evaluated (branches included) and
the wall time spent. It is written to a unique temporary file and moved into place with
:func:`os.replace`, so a kill mid-write leaves the previous snapshot. The runner deletes
it once the run file is written; snapshots are never committed.
"""

from __future__ import annotations

import copy
import os
import uuid
from pathlib import Path

import torch

__all__ = ["SnapshotError", "copy_state", "load", "restore_state", "save"]

FORMAT = 1


class SnapshotError(ValueError):
    """A snapshot cannot be resumed from (another run's, or unreadable); the message names the file."""


def copy_state(trainer, samplers) -> dict:
    """An in-memory copy of the training state (a cooldown branch starts from it, then restores it)."""
    return {"trainer": copy.deepcopy(trainer.state_dict()), "samplers": [copy.deepcopy(s.state()) for s in samplers]}


def restore_state(trainer, samplers, saved: dict) -> None:
    """Put back a state taken by :func:`copy_state`."""
    trainer.load_state_dict(saved["trainer"])
    for s, st in zip(samplers, saved["samplers"], strict=True):
        s.load_state(st)


def save(path: Path, run_ids: list[str], trainer, samplers, state: dict) -> None:
    """Write the snapshot of ``run_ids`` at ``state["step"]`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "run_ids": list(run_ids),
        "trainer": trainer.state_dict(),
        "samplers": [s.state() for s in samplers],
        "state": state,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    torch.save(blob, tmp)
    os.replace(tmp, path)


def load(path: Path, run_ids: list[str], trainer, samplers) -> dict:
    """Load the snapshot at ``path`` into ``trainer`` and ``samplers``; return the loop's state."""
    try:
        blob = torch.load(path, weights_only=False)
    except Exception as err:  # any unreadable file gets the same plain message
        raise SnapshotError(
            f"snapshot {path} cannot be read ({type(err).__name__}: {err}); delete it to restart the run"
        ) from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("run_ids") != list(run_ids):
        owner = blob.get("run_ids") if isinstance(blob, dict) else "?"
        raise SnapshotError(f"snapshot {path} belongs to other runs ({owner}), not {run_ids}")
    trainer.load_state_dict(blob["trainer"])
    for s, st in zip(samplers, blob["samplers"], strict=True):
        s.load_state(st)
    return blob["state"]
