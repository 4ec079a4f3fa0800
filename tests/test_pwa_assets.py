"""How the PWA's files are served: versioned URLs cached for a year, everything else
revalidated, text compressed, and no stale module after a file changes."""

from __future__ import annotations

import re
import shutil

import pytest

from backend import app as app_module

VERSIONED = re.compile(r'(?:src|href)="(/(?:js|css|icons)/[^"?]+)\?v=([0-9a-f]{16})"')


@pytest.fixture
def index(api):
    r = api.get("/")
    assert r.status_code == 200
    return r


def test_the_shell_names_every_asset_with_the_current_version(api, index):
    refs = VERSIONED.findall(index.text)
    assert {"/js/app.js", "/css/app.css", "/icons/brand-96.png"} <= {path for path, _ in refs}
    assert len({version for _, version in refs}) == 1
    # No reference left unversioned.
    assert not re.search(r'(?:src|href)="/(?:js|css|icons)/[^"?]+"', index.text)
    assert index.headers["cache-control"] == "no-cache" and index.headers["etag"]


def test_the_entry_points_modules_are_preloaded_and_their_imports_versioned(api, index):
    [(_, version)] = {(p, v) for p, v in VERSIONED.findall(index.text) if p == "/js/app.js"}
    preloaded = re.findall(r'<link rel="modulepreload" href="(/js/[^"?]+)\?v=' + version, index.text)
    assert "/js/api.js" in preloaded and "/js/views/home.js" in preloaded
    app_js = api.get(f"/js/app.js?v={version}").text
    imports = re.findall(r'from "(\.[^"]+)"', app_js)
    assert imports and all(i.endswith(f".js?v={version}") for i in imports)


def test_versioned_assets_are_immutable_the_others_revalidated(api, index):
    [(_, version)] = {(p, v) for p, v in VERSIONED.findall(index.text) if p == "/css/app.css"}
    current = api.get(f"/css/app.css?v={version}")
    assert current.headers["cache-control"] == "public, max-age=31536000, immutable"
    for url in ("/css/app.css", "/css/app.css?v=0123456789abcdef", "/manifest.webmanifest"):
        assert api.get(url).headers["cache-control"] == "no-cache", url
    sw = api.get("/sw.js")
    assert sw.headers["cache-control"] == "no-store"
    assert f'const BUILD = "{version}";' in sw.text


def test_an_unchanged_file_costs_no_body(api, index):
    again = api.get("/", headers={"if-none-match": index.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = api.get("/", headers={"if-none-match": 'W/"something-else"'})
    assert other.status_code == 200 and other.content == index.content
    head = api.request("HEAD", "/js/app.js")
    assert head.status_code == 200 and head.content == b""


def test_text_is_compressed_and_images_are_not(api):
    r = api.get("/js/i18n.js", headers={"accept-encoding": "gzip"})
    assert r.headers.get("content-encoding") in ("gzip", "br")
    # The client decodes the body; what came over the wire is a fraction of it.
    assert r.num_bytes_downloaded < len(r.content) / 2
    icon = api.get("/icons/brand-96.png", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in icon.headers and icon.content[:4] == b"\x89PNG"


def test_unknown_files_are_404(api):
    assert api.get("/js/nope.js").status_code == 404
    assert api.get("/../pyproject.toml").status_code == 404


def test_a_changed_file_gets_a_new_version(tmp_path):
    pwa = tmp_path / "pwa"
    shutil.copytree(app_module.PWA_DIR, pwa)
    files = app_module.PwaFiles(pwa)
    before = files.version
    (pwa / "js" / "views" / "home.js").write_text((pwa / "js" / "views" / "home.js").read_text() + "// changed\n")
    index = files.response("/", None, None).content.decode()
    after = files.version
    assert after != before and f"?v={after}" in index and f"?v={before}" not in index
    assert files.response("js/views/home.js", after, None).content.decode().endswith("// changed\n")
    # The old version's URL is no longer immutable: it may not name these bytes.
    old = files.response("js/views/home.js", before, None)
    assert old.headers["cache-control"] == "no-cache"



def test_every_text_of_the_app_exists_in_french_and_english():
    source = (app_module.PWA_DIR / "js" / "i18n.js").read_text()
    fr_block, en_block = source.split("\n  en: {\n", 1)
    key = re.compile(r'^    "([^"]+)":', re.MULTILINE)
    fr, en = set(key.findall(fr_block)), set(key.findall(en_block))
    assert len(fr) > 300
    assert fr - en == set() and en - fr == set()
    # Every key a screen asks for with t("...") is defined.
    used = set()
    for path in (app_module.PWA_DIR / "js").rglob("*.js"):
        if path.name == "i18n.js":  # its comment shows t("key")
            continue
        used |= set(re.findall(r'\bt\("([a-z0-9_.]+)"', path.read_text()))
    assert used - fr == set()


def test_every_action_the_access_history_stores_has_words():
    """An event's action is shown as a sentence in both languages, never as its code."""
    source = (app_module.PWA_DIR / "js" / "i18n.js").read_text()
    fr_block, en_block = source.split("\n  en: {\n", 1)
    stored = set()
    for path in (app_module.PWA_DIR.parent / "backend").rglob("*.py"):
        stored |= set(re.findall(
            r'"((?:card|documents?|delegation|patient|record|temporary_access|emergency)\.[a-z_]+)"',
            path.read_text()))
    assert {"card.verify", "document.read", "emergency.declare"} <= stored
    for block in (fr_block, en_block):
        missing = sorted(a for a in stored if f'"action.{a}":' not in block)
        assert not missing, missing
