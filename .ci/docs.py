#!/usr/bin/env python3
"""The documentation site, built without Quarto (nbs/99_docs_site.ipynb says why this way).

`python .ci/docs.py` (what `make docs` runs) vendors MathJax 3 from the npm registry (`npm pack`, cached under the
virtual environment, checked against a pinned sha512), then runs `mkdocs build`, which writes _site/.
Options: `--strict` fails on any warning, `--site-dir DIR` builds elsewhere, `--record CSV` appends the build's time
and size to CSV, `--serve` runs `mkdocs serve` (live preview) instead, `--sphinx` builds the same pages with Sphinx +
MyST-NB + autodoc to compare (nbs/99_docs_site.ipynb).

mkdocs.yml also loads this file as a hook:
- on_config stages nbs/ into _docs_src/: every chapter notebook with nbdev's directives applied (`#| hide` cells
  dropped, `#| echo: false` sources hidden, directive lines removed; nothing is executed except index.ipynb's
  `#| output: asis` cells, which .ci/readme.py runs for the README too: elsewhere such a cell needs the cells above it,
  so its source is shown), the figures they reference, one API page per
  module of isonb/ (mkdocstrings) and MathJax; and it sets the nav: index first, then nbs/*.ipynb in file-name order
  (titles from each notebook's H1), then the API reference.
- on_page_content removes the CDN <script>s nbconvert writes into every notebook page (MathJax 2, Mermaid): the site
  loads the vendored MathJax on every page instead. It points each notebook page's table of contents at its headings
  (mkdocs-jupyter's drops inline code, so its anchors miss), and moves the ~600 kB of CSS inlined in each notebook
  page into shared files under assets/nb/, so the browser caches it once.
"""
import ast, base64, contextlib, hashlib, html as htmllib, io, json, logging, os, re, resource, shutil, subprocess, sys, tarfile, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, LIB, SRC, SITE = ROOT / "nbs", ROOT / "isonb", ROOT / "_docs_src", ROOT / "_site"
MATHJAX_VERSION = "3.2.2"
MATHJAX_SHA512 = "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
MATHJAX_CACHE = Path(os.environ.get("ISONB_DOCS_CACHE", Path(sys.prefix) / "share" / "isonb-docs")) / f"mathjax-{MATHJAX_VERSION}"
# The parts of MathJax's es5/ build the site uses: TeX input with every extension bundled, CommonHTML output and its fonts.
MATHJAX_FILES = ("tex-chtml-full.js", "output/chtml/fonts/woff-v2")
HIDDEN_INPUT_TAG = "isonb-docs-hide-input"      # mkdocs.yml's remove_tag_config drops the source of cells tagged so
log = logging.getLogger("mkdocs.plugins.isonb_docs")

# ---------------------------------------------------------------- what the site holds
def chapters(nbs: Path = NBS) -> list:
    "The notebooks of the site in chapter order: index.ipynb first, then nbs/*.ipynb by file name (`_`/`.` names skipped)."
    nbs_ = sorted(p for p in nbs.glob("*.ipynb") if not p.name.startswith(("_", ".")) and p.name != "index.ipynb")
    return ([nbs / "index.ipynb"] if (nbs / "index.ipynb").exists() else []) + nbs_

def plain(md: str) -> str:
    "Markdown inline text as plain text: code ticks, emphasis markers and link targets removed."
    md = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", md)
    return re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", md).strip()

def title(nb: dict, default: str) -> str:
    "The text of the notebook's first H1 (`# ...` in a markdown cell), else `default`."
    for c in nb["cells"]:
        if c["cell_type"] != "markdown": continue
        for line in _src(c).splitlines():
            if line.startswith("# "): return plain(line[2:])
    return default

def modules(lib: Path = LIB) -> list:
    "Dotted names of isonb's modules with an API page: every .py file but _modidx and packages' empty __init__ files."
    out = []
    for p in sorted(lib.rglob("*.py")):
        if p.name == "_modidx.py" or "__pycache__" in p.parts: continue
        if p.name == "__init__.py" and "__all__" not in p.read_text(encoding="utf-8"): continue
        parts = p.relative_to(lib.parent).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out

def source_notebooks(mod: str, lib: Path = LIB) -> list:
    "The notebooks a module is exported from, read off nbdev's `# %% ../nbs/NAME.ipynb` cell markers."
    return list(dict.fromkeys(re.findall(r"^# %% [./]*nbs/([^/\s]+\.ipynb)", _module_file(mod, lib).read_text(encoding="utf-8"), re.M)))

