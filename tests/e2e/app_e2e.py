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
        studio(d)
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
    (finished,) = db.execute("SELECT COUNT(*) FROM training_runs WHERE status = 'finished'").fetchone()
    (cancelled,) = db.execute("SELECT COUNT(*) FROM training_runs WHERE status = 'cancelled'").fetchone()
    (up,) = db.execute("SELECT COUNT(*) FROM messages WHERE rating = 1").fetchone()
    (base_replies,) = db.execute("SELECT COUNT(*) FROM messages WHERE role = 'assistant' AND adapter_id IS NULL").fetchone()
    db.close()
    check(n_personas == 1 and disabled == 1 and stored == total, f"the library file holds 1 persona, {stored} rows, 1 disabled")
    check(finished == 1 and cancelled == 1, f"one run finished, one cancelled ({finished}, {cancelled})")
    check(up == 1 and base_replies == 1, f"one reply thumbed up ({up}), one written by the base model ({base_replies})")

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
        studio_after_restart(d)

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
        for theme in ("light", "dark"):
            set_theme(d, theme)
            nav(d, "models")
            d.wait('[data-testid="model-row"]', "the model list (zh)")
            time.sleep(1)
            d.screenshot(f"zh-07-models-{theme}")
            open_persona(d, "persona-train")
            d.wait('[data-testid="train-preset-quick"]')
            time.sleep(1)
            d.screenshot(f"zh-08-train-{theme}")
            open_persona(d, "persona-chat")
            d.wait('[data-testid="chat-input"]', "the chat (zh)")
            time.sleep(1)
            d.screenshot(f"zh-09-chat-{theme}")
        set_theme(d, "system")
    except Failure:
        failure_shot(d)
        raise
    finally:
        d.quit()

    # ---- third start: a screenplay opened with Dramatis from the file manager ----
    fountain = sorted((SAMPLES / "fountain").glob("*.fountain"))[0]
    d.start([str(fountain)])
    try:
        set_language(d, "en")
        nav(d, "import")
        _, status = d.wait_text('[data-testid="import-status"]', lambda t: bool(digits(t)), "the opened screenplay's import")
        check(fountain.name in status or max(digits(status)) > 10, f"the file it was opened with is imported: {status!r}")
        d.screenshot("en-40-opened-with-file")
    except Failure:
        failure_shot(d)
        raise
    finally:
        d.quit()


GGUF = ROOT / ".cache" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def set_select(d, el, value):
    d.js(
        "const s = arguments[0]; s.value = arguments[1];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));",
        {ELEMENT: el},
        value,
    )


def set_theme(d, theme):
    d.js("localStorage.setItem('dramatis.theme', arguments[0]); document.documentElement.dataset.theme = arguments[0];", theme)
    time.sleep(0.3)


def open_persona(d, testid):
    nav(d, "library")
    card = d.wait('[data-testid="persona-card"]', "the persona card")[0]
    d.click(d.inside(card, f'[data-testid="{testid}"]')[0])


def train_run(d, steps, cancel):
    """Start a quick run of `steps` steps; cancel it after its first loss, or let it finish."""
    d.click(d.wait('[data-testid="train-preset-quick"]', "the Quick preset")[0])
    if not d.find_all('[data-testid="train-max-steps"]'):
        d.click(d.wait('[data-testid="train-advanced"]', "the Advanced toggle")[0])
    d.type(d.wait('[data-testid="train-max-steps"]', "the max steps field")[0], str(steps))
    # Small batches of short samples: the test build is a debug build.
    d.type(d.wait('[data-testid="train-batch-size"]', "the batch size field")[0], "1")
    d.type(d.wait('[data-testid="train-max-len"]', "the length field")[0], "128")
    d.click(d.wait('[data-testid="train-start"]', "the start button")[0])
    _, loss = d.wait_text('[data-testid="train-loss"]', lambda t: _number(t) is not None, "a training loss", timeout=600)
    check(0 < _number(loss) < 20, f"the loss is a plausible number: {loss!r}")
    if cancel:
        d.click(d.wait('[data-testid="train-cancel"]', "the cancel button")[0])
        d.wait('[data-testid="train-cancel"]', "the run to stop", gone=True, timeout=300)
        return None
    chart = d.wait('[data-testid="train-chart"]', "the loss chart")[0]
    first_points = int(d.js("return arguments[0].getAttribute('data-points') || '0';", {ELEMENT: chart}))
    _, status = d.wait_text('[data-testid="train-status"]', lambda t: "done" in t.lower(), "the run to finish", timeout=900)
    chart = d.wait('[data-testid="train-chart"]')[0]
    points = int(d.js("return arguments[0].getAttribute('data-points') || '0';", {ELEMENT: chart}))
    check(points >= steps and points > first_points, f"the chart grew from {first_points} to {points} points")
    return status


