#!/usr/bin/env python3
"""End-to-end test of the desktop app in a real WebKit window.

Starts the built app (target/release/dramatis-app, or $DRAMATIS_APP) through
Debian's WebKitWebDriver under Xvfb, with DRAMATIS_DATA_DIR in a temporary
folder, and drives it the way a person would:

  import two episodes of the 甄嬛 script → the cast → pick 甄嬛 → the dataset
  → disable a row → save; import a novel and see its cast; a PDF and a
  truncated EPUB show readable errors and the app keeps working; quit, start
  again, and find the persona with its dataset (the row still disabled).

Screenshots of every screen, in English and in Chinese, go to
target/e2e-screens/. Standard library only (the W3C WebDriver protocol over
HTTP). Exits non-zero on the first failed check.
"""

import base64
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = (ROOT / ".." / "shared" / "samples").resolve()
APP = Path(os.environ.get("DRAMATIS_APP", ROOT / "target" / "release" / "dramatis-app"))
SCREENS = Path(os.environ.get("DRAMATIS_E2E_SCREENS", ROOT / "target" / "e2e-screens"))
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
TIMEOUT = float(os.environ.get("DRAMATIS_E2E_TIMEOUT", "120"))


def log(*a):
    print("[e2e]", *a, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failure(Exception):
    pass


class Driver:
    """A WebDriver session on the app."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.sid = None

    def call(self, method, path, body=None, timeout=60):
        url = self.base + path
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise Failure(f"{method} {path}: HTTP {e.code}: {detail[:500]}") from None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def start(self, env_args=None):
        caps = {"capabilities": {"alwaysMatch": {"webkitgtk:browserOptions": {"binary": str(APP), "args": env_args or []}}}}
        v = self.call("POST", "/session", caps, timeout=120)
        self.sid = v["sessionId"]

    def quit(self):
        if self.sid:
            try:
                self.call("DELETE", f"/session/{self.sid}", timeout=30)
            except Exception as e:  # the app may already be gone
                log("quit:", e)
            self.sid = None

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find_all(self, css):
        return [e[ELEMENT] for e in self.s("POST", "/elements", {"using": "css selector", "value": css})]

    def wait(self, css, what=None, timeout=TIMEOUT, gone=False):
        end = time.time() + timeout
        while time.time() < end:
            els = self.find_all(css)
            if gone and not els:
                return []
            if els and not gone:
                return els
            time.sleep(0.25)
        raise Failure(f"timed out waiting for {what or css}{' to go' if gone else ''}")

    def wait_text(self, css, pred, what, timeout=TIMEOUT):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            for e in self.find_all(css):
                try:
                    last = self.text(e)
                except Failure:
                    continue
                if pred(last):
                    return e, last
            time.sleep(0.25)
        raise Failure(f"timed out waiting for {what}; last text: {last!r}")

    def click(self, el):
        self.s("POST", f"/element/{el}/click", {})

    def type(self, el, text):
        self.s("POST", f"/element/{el}/clear", {})
        self.s("POST", f"/element/{el}/value", {"text": text})

    def text(self, el):
        # The page's own innerText: WebKitWebDriver's element text skips some
        # clipped (ellipsis) elements that a person does see.
        return self.js("return arguments[0].innerText;", {ELEMENT: el})

    def prop(self, el, name):
        return self.s("GET", f"/element/{el}/property/{name}")

    def inside(self, el, css):
        return [e[ELEMENT] for e in self.s("POST", f"/element/{el}/elements", {"using": "css selector", "value": css})]

    def screenshot(self, name):
        SCREENS.mkdir(parents=True, exist_ok=True)
        png = base64.b64decode(self.s("GET", "/screenshot"))
        (SCREENS / f"{name}.png").write_bytes(png)
        log("screenshot", name)


def nav(d, screen):
    d.click(d.wait(f'[data-testid="nav-{screen}"]', f"the {screen} item of the sidebar")[0])


def set_language(d, lang):
    nav(d, "settings")
    sel = d.wait('[data-testid="settings-language"]', "the language choice")[0]
    d.js(
        "const s = arguments[0]; s.value = arguments[1];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));",
        {ELEMENT: sel},
        lang,
    )
    time.sleep(0.5)


def import_files(d, paths):
    nav(d, "import")
    field = d.wait('[data-testid="import-path"]', "the path field")[0]
    # ";" separates paths (a typed newline would be Enter, which imports at once).
    d.type(field, ";".join(str(p) for p in paths))
    d.click(d.wait('[data-testid="import-submit"]')[0])


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    log("ok:", msg)


def digits(s):
    return [int(x.replace(",", "")) for x in __import__("re").findall(r"\d[\d,]*", s)]


def run(driver_port, data_dir, work):
    d = Driver(driver_port)
    zh_script = sorted((SAMPLES / "zhenhuan-script").iterdir())[:2]
    novel = pick_novel()
    pdf = work / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n")
    epub_src = next((SAMPLES / "epub").glob("*.epub"))
    broken = work / "broken.epub"
    raw = epub_src.read_bytes()
    broken.write_bytes(raw[: len(raw) // 3])

    # ---- first start: English ----
    d.start()
    try:
        set_language(d, "en")
        nav(d, "library")
        d.wait('[data-testid="nav-library"]')
        time.sleep(0.5)
        d.screenshot("en-01-library-empty")
        check(not d.find_all('[data-testid="persona-card"]'), "a new data folder starts with an empty library")

        # A PDF: a readable error, and the screen still works.
        import_files(d, [pdf])
        err, text = d.wait_text('[data-testid="error-message"]', lambda t: len(t) > 10, "an error for the PDF")
        d.screenshot("en-02-import-error-pdf")
        check("pdf" in text.lower(), f"the PDF error says what the file is: {text!r}")
        import_files(d, [broken])
        err, text = d.wait_text(
            '[data-testid="error-message"]', lambda t: "epub" in t.lower() or "broken" in t.lower(), "an error for the truncated EPUB"
        )
        d.screenshot("en-03-import-error-epub")
        check(len(text) > 20, f"the truncated EPUB gets a readable error: {text!r}")

        # The 甄嬛 script, two episodes as one source.
        import_files(d, zh_script)
        _, status = d.wait_text('[data-testid="import-status"]', lambda t: bool(digits(t)), "the import status")
        d.screenshot("en-04-import-done")
        check("utf" in status.lower() or "gb" in status.lower(), f"the status names the encoding: {status!r}")
        check(max(digits(status)) > 100, f"the status counts the lines: {status!r}")
        d.click(d.wait('[data-testid="import-next"]', "the button to the cast")[0])
        rows = d.wait('[data-testid="cast-row"]', "the cast")
        check(len(rows) >= 5, f"the cast lists {len(rows)} characters")
        d.screenshot("en-05-cast")
        zhen = [r for r in rows if "甄嬛" in [x.strip() for x in d.text(r).split("\n")]]
        check(bool(zhen), "甄嬛 is in the cast")
        d.click(d.inside(zhen[0], '[data-testid="cast-pick"]')[0])

        # The dataset: disable the first row, save.
        drow = d.wait('[data-testid="dataset-row"]', "the dataset rows")
        _, count = d.wait_text('[data-testid="dataset-count"]', lambda t: bool(digits(t)), "the sample count")
        total = digits(count)[0]
        check(total > 50, f"甄嬛's dataset has {total} samples")
        d.screenshot("en-06-dataset")
        first = drow[0]
        first_text = d.text(first)
        box = d.inside(first, 'input[type="checkbox"]')[0]
        check(d.prop(box, "checked") is True, "rows start enabled")
        d.click(box)
        d.wait_text('[data-testid="dataset-count"]', lambda t: str(total - 1) in t.replace(",", ""), "the count of enabled rows to drop by one")
        d.screenshot("en-07-dataset-row-disabled")
        d.click(d.wait('[data-testid="dataset-save"]')[0])
        d.wait('[data-testid="dataset-saved"]', "the saved notice")
        d.screenshot("en-08-dataset-saved")

        # A novel: its cast.
        import_files(d, [novel])
        _, status = d.wait_text('[data-testid="import-status"]', lambda t: bool(digits(t)), "the novel's import status")
        check("novel" in status.lower(), f"the novel is seen as a novel: {status!r}")
        d.click(d.wait('[data-testid="import-next"]')[0])
        rows = d.wait('[data-testid="cast-row"]', "the novel's cast")
        check(len(rows) >= 3, f"the novel's cast lists {len(rows)} characters")
        d.screenshot("en-09-cast-novel")

        nav(d, "settings")
        d.wait('[data-testid="settings-language"]')
        d.screenshot("en-10-settings")
        nav(d, "library")
        cards = d.wait('[data-testid="persona-card"]', "the saved persona")
        d.screenshot("en-11-library")
        check(len(cards) == 1, "the library shows the one saved persona")
    except Failure:
        failure_shot(d)
        raise
    finally:
        d.quit()

    # The library file itself: the persona, its dataset and the disabled row.
    db = sqlite3.connect(data_dir / "library.sqlite")
    (n_personas,) = db.execute("SELECT COUNT(*) FROM personas").fetchone()
    (disabled,) = db.execute("SELECT COUNT(*) FROM dataset_rows WHERE enabled = 0").fetchone()
    (stored,) = db.execute("SELECT COUNT(*) FROM dataset_rows").fetchone()
    db.close()
    check(n_personas == 1 and disabled == 1 and stored == total, f"the library file holds 1 persona, {stored} rows, 1 disabled")

    # ---- second start: the persona is still there; then Chinese ----
    d.start()
    try:
        set_language(d, "en")
        nav(d, "library")
        cards = d.wait('[data-testid="persona-card"]', "the persona after a restart")
        _, card_text = d.wait_text('[data-testid="persona-card"]', lambda t: "甄嬛" in t, "the card to name 甄嬛")
        check(str(total - 1) in card_text.replace(",", ""), f"the card counts the enabled rows: {card_text!r}")
        d.click(d.inside(cards[0], '[data-testid="persona-open"]')[0])
        drow = d.wait('[data-testid="dataset-row"]', "the saved dataset's rows")
        _, count = d.wait_text('[data-testid="dataset-count"]', lambda t: bool(digits(t)), "the saved count")
        check(digits(count)[:2] == [total, total - 1], f"after a restart: {count!r}")
        box = d.inside(drow[0], 'input[type="checkbox"]')[0]
        check(d.prop(box, "checked") is False, "the row disabled before the restart is still disabled")
        check(d.text(drow[0]) == first_text, "it is the same row")
        d.screenshot("en-12-dataset-after-restart")

        set_language(d, "zh")
        d.screenshot("zh-01-settings")
        nav(d, "library")
        d.wait('[data-testid="persona-card"]')
        d.screenshot("zh-02-library")
        import_files(d, zh_script[:1])
        d.wait_text('[data-testid="import-status"]', lambda t: bool(digits(t)), "the import status (zh)")
        d.screenshot("zh-03-import-done")
        d.click(d.wait('[data-testid="import-next"]')[0])
        rows = d.wait('[data-testid="cast-row"]')
        d.screenshot("zh-04-cast")
        zhen = [r for r in rows if "甄嬛" in [x.strip() for x in d.text(r).split("\n")]]
        d.click(d.inside(zhen[0], '[data-testid="cast-pick"]')[0])
        d.wait('[data-testid="dataset-row"]')
        d.screenshot("zh-05-dataset")
        import_files(d, [pdf])
        d.wait_text('[data-testid="error-message"]', lambda t: len(t) > 5, "an error (zh)")
        d.screenshot("zh-06-import-error")
    except Failure:
        failure_shot(d)
        raise
    finally:
        d.quit()


def failure_shot(d):
    try:
        d.screenshot("failure")
    except Exception as e:
        log("no failure screenshot:", e)


def pick_novel():
    """A novel from the samples with plenty of dialogue (a plain .txt)."""
    for pattern in ["pdnc-dev/**/*.txt", "zh-novels/**/*.txt", "**/*.txt"]:
        found = sorted(p for p in SAMPLES.glob(pattern) if p.stat().st_size > 50_000)
        if found:
            return found[0]
    raise Failure("no novel among the samples")


def main():
    if not APP.exists():
        print(f"{APP} is missing: build it first with scripts/build-app.sh", file=sys.stderr)
        return 2
    driver = shutil.which("WebKitWebDriver")
    if not driver:
        print("WebKitWebDriver is missing: install Debian's webkit2gtk-driver", file=sys.stderr)
        return 2
    if SCREENS.exists():
        shutil.rmtree(SCREENS)
    work = Path(tempfile.mkdtemp(prefix="dramatis-e2e-"))
    # DRAMATIS_E2E_DATA keeps the app's data folder after the run (the
    # installer check looks at it after uninstalling).
    data_dir = Path(os.environ["DRAMATIS_E2E_DATA"]) if os.environ.get("DRAMATIS_E2E_DATA") else work / "data"
    if data_dir.exists() and any(data_dir.iterdir()):
        print(f"{data_dir} is not empty: the test needs a new data folder", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["DRAMATIS_DATA_DIR"] = str(data_dir)
    env["TAURI_WEBVIEW_AUTOMATION"] = "true"
    env.setdefault("LANG", "C.UTF-8")
    procs = []
    try:
        if not env.get("DISPLAY"):
            # Xvfb picks a free display number and writes it to the pipe.
            xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x860x24", "-nolisten", "tcp"],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            procs.append(xvfb)
            number = xvfb.stdout.readline().strip()
            if not number.isdigit():
                raise Failure("Xvfb did not start (is the xvfb package installed?)")
            env["DISPLAY"] = ":" + number
        port = free_port()
        procs.append(subprocess.Popen([driver, f"--port={port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        end = time.time() + 20
        while time.time() < end:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2)
                break
            except Exception:
                time.sleep(0.2)
        run(port, data_dir, work)
        log(f"passed; screenshots in {SCREENS}")
        return 0
    except Failure as e:
        print(f"[e2e] FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