def default_exp(nb: dict):
    "The module a notebook exports to (its `#| default_exp`), or None."
    for c in nb["cells"]:
        m = re.search(r"^#\|\s*default_exp\s+(\S+)", _src(c), re.M) if c["cell_type"] == "code" else None
        if m: return m.group(1)
    return None

# ---------------------------------------------------------------- notebooks as the site shows them
def _src(c: dict) -> str: return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]

def directives(src: str) -> dict:
    "nbdev/Quarto cell directives (`#| key: value` or `#| key`) at the top of a code cell, as {key: value}."
    out = {}
    for line in src.splitlines():
        if not line.startswith("#|"): break
        body = line[2:].strip()
        key, _, val = body.partition(":") if ":" in body else body.partition(" ")
        out[key.strip()] = val.strip() or True
    return out

def strip_directives(src: str) -> str: return "\n".join(l for l in src.splitlines() if not l.startswith("#|")).strip("\n")

def _false(v) -> bool: return str(v).lower() in ("false", "0", "no")

def run_asis(src: str, ns: dict, cwd: Path) -> str:
    "Run an `#| output: asis` cell in `ns` from `cwd` (as .ci/readme.py does for the README); return what it printed."
    buf, old = io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(buf): exec(compile(src, "<asis cell>", "exec"), ns)
    finally: os.chdir(old)
    return buf.getvalue().strip()

def doc_cells(nb: dict, nb_dir: Path, name: str, run_asis_cells: bool = False) -> list:
    "The cells the site shows: nbdev's `hide`/`include: false` cells dropped, directives applied and removed."
    cells, ns = [], {"__name__": "__docs__"}
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            cells.append(c); continue
        src, d = _src(c), directives(_src(c))
        if "hide" in d or _false(d.get("include", True)): continue
        if d.get("output") == "asis" and run_asis_cells:
            try: md = run_asis(strip_directives(src), ns, nb_dir)
            except Exception as e:
                log.warning(f"{name}: an `#| output: asis` cell failed ({type(e).__name__}: {e}); the page shows a note instead")
                md = ('<div class="admonition warning"><p class="admonition-title">Not rendered</p><p>This output could not be '
                      f'computed from the committed results ({type(e).__name__}).</p></div>')
            if md: cells.append({"cell_type": "markdown", "id": c.get("id", ""), "metadata": {}, "source": md})
            continue
        c = dict(c, source=strip_directives(src), metadata=dict(c.get("metadata", {})))
        if _false(d.get("output", True)): c["outputs"] = []
        if _false(d.get("echo", True)) and d.get("output") != "asis":  # an asis cell not run: its source, not nothing
            if not c.get("outputs"): continue
            c["metadata"]["tags"] = list(c["metadata"].get("tags", [])) + [HIDDEN_INPUT_TAG]
        if not c["source"].strip() and not c.get("outputs"): continue
        cells.append(c)
    return cells

IMG_MD = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMG_HTML = re.compile(r"<img\b[^>]*\bsrc=[\"']([^\"']+)[\"']", re.I)

def local_refs(cells: list) -> list:
    "Relative image paths that markdown cells reference (`![..](path)` or `<img src=..>`)."
    refs = []
    for c in cells:
        if c["cell_type"] != "markdown": continue
        for m in list(IMG_MD.finditer(_src(c))) + list(IMG_HTML.finditer(_src(c))):
            p = m.group(1).split("#")[0].split("?")[0]
            if p and not re.match(r"^([a-z][a-z0-9+.-]*:|/|#)", p, re.I): refs.append(p)
    return list(dict.fromkeys(refs))

def api_link_cell(mod: str) -> dict:
    "A one-line markdown cell linking a chapter to the API page of the module it exports to."
    return {"cell_type": "markdown", "id": "isonb-docs-api-link", "metadata": {},
            "source": f'<p class="isonb-api-link">API reference: <a href="api/{mod}.html"><code>{mod}</code></a></p>'}

def doc_notebook(path: Path, mods: list) -> tuple:
    "The notebook at `path` as the site shows it (a JSON string) and the relative image paths it references."
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = doc_cells(nb, path.parent, path.name, run_asis_cells=path.name == "index.ipynb")
    mod = default_exp(nb)
    if mod and f"isonb.{mod}" in mods:
        h1 = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and re.search(r"^# ", _src(c), re.M)), -1)
        cells.insert(h1 + 1, api_link_cell(f"isonb.{mod}"))
    out = dict(nb, cells=cells)
    return json.dumps(out, indent=1, ensure_ascii=False) + "\n", local_refs(cells)

