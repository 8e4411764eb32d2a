"""Command line: build the corpus, run sweeps of a preset.

python -m scaling_utils.experiment corpus [--out data/corpus]
python -m scaling_utils.experiment run --preset quick [--sweep size] [--workers 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scaling_utils._paths import repo_root

ROOT = repo_root()
PRESETS = ROOT / "experiments"
FIXTURE = ROOT / "tests" / "fixtures" / "kjv_genesis.txt"


def main(argv: list[str] | None = None) -> int:
    """Run the experiment's command line (``python -m scaling_utils.experiment``); return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m scaling_utils.experiment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("corpus", help="download and prepare the text corpus")
    p.add_argument("--out", type=Path, default=ROOT / "data" / "corpus")
    p.add_argument("--accept-changes", action="store_true", help="write the corpus even if hashes differ from the lock")
    s = sub.add_parser(
        "prefix-shift",
        help="measure how far the repeat sweep's unique-data prefixes are from the held-out text",
    )
    s.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    s.add_argument("--out", type=Path, default=ROOT / "data" / "experiments")
    r = sub.add_parser("run", help="run the sweeps of a preset (resumes finished runs)")
    r.add_argument("--preset", required=True, choices=sorted(p.name for p in PRESETS.iterdir() if p.is_dir()))
    r.add_argument("--sweep", action="append", help="only these sweeps (default: all of the preset)")
    r.add_argument(
        "--out",
        type=Path,
        help="results folder (default: data/experiments for standard, _build/experiments/<preset> otherwise)",
    )
    r.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    r.add_argument("--workers", type=int, help="local pool size (default 2)")
    r.add_argument("--threads", type=int, help="torch threads per task (default 1)")
    r.add_argument("--device", help="cpu (default) or cuda")
    c = r.add_argument_group("executor (default local; the sweep file's [executor] table, then these)")
    c.add_argument(
        "--executor",
        help="local (a pool on this machine) or slurm (submitit: Slurm job arrays where sbatch "
        "exists, submitit's local executor elsewhere; needs pip install -e '.[cluster]')",
    )
    c.add_argument("--partition", help="Slurm partition")
    c.add_argument("--gpus-per-task", type=int, help="GPUs per Slurm task")
    c.add_argument("--time-limit", type=int, dest="time_limit_min", help="minutes per task")
    c.add_argument("--mem-gb", type=float, help="memory per task")
    c.add_argument("--array-parallelism", type=int, help="Slurm array tasks running at once")
    c.add_argument("--retries", type=int, help="times a failed task is resubmitted (default 1)")
    c.add_argument("--group", type=int, help="train up to this many same-shape runs as one task (default 1)")
    c.add_argument("--snapshot-every", type=float, dest="snapshot_every_s", help="seconds between snapshots (300)")
    c.add_argument(
        "--allow-partial",
        action="store_true",
        help="assemble the runs that finished; the meta says how many are missing",
    )
    r.add_argument(
        "--order", choices=("cost", "file"), default="cost", help="largest runs first (default) or the file's order"
    )
    args = parser.parse_args(argv)

    if args.command == "prefix-shift":
        return _prefix_shift(args.corpus, args.out)
    if args.command == "corpus":
        from scaling_utils.experiment.corpus import build_corpus, check_lock

        manifest = build_corpus(args.out, cache=ROOT / ".cache" / "corpus")
        problems = check_lock(manifest, PRESETS / "corpus.lock.json")
        for line in problems:
            print(f"corpus: {line}", file=sys.stderr)
        if problems and not args.accept_changes:
            return 1
        print(json.dumps(manifest["distributions"], indent=1))
        return 0

    from scaling_utils.experiment.sweep import run_sweep

    preset = PRESETS / args.preset
    files = sorted(preset.glob("*.toml"))
    if args.sweep:
        unknown = sorted(set(args.sweep) - {f.stem for f in files})
        if unknown:
            print(
                f"error: --sweep {', '.join(unknown)}: no such sweep in preset {args.preset}; "
                f"it has {', '.join(f.stem for f in files)}",
                file=sys.stderr,
            )
            return 2
        files = [f for f in files if f.stem in args.sweep]
    out = args.out or (
        ROOT / "data" / "experiments" if args.preset == "standard" else ROOT / "_build" / "experiments" / args.preset
    )
    corpus = f"fixture:{FIXTURE}" if args.preset == "smoke" else str(args.corpus)
    from scaling_utils.experiment.executors import ExecutorError
    from scaling_utils.experiment.sweep import SweepConfigError, SweepFailed

    options = {
        k: getattr(args, k)
        for k in (
            "partition",
            "gpus_per_task",
            "time_limit_min",
            "mem_gb",
            "array_parallelism",
            "group",
            "snapshot_every_s",
        )
        if getattr(args, k) is not None
    }
    for f in files:
        try:
            csv = run_sweep(
                f,
                out,
                corpus,
                workers=args.workers,
                threads=args.threads,
                device=args.device,
                order=args.order,
                executor=args.executor,
                retries=args.retries,
                allow_partial=args.allow_partial,
                executor_options=options,
            )
        except (ExecutorError, SweepConfigError, SweepFailed) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        shown = csv.resolve().relative_to(ROOT) if csv.resolve().is_relative_to(ROOT) else csv
        print(f"wrote {shown}", file=sys.stderr)
    return 0


PREFIX_UNIQUES = (8_000_000, 4_000_000, 2_000_000, 1_000_000, 500_000, 250_000, 125_000)
"""The repeat sweep's unique-data sizes (experiments/standard/repeat.toml)."""


def _prefix_shift(corpus: Path, out: Path) -> int:
    """Write ``repeat_prefix_shift.csv`` and its meta: :func:`scaling_utils.analysis.repeated.prefix_shift`."""
    from scaling_utils._paths import sha256_file
    from scaling_utils.analysis.repeated import prefix_shift
    from scaling_utils.experiment.corpus import load_corpus
    from scaling_utils.experiment.sweep import _git_commit

    texts = load_corpus(corpus, ("train_fit", "train"))
    table = prefix_shift(texts["train_fit"], texts["train"], PREFIX_UNIQUES)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "repeat_prefix_shift.csv"
    table.to_csv(csv, index=False, float_format="%.6f", lineterminator="\n")
    meta = {
        "what": "held-out cross-entropy (nats/byte) of a byte-bigram model counted on the first U bytes "
        "of train_fit (prefix) and on U bytes of random 4,096-byte blocks (random), seed 0, smoothing 0.01",
        "made_by": "python -m scaling_utils.experiment prefix-shift (scaling_utils.analysis.repeated.prefix_shift)",
        "code_commit": _git_commit(),
        "corpus_manifest_sha256": sha256_file(corpus / "manifest.json"),
        "csv_sha256": sha256_file(csv),
    }
    (out / "repeat_prefix_shift.meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
