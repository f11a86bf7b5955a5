"""The `posekit` command line.

    posekit data synth --out DIR [--name synth|synth-3dhp] [--seed N]
    posekit train METHOD --data NAME [--root DIR] [--keypoints K] [--split S] [--profile P] --out DIR [--frames T]
                  [--epochs N] [--batch-size B] [--lr LR] [--seed N] [--threads N] [--resume | --overwrite]
    posekit eval [METHOD] --checkpoint FILE --data NAME [--root DIR] [--split S] [--profile P] [--out DIR]
    posekit eval METHOD --checkpoint FILE --data NAME --root DIR --protocol NAME [--keypoints K] [--out DIR]
    posekit import METHOD FILE --out model.pt        (an official released checkpoint; see data/README.md)
    posekit complexity MODEL --config paper|gpu|cpu|smoke [--frames T] [--json] [--latency N]
    posekit notebooks [NAMES ...] --profile P --out DIR
    posekit bench [--profile cpu] [--device cpu|cuda]

A method may replace the generic loop with its own `fit` / `evaluate` (`posekit.models.trainer_for`). The clip length
of a run is the model's configuration for the profile (its CONFIGS entry, e.g. 27 frames for MixSTE at 'cpu', 9 for
ConvFormer's small model) unless --frames says otherwise; every run prints it. The joint set is the dataset's
(HumanEva-I: 15 joints). `--profile` defaults to $POSEKIT_PROFILE, else 'auto'.

Every run is repeatable: the seed is set before the model is built, and the run card (`posekit.runcard`) is
written to run.json, metrics.json and model.pt. A folder holding a run is only continued with --resume or replaced
with --overwrite. The model is saved before it is evaluated. Any posekit or OS error ends the command with one line
on stderr and exit status 2; Ctrl-C with one line naming the epoch and the command that resumes (status 130).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from . import models, profiles, runcard
from . import train as training
from .checkpoints import build_for, read_checkpoint
from .floors import floors, format_floors
from .rundata import load_run_data

INTERRUPTED = 130


def cmd_data(args) -> int:
    from .data.synthetic import ensure_synthetic
    folder = ensure_synthetic(args.name, root=args.out, seed=args.seed)
    print(folder)
    return 0


def _method(name: str) -> str:
    if name not in models.REGISTRY:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(models.model_names())}")
    return name


def cmd_train(args) -> int:
    method, profile = _method(args.method), profiles.get_profile(args.profile)
    out = Path(args.out)
    runcard.prepare_output(out)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_run_data(args, profile, training=True)
    seed = 0 if args.seed is None else args.seed
    overrides = {k: v for k, v in dict(epochs=args.epochs, seed=args.seed, device=args.device, frames=args.frames,
                                       batch_size=args.batch_size, lr=args.lr, threads=args.threads).items()
                 if v is not None}
    config = training.TrainConfig.from_profile(
        profile, checkpoint_dir=str(out / "checkpoint"), resume=args.resume,
        **{k: v for k, v in overrides.items() if k not in ("frames", "threads", "seed")}, seed=seed)
    training.seed_everything(seed)  # before the model is built: its initial weights come from this seed
    model = build_for(method, profile.name, args.frames, data.train.skeleton, data.input_joints)
    card = runcard.make_card(method=method, configuration=profile.name, overrides=overrides, model=model,
                             profile=profile.name, dataset=data.full, root=args.root, keypoints=data.keypoints,
                             split=data.split, config=config, device=str(training.resolve_device(config.device)))
    primary = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 touches the folder
    if primary:
        start = runcard.claim_folder(out, card, args.resume, args.overwrite)
        if start:
            card["resumed_from_epoch"] = start
            print(f"posekit train: resuming {out} from epoch {start + 1} of {config.epochs} (epochs 1-{start} are "
                  f"in {out / 'checkpoint' / 'last.pt'})", file=sys.stderr)
        runcard.write_card(out, card)
    print(f"posekit train: {method} at configuration {profile.name!r}, clip length {model.receptive_field} frames, "
          f"{card['joints']} joints, seed {seed}", file=sys.stderr)
    trainer = models.trainer_for(method)
    t0 = time.perf_counter()
    try:
        history = trainer.fit(model, data.train, config, val=None)
    except KeyboardInterrupt:
        done = runcard.epochs_saved(out)
        saved = (f"epochs 1-{done} are saved in {out / 'checkpoint' / 'last.pt'}; resume with: "
                 f"{runcard.resume_command(args.argv)}") if done else \
            f"no epoch finished, nothing saved; start again with: posekit {' '.join(args.argv)}"
        print(f"posekit train: interrupted in epoch {done + 1} of {config.epochs}; {saved}", file=sys.stderr)
        return INTERRUPTED
    except FloatingPointError as exc:
        raise FloatingPointError(f"{exc} On the command line: rerun with --overwrite and a lower --lr.") from None
    train_seconds = time.perf_counter() - t0
    if not primary:
        return 0
    card["epochs_done"] = len(history.records)
    torch.save({"model": model.state_dict(), "method": method, "config": profile.name,
                "frames": int(model.receptive_field), "joints": card["joints"], "skeleton": card["skeleton"],
                "run": card}, out / "model.pt")  # saved before evaluation: a failed evaluation loses no training
    runcard.write_card(out, card)
    try:
        t1 = time.perf_counter()
        result = trainer.evaluate(model, data.evaluation)
        eval_seconds = time.perf_counter() - t1
    except (ValueError, FloatingPointError) as exc:
        raise type(exc)(f"{exc} (the trained model is saved: {out / 'model.pt'})") from None
    floor = floors(data.train, data.evaluation)
    metrics = {"run": card, "params": models.count_parameters(model), "train_seconds": train_seconds,
               "eval_seconds": eval_seconds, **result.summary(), **floor,
               "eval_frames": result.frames, "per_action": result.per_action, "history": history.records}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("per_action", "history", "run")}, indent=1))
    print(format_floors(floor, result.mpjpe))
    return 0


def cmd_eval(args) -> int:
    if args.protocol:
        from .protocols.command import run as run_protocol
        return run_protocol(args)
    state = read_checkpoint(Path(args.checkpoint))
    method = state.get("method") or (args.method and _method(args.method))
    if not method:
        raise ValueError(f"{args.checkpoint} names no method (not a model.pt of posekit train): pass METHOD")
    if args.method and args.method != method:
        raise ValueError(f"{args.checkpoint} holds a {method!r} model, not {args.method!r}: drop METHOD or pass "
                         f"{method!r}")
    card = state.get("run", {})
    configuration = state.get("config") or profiles.get_profile(args.profile).name
    frames = state.get("frames")
    if args.frames and frames and args.frames != frames:
        raise ValueError(f"{args.checkpoint} was trained with clip length {frames}, not --frames {args.frames}: "
                         f"drop --frames")
    profile = profiles.get_profile(args.profile or card.get("profile") or configuration)
    data = load_run_data(args, profile, training=False)
    joints = state.get("joints", 17)
    if data.evaluation.skeleton.num_joints != joints:
        raise ValueError(f"{args.checkpoint} predicts {joints} joints but {data.full.name} has "
                         f"{data.evaluation.skeleton.num_joints}: evaluate it on a dataset with its joint set "
                         f"({state.get('skeleton', 'h36m')})")
    model = build_for(method, configuration, frames, data.evaluation.skeleton, data.input_joints)
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise ValueError(f"{args.checkpoint} does not fit a {method} at configuration {configuration!r} with "
                         f"{frames} frames ({first})") from None
    if card.get("profile") and card["profile"] != profile.name:
        print(f"posekit eval: note: the model was trained with profile {card['profile']!r}; evaluating on the "
              f"{profile.name!r} profile's test set", file=sys.stderr)
    print(f"posekit eval: {method} at configuration {configuration!r} (from the checkpoint), clip length "
          f"{model.receptive_field} frames", file=sys.stderr)
    result = models.trainer_for(method).evaluate(model, data.evaluation)
    summary = {"method": method, "configuration": configuration, "frames": frames, "dataset": data.full.name,
               "split": data.split, "profile": profile.name, "checkpoint": str(args.checkpoint),
               **result.summary(), "eval_frames": result.frames, "per_action": result.per_action}
    if args.out:
        runcard.prepare_output(Path(args.out))
        (Path(args.out) / "metrics.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


def cmd_import(args) -> int:
    from .weights.command import run
    return run(args)


def cmd_complexity(args) -> int:
    from .complexity import report
    model = models.build_model(args.model, config=args.config, frames=args.frames)
    row = {"model": args.model, "config": args.config,
           **report(model, latency_repeats=args.latency, device=args.device)}
    if args.json:
        print(json.dumps(row, indent=1))
    else:
        print(f"{args.model} ({args.config}, {row['frames']} frames)")
        print(f"  parameters:             {row['params']:,}")
        print(f"  FLOPs, papers' convention (Linear/Conv, 2 x MACs): {row['flops_linear'] / 1e9:.2f} G per clip, "
              f"{row['flops_linear_per_frame'] / 1e6:.1f} M per output frame")
        print(f"  FLOPs, full count (torch.utils.flop_counter):       {row['flops_full'] / 1e9:.2f} G per clip")
        if args.latency:
            print(f"  latency ({args.device}, batch 1): {row['latency_median_ms']:.2f} ms median")
    return 0


def cmd_notebooks(args) -> int:
    try:
        import papermill
    except ImportError:
        raise ImportError("papermill is needed to execute notebooks; it is part of the dev extra: pip install -e '.[dev]' (or "
                          "pip install papermill)") from None
    root = Path(__file__).resolve().parent.parent / "notebooks"
    paths = sorted(root.glob("*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem == n or p.stem.startswith(n) or p.stem.endswith(n) for n in args.names)]
        if not paths:
            raise ValueError(f"no notebook matches {args.names}; have {[p.stem for p in sorted(root.glob('*.ipynb'))]}")
    out = Path(args.out)
    runcard.prepare_output(out)
    for path in paths:
        t0 = time.perf_counter()
        papermill.execute_notebook(str(path), str(out / path.name), parameters={"PROFILE": args.profile},
                                   cwd=str(root), progress_bar=False)
        print(f"{path.name}: {time.perf_counter() - t0:.0f} s -> {out / path.name}")
    return 0


def cmd_bench(args) -> int:
    from .bench import main as bench_main
    return bench_main(profile=args.profile, device=args.device)


def cmd_leaderboard(args) -> int:
    from . import leaderboard
    profile = profiles.get_profile(args.profile)
    settings = tuple(args.setting or [leaderboard.MAIN])
    seeds = list(range(args.seeds)) if args.seeds else None
    board = leaderboard.run(profile, methods=tuple(args.methods or leaderboard.METHODS), settings=settings,
                            seeds=seeds, retrain=args.retrain)
    paths = board.write(args.out)
    print(board.markdown())
    print(f"wrote {paths['csv']} and {paths['md']}")
    if args.readme:
        leaderboard.update_readme(args.readme, board)
        print(f"updated the leaderboard table of {args.readme}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (usage is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="posekit", description="posekit: 3D human pose estimation course kit")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    d = sub.add_parser("data", help="generate the embedded synthetic dataset")
    d.add_argument("what", choices=["synth"], help="only 'synth'; real datasets are described in data/README.md")
    d.add_argument("--name", default="synth", choices=["synth", "synth-3dhp", "synth-3dhp-cams"])
    d.add_argument("--out", default=None, help="cache folder (default $POSEKIT_CACHE or ~/.cache/posekit)")
    d.add_argument("--seed", type=_count(0), default=0)
    d.set_defaults(func=cmd_data)

    for name, func in (("train", cmd_train), ("eval", cmd_eval)):
        t = sub.add_parser(name, help=f"{name} a method")
        t.add_argument("method", nargs=None if name == "train" else "?",
                       help="registered model name" + ("" if name == "train" else " (default: the checkpoint's)"))
        t.add_argument("--data", default="synth")
        t.add_argument("--root", default=None, help="dataset folder (real datasets; see data/README.md)")
        t.add_argument("--keypoints", default=None,
                       help="2D input: det (detector-like; default) or gt (3dhp and 3dpw: gt only, the default)")
        t.add_argument("--split", default="test", choices=["test", "validation", "train"],
                       help="the split evaluated (validation: 3DPW's); training always uses the training split")
        t.add_argument("--profile", default=None, help="smoke, cpu, gpu, paper or auto (default $POSEKIT_PROFILE)")
        t.add_argument("--frames", type=_count(1), default=None,
                       help="clip length (default: the model's configuration for the profile, printed at the start)")
        t.add_argument("--out", required=(name == "train"), default=None)
        if name == "train":
            t.add_argument("--epochs", type=_count(1), default=None)
            t.add_argument("--batch-size", type=_count(1), default=None)
            t.add_argument("--lr", type=_positive_float, default=None)
            t.add_argument("--seed", type=_count(0), default=None, help="default 0")
            t.add_argument("--threads", type=_count(1), default=None, help="torch CPU threads (default: torch's)")
            t.add_argument("--device", default=None)
            t.add_argument("--resume", action="store_true", help="continue the run in --out")
            t.add_argument("--overwrite", action="store_true", help="delete the run in --out and start afresh")
        else:
            t.add_argument("--checkpoint", required=True, help="the model.pt written by posekit train")
            t.add_argument("--protocol", default=None,
                           help="a published evaluation protocol (posekit.protocols.PROTOCOLS); writes a "
                                "reproduction card")
            t.add_argument("--device", default="auto")
        t.set_defaults(func=func)

    from .weights.command import add_arguments as import_arguments
    i = sub.add_parser("import", help="import an official released checkpoint")
    import_arguments(i)
    i.set_defaults(func=cmd_import)

    c = sub.add_parser("complexity", help="parameters, FLOPs and latency of a model")
    c.add_argument("model")
    c.add_argument("--config", default="paper", choices=models.CONFIG_NAMES)
    c.add_argument("--frames", type=_count(1), default=None)
    c.add_argument("--json", action="store_true")
    c.add_argument("--latency", type=_count(0), default=0, metavar="N", help="time N forward passes")
    c.add_argument("--device", default="cpu")
    c.set_defaults(func=cmd_complexity)

    n = sub.add_parser("notebooks", help="execute notebooks with papermill")
    n.add_argument("names", nargs="*")
    n.add_argument("--profile", default="smoke")
    n.add_argument("--out", default="runs/notebooks")
    n.set_defaults(func=cmd_notebooks)

    b = sub.add_parser("bench", help="print the benchmark table")
    b.add_argument("--profile", default="cpu")
    b.add_argument("--device", default="auto")
    b.set_defaults(func=cmd_bench)

    from .leaderboard import METHODS, SETTINGS
    lb = sub.add_parser("leaderboard", help="every lifting method on the same data, budget and seeds (CSV + markdown)")
    lb.add_argument("--profile", default=None, help="smoke, cpu, gpu or auto (default $POSEKIT_PROFILE)")
    lb.add_argument("--out", required=True, help="folder for leaderboard.csv and leaderboard.md")
    lb.add_argument("--methods", nargs="+", choices=METHODS, default=None, help="default: all")
    lb.add_argument("--setting", action="append", choices=list(SETTINGS), default=None,
                    help="repeatable; default: the main one (synth, detector 2D)")
    lb.add_argument("--seeds", type=_count(1), default=None, help="default: the profile's")
    lb.add_argument("--retrain", action="store_true", help="train every arm afresh instead of using the run cache")
    lb.add_argument("--readme", default=None, help="also replace the generated table in this README")
    lb.set_defaults(func=cmd_leaderboard)
    return p


# What a user's input can raise anywhere in posekit; DatasetFileError is a FileNotFoundError (an OSError).
USER_ERRORS = (ValueError, KeyError, RuntimeError, FloatingPointError, OSError, ImportError)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed on one line (2)
        return int(exc.code or 0)
    args.argv = argv
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"posekit {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        if isinstance(exc, OSError) and not message and exc.filename:
            message = f"{exc.strerror}: {exc.filename}"
        print(f"posekit {args.command}: {' '.join(str(message).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
