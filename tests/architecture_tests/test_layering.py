"""The layering contracts (pyproject.toml, [tool.importlinter]) hold, and they catch what
they are for: a copy of the tree with one wrong import added fails with the layer named."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["ovarian_web", "studies", "inference", "annotation", "base"]
LINT = [str(Path(sys.executable).with_name("lint-imports")), "--no-logo", "--no-cache"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(LINT, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the packages and the contracts, to add a wrong import to."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_import(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_a_lower_layer_importing_a_higher_one_fails_naming_the_layers(tree):
    assert _lint(tree).returncode == 0
    _add_import(tree, "annotation.services", "from inference import scoring  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "Layers: project root > studies > inference > annotation > base BROKEN" in result.stdout
    assert "annotation.services -> inference.scoring" in result.stdout


def test_the_base_layer_may_not_import_the_project_root(tree):
    assert _lint(tree).returncode == 0
    _add_import(tree, "base.jobs", "from ovarian_web import settings  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "base.jobs -> ovarian_web.settings" in result.stdout


def test_a_core_importing_django_fails(tree):
    assert _lint(tree).returncode == 0
    _add_import(tree, "studies.stats.roc", "import django  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "Django-free cores import neither Django nor any app BROKEN" in result.stdout


def test_an_import_loop_fails(tree):
    assert _lint(tree).returncode == 0
    # studies.results imports studies.reading; the reverse closes a loop between siblings.
    _add_import(tree, "studies.reading.progress", "import studies.results.sources  # noqa")
    result = _lint(tree)
    assert result.returncode == 1
    assert "No import loops BROKEN" in result.stdout
    assert "No cycles are allowed in studies.\n" in result.stdout
