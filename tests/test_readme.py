"""The README's examples run, and its vocabulary table matches the code."""

import re
from pathlib import Path

import pytest

from ganlens.data import SCENE_VOCABULARY

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_python_examples_run(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever an example writes stays out of the checkout
    exec(compile(EXAMPLES[index], f"README example {index}", "exec"), {})


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


def test_vocabulary_table_matches_the_code():
    rows = re.findall(r"^\| (object|part|material) \| (.+) \|$", README, flags=re.M)
    documented = {
        (name, int(index), category)
        for category, cells in rows
        for name, index in re.findall(r"(\w+) \((\d+)\)", cells)
    }
    actual = {(c.name, c.index, c.category) for c in SCENE_VOCABULARY}
    assert documented == actual