def _module_file(mod: str, lib: Path = LIB) -> Path:
    "The source file of the dotted module `mod`."
    p = lib.parent.joinpath(*mod.split(".")).with_suffix(".py")
    return p if p.exists() else lib.parent.joinpath(*mod.split("."), "__init__.py")

def unpacked_constants(mod: str) -> list:
    "(name, source of value) of exported names bound by tuple unpacking (`A, B = 1, 2`), which mkdocstrings does not list."
    tree = ast.parse(_module_file(mod).read_text(encoding="utf-8"))
    exported = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                     and any(getattr(t, "id", None) == "__all__" for t in n.targets)), [])
    out = []
    for n in tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple) and isinstance(n.value, ast.Tuple) \
                and len(n.targets[0].elts) == len(n.value.elts):
            out += [(t.id, ast.unparse(v)) for t, v in zip(n.targets[0].elts, n.value.elts) if getattr(t, "id", None) in exported]
    return out

def api_page(mod: str) -> str:
    "The markdown of a module's API page: a heading, its source notebooks and mkdocstrings' `:::` directive."
    srcs = ", ".join(f"[{Path(n).stem}](../{n})" for n in source_notebooks(mod) if (NBS / n).exists())
    consts = "".join(f'\n## `{k}` {{#{mod}.{k} data-toc-label="{k}"}}\n\n```python\n{k} = {v}\n```\n'
                     for k, v in unpacked_constants(mod))
    return f"# `{mod}`\n\n" + (f"Written in {srcs}.\n\n" if srcs else "") + f"::: {mod}\n" + consts

# ---------------------------------------------------------------- MathJax, vendored
MATHJAX_CONFIG = r"""// MathJax 3, served from this site: $...$ and $$...$$ as in the notebooks' markdown
window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
        processEscapes: true, processEnvironments: true, tags: "ams"},
  options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process",
            menuOptions: {settings: {assistiveMml: false}}}
};
"""

def mathjax_dir() -> Path:
    "The cached es5/ tree of MathJax; fetched with `npm pack mathjax@VERSION` and checked against the pinned sha512."
    if (MATHJAX_CACHE / MATHJAX_FILES[0]).exists(): return MATHJAX_CACHE
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is needed once to fetch MathJax from the npm registry (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", f"mathjax@{MATHJAX_VERSION}", "--silent", "--pack-destination", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        tgz = Path(tmp) / f"mathjax-{MATHJAX_VERSION}.tgz"
        digest = base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != MATHJAX_SHA512: raise SystemExit(f"mathjax-{MATHJAX_VERSION}.tgz has sha512 {digest}, expected {MATHJAX_SHA512}")
        part = MATHJAX_CACHE.with_name(MATHJAX_CACHE.name + ".part")
        shutil.rmtree(part, ignore_errors=True)
        with tarfile.open(tgz) as t:
            for m in t.getmembers():
                rel = m.name.removeprefix("package/es5/")
                if m.isfile() and rel != m.name and any(rel == f or rel.startswith(f + "/") for f in MATHJAX_FILES):
                    (part / rel).parent.mkdir(parents=True, exist_ok=True)
                    (part / rel).write_bytes(t.extractfile(m).read())
        shutil.rmtree(MATHJAX_CACHE, ignore_errors=True)
        part.rename(MATHJAX_CACHE)
    return MATHJAX_CACHE

# ---------------------------------------------------------------- staging
def _put(dest: Path, data: bytes, written: set):
    "Write `data` to `dest` unless it already holds it (so `mkdocs serve` sees no change); remember it."
    written.add(dest)
    if dest.exists() and dest.read_bytes() == data: return
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)

def stage(src: Path = SRC) -> list:
    "Write the site's sources into `src` (stale files removed); return the nav."
    written, nav_ch, missing, mods = set(), [], [], modules()
    for p in chapters():
        try: text, refs = doc_notebook(p, mods)
        except (ValueError, KeyError, TypeError) as e:      # e.g. a notebook caught half-written by an editor
            log.warning(f"{p.name} left out: not a readable notebook ({type(e).__name__}: {e})"); continue
        _put(src / p.name, text.encode(), written)
        for r in refs:
            f = (p.parent / r).resolve()
            if f.is_file() and NBS in f.parents: _put(src / f.relative_to(NBS), f.read_bytes(), written)
            else: missing.append(f"{p.name}: {r}")
        nav_ch.append({title(json.loads(text), p.stem): p.name})
    for r in missing: log.warning(f"image not found: {r}")
    nav_api = []
    for mod in mods:
        _put(src / "api" / f"{mod}.md", api_page(mod).encode(), written)
        nav_api.append({mod: f"api/{mod}.md"})
    mj = mathjax_dir()
    for f in MATHJAX_FILES:
        for p in ([mj / f] if (mj / f).is_file() else sorted((mj / f).rglob("*"))):
            if p.is_file(): _put(src / "assets" / "mathjax" / p.relative_to(mj), p.read_bytes(), written)
    _put(src / "assets" / "mathjax-config.js", MATHJAX_CONFIG.encode(), written)
    for p in sorted(src.rglob("*"), reverse=True):
        if p.is_file() and p not in written and ".cache" not in p.relative_to(src).parts: p.unlink()
        elif p.is_dir() and not any(p.iterdir()): p.rmdir()
    home, rest = nav_ch[:1], nav_ch[1:]
    return home + [{"Chapters": rest}, {"API reference": nav_api}]

# ---------------------------------------------------------------- mkdocs hooks
_CSS = {}

def on_config(config):
    config["nav"] = stage(Path(config["docs_dir"]))
    return config

CDN_SCRIPTS = [re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
               re.compile(r"<script type=\"module\">(?:(?!</script>).)*?mermaid(?:(?!</script>).)*</script>", re.S)]
STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)

HEADING = re.compile(r"<h[1-6][^>]*\bid=\"([^\"]+)\"[^>]*>(.*?)</h[1-6]>", re.S)

def _flat(items) -> list: return [x for it in items for x in [it] + _flat(it.children)]

def fix_toc(toc, html: str):
    "Point the page's table of contents at its headings: mkdocs-jupyter drops inline code from it, so ids and titles drift."
    heads = [(i, htmllib.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<a class=\"anchor-link\".*?</a>", "", h, flags=re.S))).strip())
             for i, h in HEADING.findall(html)]
    items = _flat(toc.items if toc else [])
    if len(items) != len(heads): return             # not the same headings: leave it
    for it, (i, t) in zip(items, heads): it.id, it.title = i, t

def on_page_content(html, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"): return html
    for rx in CDN_SCRIPTS: html = rx.sub("", html)
    fix_toc(page.toc, html)
    up = "../" * page.file.url.count("/")
    def link(m):
        css = m.group(1).strip()
        if not css: return ""
        name = hashlib.sha256(css.encode()).hexdigest()[:16] + ".css"
        _CSS[name] = css
        return f'<link rel="stylesheet" href="{up}assets/nb/{name}">'
    return STYLE.sub(link, html)

def on_post_build(config):
    out = Path(config["site_dir"]) / "assets" / "nb"
    out.mkdir(parents=True, exist_ok=True)
    for name, css in _CSS.items(): (out / name).write_text(css, encoding="utf-8")

# ---------------------------------------------------------------- command line
def site_bytes(site: Path) -> int: return sum(p.stat().st_size for p in site.rglob("*") if p.is_file())

def build(site: Path = SITE, strict: bool = False) -> tuple:
    "Vendor MathJax if needed, then `mkdocs build` into `site`; return (exit code, seconds, log text)."
    try: import mkdocs, mkdocs_jupyter, mkdocstrings, material  # noqa: F401,E401
    except ImportError as e: raise SystemExit(f"the docs extra is not installed ({e}): pip install -e '.[docs]'")
    mathjax_dir()
    SRC.mkdir(exist_ok=True)                    # mkdocs checks that docs_dir exists before the hook fills it
    cmd = [sys.executable, "-m", "mkdocs", "build", "--clean", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)]
    return _timed(cmd + (["--strict"] if strict else []), env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))

def _timed(cmd: list, env: dict) -> tuple:
    "Run `cmd` from the repository root; return (exit code, wall seconds, output), and keep its CPU seconds in _timed.cpu."
    c0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    _timed.cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return p.returncode, time.perf_counter() - t0, p.stdout

