#!/usr/bin/env python3
"""report_browser.py TOOL OUTDIR: the HTML report opened for real in headless Chromium.

1. Harness self-check: a page with an unescaped <script> DOES change document.title under the
   same Chromium flags, so a quiet result below means something.
2. A report built from a hostile transcript (every model/judge text an injection attempt): after
   Chromium ran it, the DOM (--dump-dom) has the report's own title, no data-pwned attribute,
   no <script>/<iframe>/<img>/<object>/<a> element, no on* attribute, no javascript: URL, exactly
   one <style> and one <meta http-equiv> (the CSP), and the hostile strings are present as text.
3. A screenshot of the plain report shows the charts: a PNG of the window size with many
   colours, and enough pixels of each category's bar colour.
"""
import html.parser
import os
import struct
import subprocess
import sys
import zlib

CHROMIUM = os.environ.get("CHROMIUM", "chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--disable-extensions", "--user-data-dir=%s"]


def chromium(outdir, *args):
    flags = [f % os.path.join(outdir, "chromium-profile") if "%s" in f else f for f in FLAGS]
    res = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)
    return res.stdout


class DomCheck(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = {}
        self.problems = []
        self.title = None
        self._in_title = False
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "title" and self.title is None:  # the document's; SVGs have their own
            self._in_title = True
            self.title = ""
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag}> has event handler attribute {name}")
            if name == "data-pwned":
                self.problems.append(f"<{tag}> got data-pwned={value}: a script ran")
            if value and "javascript:" in value.lower() and name in ("href", "src", "data",
                                                                     "action", "content"):
                self.problems.append(f"<{tag} {name}> holds a javascript: URL")

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.text.append(data)


def check_dom(dom, want_title):
    p = DomCheck()
    p.feed(dom)
    problems = list(p.problems)
    if p.title != want_title:
        problems.append(f"title is {p.title!r}, want {want_title!r}")
    for tag in ("script", "iframe", "img", "object", "embed", "a", "form", "base"):
        if p.tags.get(tag):
            problems.append(f"{p.tags[tag]} <{tag}> element(s) in the DOM")
    if p.tags.get("style", 0) != 1:
        problems.append(f"{p.tags.get('style', 0)} <style> elements, want exactly 1")
    if p.tags.get("meta", 0) != 2:
        problems.append(f"{p.tags.get('meta', 0)} <meta> elements, want 2 (charset, CSP)")
    return problems, "".join(p.text)


def png_pixels(path):
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into rows of tuples."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    tool, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    fails = []

    # 1. The harness can see a script run.
    bad = os.path.join(outdir, "browser-selfcheck.html")
    with open(bad, "w") as f:
        f.write("<!DOCTYPE html><html><head><title>clean</title></head><body>"
                "<script>document.title='PWNED';"
                "document.documentElement.setAttribute('data-pwned','1')</script></body></html>")
    probs, _ = check_dom(chromium(outdir, "--dump-dom", "file://" + bad), "clean")
    if not any("PWNED" in p for p in probs) or not any("data-pwned" in p for p in probs):
        fails.append(f"self-check: an unescaped script did not show up as running: {probs}")

    # 2. The hostile report.
    hostile = os.path.join(outdir, "report-hostile.html")
    subprocess.run([tool, hostile, "hostile"], check=True)
    dom = chromium(outdir, "--dump-dom", "file://" + hostile)
    if "amlab report" not in dom:
        fails.append("hostile report: Chromium returned no DOM")
    probs, text = check_dom(dom, "amlab report: run 1")
    fails += ["hostile report: " + p for p in probs]
    for needle in ["<script>document.title='PWNED'", "onerror=", "javascript:", "</style>",
                   "<svg onload="]:
        if needle not in text:
            fails.append(f"hostile report: text {needle!r} is not shown escaped as text")

    # 3. The plain report's screenshot shows the charts.
    plain = os.path.join(outdir, "report-plain.html")
    shot = os.path.join(outdir, "report-plain.png")
    subprocess.run([tool, plain, "plain"], check=True)
    if os.path.exists(shot):
        os.unlink(shot)
    chromium(outdir, "--window-size=1200,1800", "--screenshot=" + shot, "file://" + plain)
    if not os.path.exists(shot) or os.path.getsize(shot) < 20000:
        fails.append(f"screenshot {shot} missing or tiny")
    else:
        w, h, bpp, rows = png_pixels(shot)
        if (w, h) != (1200, 1800):
            fails.append(f"screenshot is {w}x{h}, want 1200x1800")
        colours = {}
        for row in rows:
            for i in range(0, len(row), bpp):
                px = tuple(row[i:i + 3])
                colours[px] = colours.get(px, 0) + 1
        # The bars: palette colours at 75% opacity over white, one per category.
        for name, rgb in [("blackmail", (0xc0, 0x39, 0x2b)), ("research-sabotage",
                          (0x24, 0x71, 0xa3)), ("framing", (0x7d, 0x3c, 0x98))]:
            want = tuple(round(0.75 * c + 0.25 * 255) for c in rgb)
            n = sum(cnt for px, cnt in colours.items()
                    if all(abs(a - b) <= 3 for a, b in zip(px, want)))
            if n < 2000:
                fails.append(f"screenshot: only {n} pixels of the {name} bar colour {want}")
        if len(colours) < 50:
            fails.append(f"screenshot has only {len(colours)} colours")
        print(f"screenshot {shot}: {w}x{h}, {len(colours)} colours")

    for f in fails:
        print("FAIL", f)
    print(f"browser checks: {len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
