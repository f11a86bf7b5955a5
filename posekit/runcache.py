"""The run cache: every arm trained through `posekit.experiment.run_arm` is kept, keyed by what determines it.

An arm is fixed by its method and configuration, the data it trains and is scored on, its budget and seed, the
training and evaluation procedures, and the code that runs them. `run_key` hashes all of these (the data by content,
the code as the hash of every posekit source the arm depends on, the shared core and the method's own package, so
any change there starts afresh) and `store`/`load` keep the trained weights, the learning curve, the test result and
the identity itself under $POSEKIT_CACHE/runs/<key>/. Two notebooks that train the same baseline (01 KTPFormer and
04 HoT both train MixSTE) share it, and a student re-running a notebook gets the trained arms back at once. Anything
the cache cannot identify (a model builder or a training function defined outside posekit, data it cannot hash) is
simply trained, never guessed.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
import warnings
import weakref
from pathlib import Path

import numpy as np
import torch

from .cache import cache_root

RETRAIN_VARIABLE = "POSEKIT_RETRAIN"


def runs_dir() -> Path:
    """$POSEKIT_CACHE/runs (default ~/.cache/posekit/runs)."""
    return cache_root() / "runs"


def retrain_requested() -> bool:
    """True when $POSEKIT_RETRAIN is set to 1/true/yes: every arm trains afresh (and replaces its cached copy)."""
    return os.environ.get(RETRAIN_VARIABLE, "").strip().lower() in ("1", "true", "yes")


# Sources that present, time or compare finished runs but never change how an arm trains or what it scores: editing
# them keeps every cached arm.
_TOOLING = ("video/", "viz/", "weights/", "leaderboard.py", "bench.py", "bench_official.py", "cli.py",
            "methods/_comparison.py")


def source_files(packages=frozenset()) -> list[Path]:
    """The posekit sources an arm depends on: the shared core, plus the method packages named in `packages`.

    The other methods' packages (posekit/methods/<name>/) and the tooling in `_TOOLING` are left out: a method's
    package never imports another's, so editing 05's renderer losses does not void the cached lifters of 01.
    """
    package = Path(__file__).resolve().parent
    files = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith(_TOOLING):
            continue
        parts = rel.split("/")
        if parts[0] == "methods" and len(parts) > 2 and parts[1] not in packages:
            continue
        files.append(path)
    return files


@functools.lru_cache(maxsize=None)
def code_version(packages: frozenset = frozenset()) -> str:
    """A hash of `source_files(packages)`: cached runs are valid for exactly the code that trained them."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in source_files(packages):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def method_packages(identity: dict) -> frozenset:
    """The method packages (posekit/methods/<name>/) an arm's identity involves: its registered model's and those
    of any posekit function in it (a builder, a training or evaluation procedure)."""
    from .models import REGISTRY
    modules = [REGISTRY[m].split(":")[0] for m in [identity.get("method")] if isinstance(m, str) and m in REGISTRY]
    modules += [getattr(v, "__module__", "") or "" for v in identity.values() if callable(v)]
    return frozenset(m.split(".")[2] for m in modules if m.startswith("posekit.methods.") and m.count(".") >= 2)


class Unidentifiable(Exception):
    """Raised inside `fingerprint` for a value the cache cannot identify; the arm is then trained uncached."""


def fingerprint(value) -> str:
    """A content hash of `value`: arrays and tensors by bytes, datasets by their sequences, posekit functions by name.

    Objects may define `fingerprint()` themselves; plain objects and dataclasses are hashed through their fields,
    except dataclass fields marked `metadata={"provenance": True}` (a dataset's `info`: the folder it was read from
    says where the data lives, not what it is, so a moved or copied cache still serves its arms).
    Raises `Unidentifiable` for what has no stable identity (functions defined outside posekit, open handles).
    The hash of a live dataset object is remembered (posekit never changes a dataset in place: every transform
    returns a new one), so the arms of one notebook hash their shared training set once.
    """
    seen = _SEEN.get(id(value))
    if seen is not None and seen[0]() is value:
        return seen[1]
    h = hashlib.sha256()
    _feed(h, value, 0)
    digest = h.hexdigest()[:20]
    try:
        _SEEN[id(value)] = (weakref.ref(value, lambda _, i=id(value): _SEEN.pop(i, None)), digest)
    except TypeError:                   # plain values (str, tuple, dict) cannot be weakly referenced: not remembered
        pass
    return digest


