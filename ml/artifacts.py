"""Artifact checksums (pure; re-exported by ml.registry)."""

from __future__ import annotations

import hashlib
from pathlib import Path


class ArtifactChecksumError(Exception):
    """The artifact on disk is not the one that was registered (tampered or corrupted)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    if not Path(path).exists():
        raise ArtifactChecksumError(f"artifact {path} does not exist")
    actual = file_sha256(Path(path))
    if actual != expected:
        raise ArtifactChecksumError(
            f"artifact {path} has sha256 {actual}, the registry expects {expected}"
        )
