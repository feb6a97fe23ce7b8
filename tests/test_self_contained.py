"""The repository stands alone: no config, docstring, doc or test cites a file outside
it (the design notes it was written from live elsewhere; docs/ holds their content)."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
# built from parts so that this file does not match itself
OUTSIDE = re.compile("|".join(re.escape(n + ".md") for n in ("PHYSICS", "DESIGN", "PAPER"))
                     + "|" + re.escape("../" + "shared"))  # fmt: skip


def test_nothing_cites_a_file_outside_the_repository():
    hits = []
    for pattern in ("configs/**/*.toml", "kmc/**/*.py", "kernels/**/*.py", "docs/**/*.md",
                    "docs/*.py", "tests/**/*.py", "benchmarks/*.py", "benchmarks/*.md",
                    "README.md", "kmc/data/*.toml"):  # fmt: skip
        for path in ROOT.glob(pattern):
            if "figures/runs" in str(path):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if OUTSIDE.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_every_cited_docs_section_exists():
    """A citation `docs/NAME.md, "Section"` names a heading of that file."""
    cite = re.compile(r'docs/([A-Z]+\.md), "([^"]+)"')
    missing, checked = [], 0
    for path in [*ROOT.glob("configs/**/*.toml"), *ROOT.glob("kmc/**/*.py"), ROOT / "README.md"]:
        for doc, section in cite.findall(path.read_text(encoding="utf-8")):
            checked += 1
            target = ROOT / "docs" / doc
            headings = [h.lstrip("#").strip() for h in target.read_text(encoding="utf-8")
                        .splitlines() if h.startswith("#")] if target.exists() else []  # fmt: skip
            if not any(h.startswith(section) for h in headings):
                missing.append(f"{path.relative_to(ROOT)} cites {doc}, {section!r}")
    assert checked >= 20 and not missing, "\n".join(missing) or f"only {checked} citations"