_SEEN: dict[int, tuple] = {}


def _feed(h, value, depth: int) -> None:
    if depth > 16:
        raise Unidentifiable("nested too deeply")
    if value is None or isinstance(value, (bool, int, float, str)):
        h.update(repr((type(value).__name__, value)).encode())
    elif isinstance(value, np.ndarray):
        h.update(f"nd{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, torch.Tensor):
        _feed(h, value.detach().cpu().numpy(), depth)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(h, item, depth + 1)
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}".encode())
        for k in sorted(value, key=repr):
            _feed(h, k, depth + 1)
            _feed(h, value[k], depth + 1)
    elif isinstance(value, functools.partial):
        _feed(h, (value.func, value.args, value.keywords), depth + 1)
    elif callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", "") or ""
        if not module.startswith("posekit") or "<" in value.__qualname__:
            raise Unidentifiable(f"{module}.{value.__qualname__} is not a posekit function")
        h.update(f"fn {module}.{value.__qualname__}".encode())
    elif hasattr(value, "fingerprint") and callable(value.fingerprint):
        h.update(f"fp {type(value).__qualname__} {value.fingerprint()}".encode())
    elif dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        h.update(f"obj {type(value).__module__}.{type(value).__qualname__}".encode())
        fields = ({f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                   if not f.metadata.get("provenance")} if dataclasses.is_dataclass(value) else vars(value))
        _feed(h, {k: v for k, v in fields.items() if not k.startswith("_")}, depth + 1)
    else:
        raise Unidentifiable(f"cannot identify a {type(value).__name__}")


def run_key(identity: dict) -> str | None:
    """The cache key of an arm described by `identity` (plus the code version), or None if it cannot be identified."""
    try:
        return fingerprint({**identity, "code": code_version(method_packages(identity)), "torch": torch.__version__})
    except Unidentifiable:
        return None


def store(key: str, identity: dict, state: dict, record: dict) -> Path:
    """Keep one trained arm: its weights (`state`), a `record` of plain values and tensors, and a readable card.

    Written to a temporary folder and renamed into place, so two processes finishing the same arm never leave a
    half-written entry (the second simply finds the first's).
    """
    folder = runs_dir() / key
    tmp = runs_dir() / f".{key}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({"state": state, "record": record}, tmp / "arm.pt")
    card = {"identity": {k: _readable(v) for k, v in identity.items()}, "code": code_version(method_packages(identity))}
    (tmp / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True))
    if folder.exists():
        shutil.rmtree(folder)
    try:
        os.replace(tmp, folder)
    except OSError:                     # another process stored the same arm first
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load(key: str) -> dict | None:
    """The stored {'state', 'record'} of `key`, or None when absent or unreadable (then the arm is trained again)."""
    path = runs_dir() / key / "arm.pt"
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:          # a truncated or foreign file: say so, then train afresh and replace it
        warnings.warn(f"run cache entry {path} is unreadable ({type(error).__name__}); training the arm afresh")
        return None


def _readable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_readable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _readable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _readable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    try:
        return f"<{type(value).__name__} {fingerprint(value)}>"
    except Unidentifiable:
        return f"<{type(value).__name__}>"


__all__ = ["runs_dir", "retrain_requested", "source_files", "code_version", "method_packages", "fingerprint",
           "Unidentifiable", "run_key", "store", "load", "RETRAIN_VARIABLE"]
