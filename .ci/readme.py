#!/usr/bin/env python3
"""README.md is generated from nbs/index.ipynb without Quarto (nbconvert's markdown exporter).

--write regenerates it; --check fails when README.md is stale. Cells flagged `#| hide` are dropped, nbdev directives
are stripped from code cells, and image links are made relative to the repository root. A code cell flagged
`#| output: asis` is *executed* (in one namespace, from nbs/, in order) and replaced by what it prints, as markdown:
that is how the README's result tables are computed from the committed CSVs, so they cannot drift from them."""
import contextlib, io, os, re, sys, pathlib
import nbformat
from nbconvert import MarkdownExporter

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = "<!-- generated from nbs/index.ipynb by .ci/readme.py: do not edit -->\n\n"

def _flags(src: str) -> list[str]: return [l for l in src.splitlines() if l.startswith("#|")]

def render() -> str:
    nb = nbformat.read(ROOT / "nbs" / "index.ipynb", as_version=4)
    cells, ns, cwd = [], {}, os.getcwd()
    os.chdir(ROOT / "nbs")
    try:
        for c in nb.cells:
            if c.cell_type == "code":
                flags = _flags(c.source)
                if any(re.match(r"#\|\s*output:\s*asis", l) for l in flags):
                    buf = io.StringIO()
                    with contextlib.redirect_stdout(buf): exec(compile(c.source, "index.ipynb", "exec"), ns)
                    cells.append(nbformat.v4.new_markdown_cell(buf.getvalue().strip()))
                    continue
                if any(re.match(r"#\|\s*(hide|eval:\s*false|default_exp)", l) for l in flags): continue
                c.source = "\n".join(l for l in c.source.splitlines() if not l.startswith("#|")).strip("\n")
                c.outputs = []
            cells.append(c)
    finally: os.chdir(cwd)
    nb.cells = cells
    body, _ = MarkdownExporter().from_notebook_node(nb)
    body = re.sub(r"\]\((?!https?://|/|#|nbs/)([^)]+)\)", lambda m: f"](nbs/{m.group(1)})", body)   # links relative to nbs/
    body = re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"
    return HEADER + body

if __name__ == "__main__":
    text, path = render(), ROOT / "README.md"
    if "--write" in sys.argv: path.write_text(text); print("wrote README.md")
    elif "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb and the committed results: run `make readme` "
                     "(python .ci/readme.py --write) and commit")
        print("README.md is in sync with nbs/index.ipynb and the committed results")
    else: sys.exit(__doc__)
