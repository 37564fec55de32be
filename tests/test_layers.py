"""The dependency rules of PRODUCT.md hold: `lint-imports` with the contracts in .importlinter.

Base layer (tenancy, audit, api, slots, ...) → no app; ledger → no consumer; ml → no
domain app; each consumer → only what PRODUCT.md allows; only the top layer (urls, celery,
health, api_root, beat, its commands) wires everything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_keeps_every_import_contract():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a test dependency (pyproject [test] extra)"
    result = subprocess.run(
        [lint_imports, "--no-cache"], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout
