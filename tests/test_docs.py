"""The documentation site (nbs/99_docs_site.ipynb, .ci/docs.py, mkdocs.yml).

First the staging rules, without building anything. Then the site is built into a temporary directory, served on
127.0.0.1 and every page is opened in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): no console
error, no failed or off-site request, equations typeset by MathJax, every image loaded, every in-page link resolved,
the sidebar in chapter order, every exported name on its module's API page. The browser part skips when Chromium, npm or the docs extra is missing,
unless ISONB_REQUIRE_DOCS=1 (CI), which turns the skip into a failure."""
import ast, functools, http.server, importlib.util, json, os, re, shutil, threading, types
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS, LIB = ROOT / "nbs", ROOT / "isonb"
CHROMIUM = os.environ.get("ISONB_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

spec = importlib.util.spec_from_file_location("isonb_docs", ROOT / ".ci" / "docs.py")
docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(docs)

def _nb(*cells) -> dict:
    "A notebook of (cell_type, source) pairs."
    return {"cells": [{"cell_type": t, "id": f"c{i}", "metadata": {}, "source": s, **({"outputs": [], "execution_count": None} if t == "code" else {})}
                      for i, (t, s) in enumerate(cells)], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}

# ---------------------------------------------------------------- staging rules (no build, no browser)
def test_directives():
    assert docs.directives("#| hide\n#| eval: false\n#| default_exp probes.entk\nx = 1  #| not a directive") == \
        {"hide": True, "eval": "false", "default_exp": "probes.entk"}
    assert docs.directives("x = 1\n#| hide") == {}                      # directives only at the top of a cell
    assert docs.strip_directives("#| export\ndef f(): pass\n#| hide") == "def f(): pass"

def test_doc_cells_apply_nbdev_directives(tmp_path):
    nb = _nb(("markdown", "# T"), ("code", "#| default_exp core"), ("code", "#| hide\nsecret = 1"), ("code", "#| export\ndef f(): pass"),
             ("code", "#| echo: false\n#| output: asis\nprint('| a |\\n|---|\\n| ' + str(6 * 7) + ' |')"),
             ("code", "#| echo: false\nquiet = 2"), ("code", "#| eval: false\nshown_not_run()"), ("code", "#| include: false\ngone = 3"))
    cells = docs.doc_cells(nb, tmp_path, "index.ipynb", run_asis_cells=True)
    src = [c["source"] for c in cells]
    assert src == ["# T", "def f(): pass", "| a |\n|---|\n| 42 |", "shown_not_run()"], src
    assert cells[2]["cell_type"] == "markdown"                              # the asis cell's printout, as markdown
    src = [c["source"] for c in docs.doc_cells(nb, tmp_path, "10_x.ipynb")]  # elsewhere asis cells are not run: shown
    assert src[2] == "print('| a |\\n|---|\\n| ' + str(6 * 7) + ' |')", src

def test_failing_asis_cell_becomes_a_visible_note(tmp_path, caplog):
    cells = docs.doc_cells(_nb(("code", "#| echo: false\n#| output: asis\nopen('no_such.csv')")), tmp_path, "index.ipynb", True)
    assert len(cells) == 1
    assert "Not rendered" in cells[0]["source"]
    assert "FileNotFoundError" in caplog.text

def test_echo_false_with_outputs_keeps_outputs(tmp_path):
    nb = _nb(("code", "#| echo: false\nprint(1)"))
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    (c,) = docs.doc_cells(nb, tmp_path, "t.ipynb")
    assert c["metadata"]["tags"] == [docs.HIDDEN_INPUT_TAG]
    assert c["outputs"] == nb["cells"][0]["outputs"]

def test_chapter_order_and_titles(tmp_path):
    for n in ("10a_b.ipynb", "10_a.ipynb", "02_x.ipynb", "index.ipynb", "_scratch.ipynb", "99_z.ipynb"): (tmp_path / n).write_text("{}")
    assert [p.name for p in docs.chapters(tmp_path)] == ["index.ipynb", "02_x.ipynb", "10_a.ipynb", "10a_b.ipynb", "99_z.ipynb"]
    assert docs.title(_nb(("markdown", "intro"), ("markdown", "> q\n# `make demo`\n## sub")), "x") == "make demo"
    assert docs.title(_nb(("markdown", "# Probes: [eNTK](a.md) *spectra* of f_t")), "x") == "Probes: eNTK spectra of f_t"
    assert docs.title(_nb(("code", "# not a title")), "fallback") == "fallback"

def test_image_references():
    cells = _nb(("markdown", '![a](results/x/a.png) ![b](<results/b c.png> "t") <img src="c.png"> ![w](https://e.org/w.png) ![d](/abs.png)'),
                ("code", "# ![no](code.png)"))["cells"]
    assert docs.local_refs(cells) == ["results/x/a.png", "c.png"]           # the link with a space is not a plain path

def test_every_module_gets_an_api_page():
    mods = docs.modules()
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in LIB.rglob("*.py")
             if p.name not in ("_modidx.py", "__init__.py") and "__pycache__" not in p.parts}
    assert files <= set(mods), files - set(mods)
    assert "isonb._modidx" not in mods

