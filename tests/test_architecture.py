"""The layers of docs/architecture.md hold: checked by import-linter (``make lint``) and here.

These tests show that the checks bite: a deliberate upward import in a copy of the tree fails
the layer contract, and no module takes a private name from another module.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
HAVEN = REPO / "haven"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts: list[dict[str, object]] = config["contracts"]
    return contracts


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=300, check=False, env={"PYTHONPATH": str(root), "PATH": ""})


def test_layers_are_the_documented_ones() -> None:
    layers = next(c for c in _contracts() if c["id"] == "layers")
    assert layers["type"] == "layers"
    assert layers["layers"][-1] == "haven.core"  # type: ignore[index]
    level = {name.strip(): i for i, layer in enumerate(layers["layers"])  # type: ignore[arg-type]
             for name in layer.replace("|", ":").split(":")}
    for lower, higher in [("haven.core", "haven.keyring"), ("haven.audit", "haven.cases"),
                          ("haven.access", "haven.people"), ("haven.pathways", "haven.dashboard"),
                          ("haven.keyring", "haven.intake"), ("haven.accounts", "haven.housing")]:
        assert level[higher] < level[lower], (higher, lower)
    # The only exceptions: the policy (and its area modules, policy_<area>) imports the models
    # it judges, nothing else of theirs.
    for ignored in layers.get("ignore_imports", []):  # type: ignore[attr-defined]
        source, target = (part.strip() for part in ignored.split("->"))
        assert source == "haven.access.policy" or source.startswith("haven.access.policy_"), ignored
        assert target.endswith(".models"), ignored


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the tree passes; the same copy with core importing a domain app fails."""
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(HAVEN, tmp_path / "haven",
                    ignore=shutil.ignore_patterns("__pycache__", "templates", "static",
                                                  "locale", "data", "fonts", "migrations"))
    clean = _lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "BROKEN" not in clean.stdout
    errors = tmp_path / "haven" / "core" / "errors.py"
    errors.write_text(errors.read_text() + "\nfrom haven.cases import selectors  # upward\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode != 0
    assert "haven.core is not allowed to import haven.cases" in broken.stdout
    assert "haven.core.errors -> haven.cases.selectors" in broken.stdout


def test_no_import_cycle_between_modules() -> None:
    """No module imports, directly or through others, a module that imports it: no cycle is
    left hidden behind an import inside a function either (grimp sees those too)."""
    graph = grimp.build_graph("haven", cache_dir=None)
    cycles = sorted({tuple(sorted((module, imported))) for module in graph.modules
                     for imported in graph.find_modules_directly_imported_by(module)
                     if imported != module
                     and graph.chain_exists(importer=imported, imported=module)})
    assert cycles == []


def test_no_private_name_is_imported_from_another_package() -> None:
    """``from haven.x.y import _name`` only from inside ``haven.x.y``; a private module
    (``haven.x._mod``) only from inside ``haven.x``; no ``module._name`` reached across
    modules. (ruff's PLC2701 checks this for other packages, not within Haven.)"""
    found = []
    for path in HAVEN.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("haven"):
                parts = node.module.split(".")
                for i, part in enumerate(parts):
                    owner = ".".join(parts[:i])
                    if part.startswith("_") and not part.startswith("__") \
                            and module != owner and not module.startswith(owner + "."):
                        found.append(f"{module}: private module {node.module}")
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    aliases[alias.asname or alias.name] = full
                    if alias.name.startswith("_") and module != node.module:
                        found.append(f"{module}: {full}")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = aliases.get(node.value.id, "")
                if target.startswith("haven.") and node.attr.startswith("_") \
                        and not node.attr.startswith("__") and target != module:
                    found.append(f"{module}: {target}.{node.attr}")
    assert found == []


def test_production_settings_do_not_install_the_demo_app() -> None:
    """Demo organizations, invented data and `haven demo-code` exist only where
    ``haven.settings_demo`` (``make run``, tests, benchmarks) installs them."""
    script = ("import django; django.setup()\n"
              "from django.conf import settings\n"
              "from django.core.management import get_commands\n"
              "print('haven.demo' in settings.INSTALLED_APPS, "
              "sorted({'demo', 'democode', 'seed'} & set(get_commands())))\n")
    answers = []
    for module in ("haven.settings", "haven.settings_demo"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": module}
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        answers.append(done.stdout.strip())
    assert answers == ["False []", "True ['demo', 'democode', 'seed']"]


def test_no_module_over_600_lines() -> None:
    """A module that grows past this is split by resource (as ``pathways/services``)."""
    long = {str(p.relative_to(REPO)): n for p in HAVEN.rglob("*.py")
            if "migrations" not in p.parts and (n := len(p.read_text().splitlines())) > 600}
    assert long == {}
