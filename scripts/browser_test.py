#!/usr/bin/env python3
"""Real-browser test of the `samq serve` page: headless Chromium driven over
WebDriver (chromedriver's HTTP API, standard library only).

It starts `samq serve MODEL --port 0`, opens the page, uploads IMAGE through
the page's file input, waits for the encode, clicks a point on the object with
real pointer events, checks that a mask overlay appears (the page's state and
the canvas pixels under the click), drags a box, and saves a screenshot.
Everything runs on 127.0.0.1 and is bounded by timeouts.

usage: scripts/browser_test.py SAMQ_BINARY MODEL.samq IMAGE.png X,Y SCREENSHOT.png
"""
import base64, json, os, re, signal, socket, subprocess, sys, time, urllib.error, urllib.request

TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.session = None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read())["value"]
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"WebDriver {method} {path}: {e.code} {e.read()[:500]!r}")

    def start(self, phone=False):
        options = {"binary": find_chromium(),
                   "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=900,760", "--force-device-scale-factor=1"]}
        if phone:   # a phone-sized, touch screen
            options["mobileEmulation"] = {"deviceMetrics": {"width": 390, "height": 780, "pixelRatio": 2, "touch": True}}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, source, *args):
        return self.s("POST", "/execute/sync", {"script": source, "args": list(args)})

    def element(self, css):
        value = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(value.values()))

    def wait_for(self, source, what, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = self.script(source)
            if value:
                return value
            time.sleep(0.1)
        status = self.script("return document.getElementById('status').textContent")
        raise RuntimeError(f"timed out waiting for {what}; page status: {status}")

    def pointer(self, actions, kind="mouse"):
        self.s("POST", "/actions", {"actions": [{"type": "pointer", "id": kind, "parameters": {"pointerType": kind},
                                                 "actions": actions}]})
        self.s("DELETE", "/actions")


def find_chromium():
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"):
        if os.path.exists(path):
            return path
    raise SystemExit("chromium not found (apt-get install chromium chromium-driver)")


def main():
    samq, model, image, point, screenshot = sys.argv[1:6]
    px, py = (float(v) for v in point.split(","))
    server = subprocess.Popen([samq, "serve", model, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    driver_port = free_port()
    chromedriver = subprocess.Popen(["chromedriver", f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wd = WebDriver(driver_port)
    try:
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", server.stdout.readline())
        if not m:
            raise SystemExit(f"samq serve did not start: {server.stderr.read()}")
        url = f"http://127.0.0.1:{m.group(1)}/"
        for _ in range(100):   # chromedriver takes a moment to listen
            try:
                wd.call("GET", "/status"); break
            except Exception:
                time.sleep(0.1)
        wd.start()
        wd.s("POST", "/url", {"url": url})
        wd.wait_for("return document.body.dataset.state === 'idle' && document.getElementById('footer').textContent.length > 0",
                    "the page to load the model info")

        # Upload through the page's own file input (hidden behind its label button).
        wd.script("document.getElementById('file').style.display = 'block'")
        file_input = wd.element("#file")
        wd.s("POST", f"/element/{file_input}/value", {"text": os.path.abspath(image)})
        wd.script("document.getElementById('file').style.display = ''")
        wd.wait_for("return document.body.dataset.state === 'ready'", "the image to be encoded")

        # Click the object with real pointer events at image pixel (px, py).
        rect = wd.script("const r = document.getElementById('view').getBoundingClientRect();"
                         "return [r.left, r.top, r.width, r.height, state.width, state.height]")
        left, top, width, height, iw, ih = rect
        cx, cy = int(round(left + px / iw * width)), int(round(top + py / ih * height))
        wd.pointer([{"type": "pointerMove", "x": cx, "y": cy, "origin": "viewport"},
                    {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}])
        wd.wait_for("return document.body.dataset.state === 'predicted'", "a mask")
        pixels = int(wd.script("return document.body.dataset.maskPixels"))
        if pixels < 50:
            raise SystemExit(f"FAIL: the overlay has only {pixels} mask pixels")
        covers = wd.script(f"const m = state.result.masks[state.selected].rle; return state.result.masks.length === 3 && "
                           f"(() => {{ const d = new Uint8ClampedArray(state.width * state.height * 4); paintRLE(d, m, [1,1,1]);"
                           f" return d[({int(py)} * state.width + {int(px)}) * 4 + 3] === 255; }})()")
        if not covers:
            raise SystemExit("FAIL: the selected mask does not cover the clicked point")
        # The canvas is tinted by the overlay colour (30, 144, 255) on a mask pixel (away from the
        # point marker) and shows the bare image off the mask.
        probe = wd.script(f"""
            const m = state.result.masks[state.selected].rle, w = state.width, h = state.height;
            const d = new Uint8ClampedArray(w * h * 4); paintRLE(d, m, [1, 1, 1]);
            const inMask = (x, y) => d[(y * w + x) * 4 + 3] === 255;
            let on = null, off = null;
            for (let y = 0; y < h && !(on && off); y++) for (let x = 0; x < w; x++) {{
              const r = Math.hypot(x - {px}, y - {py});
              if (!on && r > 15 && r < 60 && inMask(x, y) && inMask(x + 1, y) && inMask(x - 1, y) && inMask(x, y + 1) && inMask(x, y - 1)) on = [x, y];
              if (!off && r > 15 && r < 200 && !inMask(x, y) && x > 2 && y > 2 && x < w - 3 && y < h - 3 && !inMask(x + 2, y) && !inMask(x - 2, y) && !inMask(x, y + 2) && !inMask(x, y - 2)) off = [x, y];
            }}
            const c = document.getElementById('view'), sx = c.width / w, sy = c.height / h;
            const bare = document.createElement('canvas'); bare.width = c.width; bare.height = c.height;
            const b = bare.getContext('2d'); b.drawImage(state.imageEl, 0, 0, c.width, c.height);
            const sample = (p) => {{ const X = Math.floor((p[0] + 0.5) * sx), Y = Math.floor((p[1] + 0.5) * sy);
              return [Array.from(c.getContext('2d').getImageData(X, Y, 1, 1).data.slice(0, 3)),
                      Array.from(b.getImageData(X, Y, 1, 1).data.slice(0, 3))]; }};
            return [on, off, on && sample(on), off && sample(off), Number(document.getElementById('opacity').value) / 100];""")
        on, off, on_px, off_px, alpha = probe
        if not on or not off:
            raise SystemExit(f"FAIL: cannot find probe pixels in and off the mask ({on}, {off})")
        shown, raw = on_px
        expected = [round(r + (o - r) * alpha) for r, o in zip(raw, (30, 144, 255))]
        if max(abs(a - e) for a, e in zip(shown, expected)) > 8:
            raise SystemExit(f"FAIL: canvas pixel {shown} at mask pixel {on} is not the overlay blend {expected} of {raw}")
        if max(abs(a - e) for a, e in zip(*off_px)) > 8:
            raise SystemExit(f"FAIL: canvas pixel {off_px[0]} off the mask at {off} differs from the image {off_px[1]}")
        png = base64.b64decode(wd.s("GET", "/screenshot"))
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        with open(screenshot, "wb") as f:
            f.write(png)
        status = wd.script("return document.getElementById('status').textContent")

        # A drag draws a box prompt and gives a new mask.
        before = wd.script("return state.result.prediction")
        wd.pointer([{"type": "pointerMove", "x": cx - 40, "y": cy - 35, "origin": "viewport"},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerMove", "x": cx + 40, "y": cy + 35, "origin": "viewport", "duration": 100},
                    {"type": "pointerUp", "button": 0}])
        wd.wait_for(f"return document.body.dataset.state === 'predicted' && state.result.prediction !== '{before}' && state.box !== null",
                    "a box mask")
        # Undo returns to the point-only mask.
        wd.script("document.getElementById('undo').click()")
        if wd.script("return state.box === null && state.result.prediction === arguments[0]", before) is not True:
            raise SystemExit("FAIL: undo did not restore the previous prompt")

        # The same on a phone-sized touch screen: the canvas fits the width and a tap segments.
        wd.s("DELETE", ""); wd.session = None
        wd.start(phone=True)
        wd.s("POST", "/url", {"url": url})
        wd.wait_for("return document.body.dataset.state === 'idle' && document.getElementById('footer').textContent.length > 0",
                    "the page on the phone")
        # This time the image arrives by drag and drop (a drop event carrying the file).
        with open(image, "rb") as f:
            encoded = base64.b64encode(f.read()).decode()
        wd.script("""
            const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
            document.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
            document.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));""", encoded)
        wd.wait_for("return document.body.dataset.state === 'ready'", "the dropped image to be encoded (phone)")
        left, top, width, height, iw, ih, page_width = wd.script(
            "const r = document.getElementById('view').getBoundingClientRect();"
            "return [r.left, r.top, r.width, r.height, state.width, state.height, document.documentElement.scrollWidth]")
        if width > 390 or page_width > 390:
            raise SystemExit(f"FAIL: on a 390-pixel screen the canvas is {width} wide and the page {page_width}")
        tx, ty = int(round(left + px / iw * width)), int(round(top + py / ih * height))
        wd.pointer([{"type": "pointerMove", "x": tx, "y": ty, "origin": "viewport"},
                    {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}], kind="touch")
        wd.wait_for("return document.body.dataset.state === 'predicted'", "a mask from a tap")
        phone_pixels = int(wd.script("return document.body.dataset.maskPixels"))
        if phone_pixels < 50:
            raise SystemExit(f"FAIL: a tap gave an overlay of {phone_pixels} pixels")
        phone_shot = os.path.splitext(screenshot)[0] + "_phone.png"
        with open(phone_shot, "wb") as f:
            f.write(base64.b64decode(wd.s("GET", "/screenshot")))
        print(f"PASS: mask of {pixels} pixels under the click ({status}); box and undo work; "
              f"a dropped image and a tap on a 390-pixel touch screen give {phone_pixels}; screenshots {screenshot}, {phone_shot}")
    finally:
        try:
            if wd.session:
                wd.s("DELETE", "")
        except Exception:
            pass
        chromedriver.terminate()
        server.send_signal(signal.SIGTERM)
        try:
            chromedriver.wait(timeout=10); server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            chromedriver.kill(); server.kill()


if __name__ == "__main__":
    main()
