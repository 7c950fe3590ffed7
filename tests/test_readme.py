"""Every code block of the README runs as written, on its own (python blocks exec'd, tn-mincut lines run)."""

import re
import shlex
from pathlib import Path

import pytest

from analysis.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, flags=re.S)
SETUP = "python3 -m venv"  # the two setup commands: CI runs them (.ci/run), not this test


def test_readme_has_blocks():
    kinds = [kind for kind, _ in BLOCKS]
    assert kinds.count("python") >= 3 and kinds.count("bash") >= 3


@pytest.mark.parametrize("index", [k for k, (kind, _) in enumerate(BLOCKS) if kind == "python"])
def test_python_block(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index][1], f"README block {index}", "exec"), {"__name__": "__readme__"})


def _commands(text):
    for line in text.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("tn-mincut"):
            yield line


@pytest.mark.parametrize("index", [k for k, (kind, text) in enumerate(BLOCKS) if kind == "bash" and SETUP not in text
                                   and "tn-mincut" in text])
def test_cli_block(index, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")  # the block draws
    monkeypatch.chdir(tmp_path)
    for line in _commands(BLOCKS[index][1]):
        words = shlex.split(line)[1:]
        target = None
        if ">" in words:
            k = words.index(">")
            words, target = words[:k], words[k + 1]
        assert main(words) == 0, (line, capsys.readouterr().err)
        out = capsys.readouterr().out
        if target:
            Path(target).write_text(out)
        assert out.strip(), line
