"""The architecture holds: imports run one way, modules stay small, the model contract serves any model."""
import ast
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from posekit import bench, complexity
from posekit.evaluation import EvalResult, evaluate
from posekit.models import build_model, model_names
from posekit.nn.contract import PoseModel
from posekit.train import TrainConfig, fit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "posekit"


def _imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports (relative imports resolved against the package)."""
    tree = ast.parse(path.read_text())
    here = path.relative_to(ROOT).with_suffix("").parts
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here[:len(here) - node.level]
                base = ".".join(parent + ((base,) if base else ()))
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def _low_level_modules():
    return sorted((PACKAGE / "nn").rglob("*.py")) + sorted((PACKAGE / "methods").glob("*/model.py"))


def test_networks_and_paper_models_do_not_import_the_registry_the_loop_or_matplotlib():
    forbidden = ("posekit.models", "posekit.train", "posekit.experiment", "matplotlib", "posekit.viz")
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.startswith(forbidden))
                 for p in _low_level_modules()}
    assert len(_low_level_modules()) > 5
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_paper_is_a_package_with_a_model_module():
    papers = [p for p in (PACKAGE / "methods").iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert not list((PACKAGE / "methods").glob("[!_]*.py")), "paper modules live in packages: methods/<paper>/"
    assert {p.name for p in papers} >= {"ktpformer", "poseda", "convformer", "hot", "uao", "glagcn"}
    for p in papers:
        assert (p / "model.py").is_file() and (p / "__init__.py").is_file(), p


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_nothing_points_to_the_team_notes_outside_the_repository():
    pattern = re.compile("shared/" + "reference|DESIGN" + r"\.md")
    hits = [str(p.relative_to(ROOT)) for folder in ("posekit", "notebooks", "tests", "ci", "data")
            for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in (".py", ".ipynb", ".md", ".sh")
            and pattern.search(p.read_text(errors="ignore"))]
    assert hits == []


@pytest.mark.parametrize("name", model_names())
def test_every_registered_model_follows_the_contract(name):
    model = build_model(name, "smoke").eval()
    assert isinstance(model, PoseModel) and model.output in ("sequence", "center")
    x = model.example_input(2)
    with torch.no_grad():
        out = model(x)
    pose = out[0] if isinstance(out, (tuple, list)) else out
    frames = model.receptive_field if model.output == "sequence" else 1
    assert pose.shape[0] == 2 and pose.shape[1] == frames and pose.shape[-1] == 3


class TinyImageModel(nn.Module):
    """An image model of the contract: (B, 3, 16, 16) images -> (B, 1, J, 3) root-relative joints."""

    receptive_field, output = 1, "center"

    def __init__(self, joints: int = 5):
        super().__init__()
        self.joints = joints
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(8 * 8 * 8, joints * 3))

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.randn(batch, 3, 16, 16)

    def forward(self, x):
        return self.net(x).reshape(len(x), 1, self.joints, 3)


class ImageBatches:
    """A batch source of images whose 3D targets are a fixed linear function of the pixels (learnable)."""

    def __init__(self, n: int = 96, joints: int = 5, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.images = torch.randn(n, 3, 16, 16, generator=g)
        w = torch.randn(3 * 16 * 16, joints * 3, generator=g) * 0.01
        self.targets = (self.images.reshape(n, -1) @ w).reshape(n, 1, joints, 3)

    def batches(self, batch_size, rng=None, flip=False, max_items=None, shard=(0, 1)):
        order = rng.permutation(len(self.images)) if rng is not None else np.arange(len(self.images))
        order = order[:max_items][shard[0]::shard[1]]
        for i in range(0, len(order), batch_size):
            sel = torch.from_numpy(order[i:i + batch_size])
            yield self.images[sel], self.targets[sel]

    def num_batches(self, batch_size, max_items=None, world=1):
        n = len(self.images) if max_items is None else min(len(self.images), max_items)
        return math.ceil(n // world / batch_size)


def test_an_image_model_plugs_into_fit_evaluate_complexity_and_bench():
    torch.manual_seed(0)
    model, data = TinyImageModel(), ImageBatches()
    before = evaluate(model, data, device="cpu").mpjpe
    history = fit(model, data, TrainConfig(epochs=4, batch_size=16, lr=3e-3, progress=False, device="cpu",
                                           flip_augment=False), val=ImageBatches(32, seed=0))
    result = evaluate(model, data, device="cpu")
    assert isinstance(result, EvalResult) and result.frames == 96 and result.per_joint.shape == (5,)
    assert history["loss"][-1] < history["loss"][0] and result.mpjpe < before
    assert all(math.isfinite(v) for v in history["val_mpjpe"])
    row = complexity.report(model)
    assert row["params"] == sum(p.numel() for p in model.parameters()) and row["flops_linear"] > 0
    assert bench._train_throughput(model, 8, torch.device("cpu"), steps=1) > 0


def test_a_model_outside_the_contract_gets_a_clear_error():
    with pytest.raises(TypeError, match="example_input"):
        complexity.flops_linear(nn.Linear(2, 3))