SPHINX_CONF = """project = "isonb"
root_doc = "contents"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.mathjax"]
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
html_theme = "furo"
mathjax_path = "mathjax/tex-chtml-full.js"
html_static_path = ["_static"]
autodoc_default_options = {"members": True}
exclude_patterns = ["_build", ".cache"]
"""

def build_sphinx(site: Path) -> tuple:
    "The same staged notebooks and modules through Sphinx + MyST-NB + autodoc (furo theme), for nbs/99_docs_site's comparison."
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    stage(SRC)                                  # timed too: mkdocs stages inside its build (the hook)
    r1, staging = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(SRC, src, ignore=shutil.ignore_patterns(".cache", "api", "assets"))
        shutil.copytree(SRC / "assets" / "mathjax", src / "_static" / "mathjax")
        (src / "conf.py").write_text(SPHINX_CONF)
        (src / "api").mkdir()
        for m in modules(): (src / "api" / f"{m}.rst").write_text(f"{m}\n{'=' * len(m)}\n\n.. automodule:: {m}\n")
        toc = lambda cap, items: f"```{{toctree}}\n:caption: {cap}\n" + "\n".join(items) + "\n```\n\n"
        (src / "contents.md").write_text("# isonb\n\n" + toc("Chapters", [p.stem for p in chapters()])
                                         + toc("API reference", [f"api/{m}" for m in modules()]))
        html = Path(tmp) / "out" / "html"          # MyST-NB writes jupyter_execute/ beside the output folder
        rc, secs, out = _timed([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(html)],
                               env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        _timed.cpu += (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        shutil.rmtree(site, ignore_errors=True)
        if html.exists(): shutil.copytree(html, site)
        return rc, secs + staging, out

def main(argv: list) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site-dir", type=Path, default=SITE, help="where the site goes (default: _site/)")
    ap.add_argument("--strict", action="store_true", help="fail on any warning (a missing figure, a failed table cell)")
    ap.add_argument("--record", type=Path, help="append the build time and site size to this CSV")
    ap.add_argument("--serve", action="store_true", help="mkdocs serve (live preview) instead of a build")
    ap.add_argument("--sphinx", action="store_true", help="build with Sphinx + MyST-NB + autodoc instead, to compare "
                    "(needs sphinx, myst-nb and furo, e.g. `pip install --target DIR` and PYTHONPATH=DIR)")
    a = ap.parse_args(argv)
    if a.serve:
        mathjax_dir(); SRC.mkdir(exist_ok=True)
        return subprocess.call([sys.executable, "-m", "mkdocs", "serve", "-f", str(ROOT / "mkdocs.yml")], cwd=ROOT)
    if a.sphinx and a.site_dir == SITE: a.site_dir = ROOT / "_site_sphinx"
    rc, secs, out = build_sphinx(a.site_dir) if a.sphinx else build(a.site_dir, a.strict)
    noise = ("INFO", "Cache hit", "Cache miss", "Converting notebook", "Evicted stale cache")
    print("\n".join(l for l in out.splitlines() if l.strip() and not any(w in l for w in noise)) or "")
    if rc: return rc
    n_html, mib = len(list(a.site_dir.rglob("*.html"))), site_bytes(a.site_dir) / 2**20
    warnings = sum(("WARNING" in l or "ERROR" in l) for l in out.splitlines())
    print(f"docs: {len(chapters())} chapters and {len(modules())} API pages ({n_html} HTML files, {mib:.1f} MiB) "
          f"in {a.site_dir}, built in {secs:.1f} s with {warnings} warnings; open {a.site_dir / 'index.html'}")
    if a.record:                                # one row per build: which tool, how long, how big, how busy the machine was
        new = not a.record.exists()
        a.record.parent.mkdir(parents=True, exist_ok=True)
        with a.record.open("a", encoding="utf-8") as f:
            if new: f.write("date,tool,chapters,api_pages,cached_notebooks,wall_s,cpu_s,site_mib,warnings,cpus,load1\n")
            cached = "" if a.sphinx else out.count("Cache hit")       # notebooks mkdocs-jupyter took from its cache
            f.write(f"{time.strftime('%Y-%m-%d')},{'sphinx' if a.sphinx else 'mkdocs'},{len(chapters())},{len(modules())},"
                    f"{cached},{secs:.1f},{_timed.cpu:.1f},{mib:.2f},{warnings},{os.cpu_count()},{os.getloadavg()[0]:.1f}\n")
    return 0

if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
