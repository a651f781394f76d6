"""The folders are the design's layers: each imports only the layers below it, never back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Highest layer first; a package may import only packages listed after it.
LAYERS = ["pages", "components", "deliberate", "strategies", "core"]
# Inside core, the same rule: problems lean on verifiers (grading), verifiers on providers (judges).
CORE_ORDER = ["core.problems", "core.verifiers", "core.providers"]


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_never_imports_a_layer_above_it(layer: str) -> None:
    above = set(LAYERS[: LAYERS.index(layer)])
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files, f"{layer}/ holds no modules"
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imported_packages(path)
        if layer_of(name) in above
    }
    assert not offenders


def test_core_subpackages_import_downwards_only() -> None:
    for i, package in enumerate(CORE_ORDER):
        folder = ROOT / package.replace(".", "/")
        above = CORE_ORDER[:i]
        for path in folder.rglob("*.py"):
            for name in imported_packages(path):
                assert not any(name.startswith(a) for a in above), f"{path} imports {name}"


def test_strategies_and_engine_never_import_streamlit() -> None:
    for layer in ("deliberate", "strategies", "core"):
        for path in (ROOT / layer).rglob("*.py"):
            assert not any(n.split(".")[0] == "streamlit" for n in imported_packages(path)), path


def test_the_app_entry_point_names_the_pages_folder() -> None:
    pages = sorted(p.name for p in (ROOT / "pages").glob("*.py"))
    source = (ROOT / "app.py").read_text()
    assert pages and all(f'"pages/{name}"' in source for name in pages)


def test_streamlit_does_no_work_that_starves_the_model_thread():
    """Both held the GIL for most of a watched run (py-spy, benchmarks/live_page.py)."""
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"
