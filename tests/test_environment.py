"""environment.yml installs what pyproject.toml declares."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    python = next(d for d in conda if d.startswith("python"))
    assert project["requires-python"] in python          # same lower bound, ">=3.10"
    assert "-e .[dev]" in pip                           # the package itself with its dev extra
    torch_project = next(d for d in project["dependencies"] if re.match(r"torch\b", d))
    torch_env = [d for d in pip if re.match(r"torch\b", d)]
    assert torch_env == [torch_project]                 # the same range, installed before the package
    assert pip.index(torch_env[0]) < pip.index("-e .[dev]")
    assert "dev" in project["optional-dependencies"]