# ---------------------------------------------------------------- the built site in a real browser
def _need(browser: bool):
    "Skip (or, with ISONB_REQUIRE_DOCS=1, fail) when what the build, or the browser too, needs is missing."
    missing = [] if not browser or os.access(CHROMIUM, os.X_OK) else [f"Chromium at {CHROMIUM} (Debian: apt-get install chromium)"]
    for mod in ("mkdocs", "mkdocs_jupyter", "mkdocstrings", "material") + (("playwright",) if browser else ()):
        if importlib.util.find_spec(mod) is None: missing.append(f"the docs extra (no `{mod}`: pip install -e '.[docs]')"); break
    if not (docs.MATHJAX_CACHE / docs.MATHJAX_FILES[0]).exists() and shutil.which("npm") is None:
        missing.append("npm, to fetch MathJax once (Debian: apt-get install npm)")
    if missing:
        msg = "docs site not checked: missing " + "; ".join(missing)
        if os.environ.get("ISONB_REQUIRE_DOCS") == "1": pytest.fail(msg + " (ISONB_REQUIRE_DOCS=1)")
        pytest.skip(msg)

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    "A fresh build of the site into a temporary directory: its .site, build .log, and the .chapters and .modules it had."
    _need(browser=False)
    b = types.SimpleNamespace(site=tmp_path_factory.mktemp("site"), chapters=docs.chapters(), modules=docs.modules())
    rc, secs, b.log = docs.build(b.site)                   # (nbs/ is edited concurrently: the lists are taken just before)
    assert rc == 0, b.log[-3000:]
    print(f"site built in {secs:.1f} s")
    return b

@pytest.fixture(scope="module")
def served(built):
    "Base URL of the site served by http.server on 127.0.0.1 (a free port), in a thread."
    handler = functools.partial(type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}),
                                directory=str(built.site))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown(); srv.server_close()

VISIT = """async () => {
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  await document.fonts.ready;                               // MathJax's fonts are fetched after typesetting
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = "eager"; });
  const settle = i => i.complete ? null : new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); });
  await Promise.race([Promise.all(imgs.map(settle)), new Promise(r => setTimeout(r, 10000))]);
  const text = [...document.querySelectorAll("article p, article li, article td")].map(e => e.innerText).join("\\n");
  return {bad_imgs: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src")),
          n_imgs_ok: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
          n_math: document.querySelectorAll("mjx-container").length,
          n_merror: document.querySelectorAll("mjx-merror").length,
          raw_math: (text.match(/\\$\\$[^$]+\\$\\$/g) || []).slice(0, 3),
          nav: [...document.querySelectorAll("nav.md-nav--primary a.md-nav__link[href]")]
                 .map(a => [a.getAttribute("href"), a.innerText.trim()]).filter(([h]) => !h.startsWith("#")),
          h1: (document.querySelector("article h1") || {}).innerText || "",
          dead_anchors: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute("href")).filter(h => h.length > 1)
                          .filter(h => !document.getElementById(decodeURIComponent(h.slice(1))))};
}"""

