"""Every benchmark script takes --help (which never starts a run), --quick and --out (argparse)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if p.name != "common.py")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_help_lists_quick_and_out_and_runs_nothing(script, tmp_path):
    before = {p: p.stat().st_mtime for p in (BENCH / "results").glob("*")}
    proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "--quick" in proc.stdout and "--out" in proc.stdout
    assert list(tmp_path.iterdir()) == []
    assert {p: p.stat().st_mtime for p in (BENCH / "results").glob("*")} == before