def _number(t):
    try:
        return float(t.strip())
    except ValueError:
        return None


def assistant_replies(d):
    """How many finished replies the chat shows (one query: streaming bubbles come and go)."""
    return d.js("return document.querySelectorAll("
                "'[data-testid=\"chat-message\"][data-role=\"assistant\"]:not([data-streaming=\"true\"])').length;")


def chat_turn(d, text):
    d.wait('[data-testid="chat-loading"]', "the model to load", gone=True, timeout=300)
    before = assistant_replies(d)
    d.type(d.wait('[data-testid="chat-input"]', "the chat input")[0], text)
    end = time.time() + 60
    while d.prop(d.wait('[data-testid="chat-send"]', "the send button")[0], "disabled") and time.time() < end:
        time.sleep(0.25)
    d.click(d.wait('[data-testid="chat-send"]')[0])
    end = time.time() + 600
    while time.time() < end:
        if assistant_replies(d) > before and not d.find_all('[data-testid="chat-stop"]'):
            break
        time.sleep(0.3)
    else:
        raise Failure("no reply to " + repr(text))
    users = d.find_all('[data-testid="chat-message"][data-role="user"]')
    check(any(text in d.text(u) for u in users), f"the question {text!r} shows as the user's message")


def studio(d):
    """Part 2: add the model, train (cancel one run, finish another), chat with the persona and the base model."""
    nav(d, "models")
    d.wait('[data-testid="model-path"]', "the Models screen")
    time.sleep(1)
    d.screenshot("en-20-models")
    d.type(d.wait('[data-testid="model-path"]')[0], str(GGUF.with_name("missing.gguf")))
    d.click(d.wait('[data-testid="model-add"]')[0])
    _, err = d.wait_text('[data-testid="error-message"]', lambda t: len(t) > 10, "an error for a missing model file")
    check("missing.gguf" in err or "not found" in err.lower(), f"a missing file is named: {err!r}")
    d.type(d.wait('[data-testid="model-path"]')[0], str(GGUF))
    d.click(d.wait('[data-testid="model-add"]')[0])
    d.wait_text('[data-testid="model-row"]', lambda t: "SmolLM2" in t, "the added model's row")
    d.screenshot("en-21-models-added")
    # A recommended model from the (local) hub, into the Hugging Face cache.
    card, _ = d.wait_text('[data-testid="recommended-card"]', lambda t: "SmolLM2 360M" in t, "the SmolLM2 360M card")
    d.click(d.inside(card, '[data-testid="model-download"]')[0])
    d.wait_text('[data-testid="model-row"]', lambda t: HUB_REPO in t, "the downloaded model's row")
    d.screenshot("en-22-models-downloaded")

    open_persona(d, "persona-train")
    d.wait('[data-testid="train-preset-quick"]', "the training screen")
    time.sleep(1)
    pick = d.wait('[data-testid="train-model"]', "the model choice")[0]
    set_select(d, pick, str(GGUF))
    time.sleep(0.3)
    check(d.js("return arguments[0].value;", {ELEMENT: pick}) == str(GGUF), "the SmolLM2 GGUF is the model to train")
    d.screenshot("en-23-train")
    train_run(d, 6, cancel=True)
    d.screenshot("en-24-train-cancelled")
    status = train_run(d, 3, cancel=False)
    log("status:", status)
    d.js("arguments[0].scrollIntoView({block: 'center'});", {ELEMENT: d.wait('[data-testid="train-chart"]')[0]})
    time.sleep(0.5)
    d.screenshot("en-25-train-done")

    open_persona(d, "persona-chat")
    select = d.wait('[data-testid="adapter-select"]', "the adapter choice")[0]
    d.wait('[data-testid="chat-input"]', "the chat input")
    # Until the persona's adapters have loaded the choice shows the base model.
    d.wait('[data-testid="adapter-select"] option:not([value="base"])', "the persona's adapters")
    value = d.js("return arguments[0].value;", {ELEMENT: select})
    check(value not in ("", "base"), f"the trained adapter is chosen by default: {value!r}")
    # Short replies: the test build is a debug build.
    d.wait('[data-testid="chat-loading"]', "the model to load", gone=True, timeout=300)
    d.click(d.wait('[data-testid="chat-settings"]', "the chat settings")[0])
    rng = d.wait('[data-testid="chat-setting-max_tokens"]', "the reply length")[0]
    d.js(
        "const el = arguments[0];"
        "Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, arguments[1]);"
        "el.dispatchEvent(new Event('input', {bubbles: true}));",
        {ELEMENT: rng},
        "16",
    )
    d.click(d.wait('[data-testid="chat-settings"]')[0])
    chat_turn(d, "Who are you?")
    d.click(d.wait('[data-testid="chat-thumb-up"]', "a thumbs-up button")[-1])
    time.sleep(0.5)
    d.screenshot("en-26-chat-persona")
    set_select(d, select, "base")
    time.sleep(0.5)
    chat_turn(d, "And the base model?")
    d.screenshot("en-27-chat-base")