@pytest.fixture(scope="module")
def visited(built, served, tmp_path_factory):
    "{page: what Chromium saw} for every HTML page of the site, in one browser session."
    _need(browser=True)
    from playwright.sync_api import sync_playwright
    site, pages, out = built.site, {}, {}
    for p in sorted(site.rglob("*.html")):
        if p.name != "404.html": pages[p.relative_to(site).as_posix()] = p
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
                                                    headless=True, args=FLAGS, viewport={"width": 1280, "height": 900})
        seen, index = {"full_search": False}, json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
        def route(r):                                          # nothing leaves the machine: off-site requests are refused
            url = r.request.url
            if not url.startswith(served): seen["cur"]["offsite"].append(url); r.abort()
            elif url.endswith("/search/search_index.json") and not seen["full_search"]:
                r.fulfill(json={**index, "docs": []})          # every page builds its search index: an empty one here,
            else: r.continue_()                                # the real one for the search check at the end
        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("console", lambda m: m.type == "error" and seen["cur"]["errors"].append(f"console: {m.text}"))
        page.on("pageerror", lambda e: seen["cur"]["errors"].append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: seen["cur"]["failed"].append(f"{r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and seen["cur"]["failed"].append(f"{r.url} (HTTP {r.status})"))
        for name in pages:
            seen["cur"] = {"errors": [], "failed": [], "offsite": []}
            resp = page.goto(served + name, wait_until="load")
            res = page.evaluate(VISIT)
            page.wait_for_timeout(50)                          # late console messages of the page's own scripts
            out[name] = dict(seen["cur"], status=resp.status, **res)
        seen["full_search"], seen["cur"] = True, {"errors": [], "failed": [], "offsite": []}
        page.goto(served + "index.html", wait_until="load")   # the search box works offline
        page.fill(".md-search__input", "isometry")
        page.wait_for_selector(".md-search-result__item", timeout=30000)
        out["search"] = dict(seen["cur"], hits=page.locator(".md-search-result__item").count())
        ctx.close()
    return out

def _pages(visited): return {k: v for k, v in visited.items() if k.endswith(".html")}

def test_build_has_no_warnings(built):
    warnings = [l for l in built.log.splitlines() if "WARNING" in l or "ERROR" in l]
    assert not warnings, "\n".join(warnings)

def test_every_page_loads_without_errors(visited):
    bad = {k: {"status": v["status"], **{f: v[f] for f in ("errors", "failed", "offsite") if v[f]}}
           for k, v in _pages(visited).items() if v["status"] != 200 or v["errors"] or v["failed"] or v["offsite"]}
    assert not bad, json.dumps(bad, indent=1)[:4000]

def test_in_page_links_resolve(visited):                      # the tables of contents, permalinks, skip links
    bad = {k: v["dead_anchors"][:5] for k, v in _pages(visited).items() if v["dead_anchors"]}
    assert not bad, bad

FIGURE = re.compile(r"!\[[^\]]*\]\((results/[^)\s]+\.png)\)")

def test_every_image_loads(built, visited):
    bad = {k: v["bad_imgs"] for k, v in _pages(visited).items() if v["bad_imgs"]}
    assert not bad, bad
    for p in built.chapters:                                   # and the committed figures are on their pages
        figs = {m for c in json.loads(p.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown"
                for m in FIGURE.findall("".join(c["source"]))}
        assert visited[f"{p.stem}.html"]["n_imgs_ok"] >= len(figs), (p.name, figs)

MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\n`]+?\$", re.S)

def _has_math(nb: Path) -> bool:
    "Whether a notebook's markdown has $...$ or $$...$$ outside code spans and fences."
    for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        if c["cell_type"] != "markdown": continue
        md = re.sub(r"```.*?```|`[^`\n]*`", "", "".join(c["source"]), flags=re.S)
        if MATH.search(md): return True
    return False

def test_equations_render(built, visited):
    math_pages = [f"{p.stem}.html" for p in built.chapters if _has_math(p)]
    assert math_pages, "no notebook has $...$ math: the check would test nothing"
    bad = {k: {f: visited[k][f] for f in ("n_math", "n_merror", "raw_math")} for k in math_pages
           if visited[k]["n_math"] == 0 or visited[k]["n_merror"] or visited[k]["raw_math"]}
    assert not bad, bad

def _h1(nb: Path) -> str:
    "The notebook's first `# ` heading as plain text (markdown links, code ticks and emphasis dropped)."
    for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
        m = re.search(r"^# (.+)$", "".join(c["source"]), re.M) if c["cell_type"] == "markdown" else None
        if m: return re.sub(r"[`*]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))).strip()
    return nb.stem

def test_nav_follows_chapter_order(built, visited):
    nbs = sorted(p for p in built.chapters if p.name != "index.ipynb")     # file-name order, as `ls nbs/*.ipynb`
    want = [("index.html", _h1(NBS / "index.ipynb"))] + [(f"{p.stem}.html", _h1(p)) for p in nbs]
    nav = [tuple(x) for x in visited["index.html"]["nav"]]
    assert nav[:len(want)] == want, "\n".join(f"{a} | {b}" for a, b in zip(nav, want) if a != b)
    api = [h for h, _ in nav[len(want):]]
    assert api == [f"api/{m}.html" for m in built.modules]
    for href, t in want:                                       # and each page's own H1 says the same
        assert visited[href]["h1"].replace("\u00b6", "").strip() == t, (href, visited[href]["h1"], t)

def _exported(mod: str) -> list:
    "The names in a module's `__all__`, read from its source (nothing imported)."
    p = LIB.parent / (mod.replace(".", "/") + ".py")
    if not p.exists(): p = LIB.parent / mod.replace(".", "/") / "__init__.py"
    for node in ast.parse(p.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []

def test_every_exported_name_is_documented(built):
    site, missing = built.site, {}
    for mod in built.modules:
        html = (site / "api" / f"{mod}.html").read_text(encoding="utf-8")
        gone = [n for n in _exported(mod) if f'id="{mod}.{n}"' not in html]
        if gone: missing[mod] = gone
    assert not missing, missing

def test_site_is_self_contained(built):
    site = built.site
    remote = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^\"']+", re.I)
    bad = {p.relative_to(site).as_posix(): remote.findall(p.read_text(encoding="utf-8"))[:3] for p in site.rglob("*.html")}
    assert not {k: v for k, v in bad.items() if v}
    size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20
    assert size < 40, f"the site is {size:.1f} MiB"                       # 18 MiB with 41 chapters and 30 API pages

def test_search_works_offline(visited):
    s = visited["search"]
    assert s["hits"] > 0
    assert not (s["errors"] or s["failed"] or s["offsite"]), s
