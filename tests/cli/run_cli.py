"""`cli(*args)`: run the installed `product-studio` command in a child process, as a user would.

Imported by the CLI tests (pytest puts this folder on sys.path: the tests have no __init__.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The command's exit code, stdout and stderr; the entry-point script when it is installed."""
    script = Path(sys.executable).parent / "product-studio"
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from product_studio.cli.app import main; main()"]
    return subprocess.run(command + list(args), check=False, capture_output=True, text=True, timeout=timeout)
