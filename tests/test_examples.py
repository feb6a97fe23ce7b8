"""docs/EXAMPLES.md: every ```python block runs, in order, in one namespace, in a fresh
directory (what a reader pasting them would get)."""

import re
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "docs" / "EXAMPLES.md"


def test_every_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", EXAMPLES.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{EXAMPLES.name} block {i + 1}", "exec"), namespace)
    assert (tmp_path / "cross_section.png").stat().st_size > 10_000
    assert (tmp_path / "stack_impedance.csv").read_text().startswith("frequency_Hz,")