def studio_after_restart(d):
    """After a restart: the run, the adapter, the conversation and the rating are still there."""
    open_persona(d, "persona-train")
    rows = d.wait('[data-testid="run-row"]', "the run history")
    check(len(rows) == 2, f"both runs are in the history ({len(rows)})")
    active = d.wait('[data-testid="run-active"]', "the active adapter's mark")
    d.js("arguments[0].scrollIntoView({block: 'center'});", {ELEMENT: active[0]})
    time.sleep(0.5)
    d.screenshot("en-30-train-history")
    open_persona(d, "persona-chat")
    conv, _ = d.wait_text('[data-testid="chat-conversation"]', lambda t: "Who are you?" in t, "the conversation in the list")
    d.click(d.inside(conv, "button")[0])
    d.wait_text('[data-testid="chat-message"][data-role="user"]', lambda t: "And the base model?" in t, "the conversation's turns")
    d.wait('[data-testid="chat-loading"]', "the model to load", gone=True, timeout=300)
    pressed = d.js("return Array.from(document.querySelectorAll('[data-testid=\"chat-thumb-up\"]'))"
                   ".map((b) => b.getAttribute('aria-pressed'));")
    check(pressed.count("true") == 1, f"the thumbs-up is still on one reply: {pressed}")
    d.screenshot("en-31-chat-after-restart")


HUB_REPO = "HuggingFaceTB/SmolLM2-360M-Instruct"
HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def serve_hub():
    """A local server with the Hugging Face hub's URL layout, serving the tiny
    test model under a recommended model's id (the hub is unreachable here)."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fixture = ROOT / "tests" / "fixtures" / "models" / "tiny-llama"
    files = {f: (fixture / f).read_bytes() for f in
             ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            api = f"/api/models/{HUB_REPO}/revision/main"
            resolve = f"/{HUB_REPO}/resolve/main/"
            headers, status = {}, 200
            if self.path == api:
                body = json.dumps({"sha": HUB_COMMIT, "siblings": [{"rfilename": k} for k in files]}).encode()
                headers["Content-Type"] = "application/json"
            elif self.path.startswith(resolve) and self.path[len(resolve):] in files:
                data = files[self.path[len(resolve):]]
                rng = self.headers.get("Range", "")
                start, end = 0, len(data) - 1
                if rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    start = int(a or 0)
                    end = min(int(b), len(data) - 1) if b else end
                body = data[start:end + 1]
                status = 206
                headers.update({"x-repo-commit": HUB_COMMIT, "etag": f'"{hashlib.sha256(data).hexdigest()}"',
                                "Content-Range": f"bytes {start}-{end}/{len(data)}"})
            else:
                status, body = 404, b"not found"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


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
    hub = serve_hub()
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{hub.server_address[1]}"
    env["HF_HUB_CACHE"] = str(work / "hf-cache")
    env.pop("HF_HUB_OFFLINE", None)
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
