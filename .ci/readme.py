#!/usr/bin/env python3
"""README.md is generated from nbs/index.ipynb without Quarto (nbconvert's markdown exporter).

--write regenerates it; --check fails when README.md is stale. Cells flagged `#| hide` are dropped, nbdev
directives are stripped from code cells, and image links are made relative to the repository root."""
import re, sys, pathlib
import nbformat
from nbconvert import MarkdownExporter

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = "<!-- generated from nbs/index.ipynb by .ci/readme.py: do not edit -->\n\n"

def render() -> str:
    nb = nbformat.read(ROOT / "nbs" / "index.ipynb", as_version=4)
    cells = []
    for c in nb.cells:
        if c.cell_type == "code":
            lines = c.source.splitlines()
            if any(re.match(r"#\|\s*(hide|eval:\s*false|default_exp)", l) for l in lines): continue
            c.source = "\n".join(l for l in lines if not l.startswith("#|")).strip("\n")
            c.outputs = []
        cells.append(c)
    nb.cells = cells
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = re.sub(r"\]\((?!https?://|/|#)([^)]+)\)", lambda m: f"](nbs/{m.group(1)})", body)   # links relative to nbs/
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return HEADER + body

if __name__ == "__main__":
    text, path = render(), ROOT / "README.md"
    if "--write" in sys.argv: path.write_text(text); print("wrote README.md")
    elif "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `make readme` (python .ci/readme.py --write) and commit")
        print("README.md is in sync with nbs/index.ipynb")
    else: sys.exit(__doc__)
