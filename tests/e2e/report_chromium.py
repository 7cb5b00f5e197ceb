#!/usr/bin/python3
"""The drill report's HTML page in a real browser (Debian's headless Chromium).

test_report (the cmocka test of drills/report) writes sample reports into a temporary
directory (CFDR_REPORT_OUT); this script opens each page in headless Chromium and checks:
  - after the browser parsed the page, the number of elements with class "probe" equals the
    report's probe count (the JSON's "probes" and its timeline length), with the same split by
    origin/error as the timeline;
  - the parsed DOM holds no script element and nothing loads from elsewhere;
  - a screenshot exists, has the window's size and is not blank: many distinct colours, the
    origin colours of the chart (blue primary, orange secondary) and the verdict badge.

Chromium missing is a failure (not a skip): `make deps` installs it. CFDR_CHROMIUM names
another binary; CFDR_SCREENSHOT_DIR keeps the screenshots.
Every browser run is bounded in time and its process group is killed by PID afterwards.
"""
import html.parser
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

CHROMIUM_TIMEOUT_S = 120
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def find_chromium():
    forced = os.environ.get("CFDR_CHROMIUM")  # another browser binary, for trying this script
    for c in [forced] if forced else ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if c and os.access(c, os.X_OK):
            return c
    return None


def run_bounded(argv, env, stdout_path, stderr_path, timeout_s):
    """Runs argv in its own process group; kills the group by its PID when done or late."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            try:  # chromium's helpers (zygote, utility processes) share the group
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return rc


class ClassCounter(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.probe = {"all": 0, "primary": 0, "secondary": 0, "unknown": 0, "error": 0}
        self.scripts = 0
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href", "xlink:href"):
            v = a.get(name)
            if v and ("http" in v.lower() or "//" in v):
                self.external.append("%s %s=%s" % (tag, name, v))
        words = (a.get("class") or "").split()
        if "probe" in words:
            self.probe["all"] += 1
            for k in ("primary", "secondary", "unknown", "error"):
                if k in words:
                    self.probe[k] += 1

    handle_startendtag = handle_starttag


def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what Chromium writes): (width, height, rows of bytes, bpp)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    if depth != 8 or color not in (2, 6) or interlace != 0:
        raise ValueError("unexpected PNG format depth=%d color=%d interlace=%d" % (depth, color, interlace))
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        elif ftype != 0:
            raise ValueError("bad PNG filter %d" % ftype)
        rows.append(bytes(line))
        prev = line
    return width, height, rows, bpp


def check_screenshot(name, path, want_w, want_h, passed, has_errors):
    if not os.path.exists(path) or os.path.getsize(path) < 10000:
        fail("%s: no plausible screenshot at %s" % (name, path))
        return
    try:
        w, h, rows, bpp = png_pixels(path)
    except (ValueError, zlib.error, struct.error, TypeError) as e:
        fail("%s: screenshot does not decode: %s" % (name, e))
        return
    if (w, h) != (want_w, want_h):
        fail("%s: screenshot is %dx%d, expected %dx%d" % (name, w, h, want_w, want_h))
    colours, counts = set(), {"blue": 0, "orange": 0, "green": 0, "red": 0, "vermillion": 0}
    for row in rows:
        for x in range(0, w * bpp, bpp):
            r, g, b = row[x], row[x + 1], row[x + 2]
            colours.add((r, g, b))
            if b > 130 and b - r > 90 and b - g > 30:
                counts["blue"] += 1  # primary #0072b2
            elif r > 190 and 120 < g < 190 and b < 80:
                counts["orange"] += 1  # secondary #e69f00
            elif g > 100 and g - r > 60 and g - b > 40:
                counts["green"] += 1  # PASS badge #1a7f37
            elif r > 150 and g < 60 and b < 70:
                counts["red"] += 1  # FAIL badge #b42318
            elif r > 190 and 70 < g < 120 and b < 60:
                counts["vermillion"] += 1  # error marks #d55e00
    print("%s: %dx%d, %d colours, %s" % (name, w, h, len(colours), counts))
    if len(colours) < 64:
        fail("%s: screenshot looks blank (%d distinct colours)" % (name, len(colours)))
    if counts["blue"] < 200:
        fail("%s: no primary-coloured probes visible (%d pixels)" % (name, counts["blue"]))
    if counts["orange"] < 200:
        fail("%s: no secondary-coloured probes visible (%d pixels)" % (name, counts["orange"]))
    badge = "green" if passed else "red"
    if counts[badge] < 500:
        fail("%s: the %s verdict badge is not visible (%d pixels)" % (name, badge, counts[badge]))
    if has_errors and counts["vermillion"] < 100:  # the legend's cross alone is ~12 pixels
        fail("%s: error marks not visible (%d pixels)" % (name, counts["vermillion"]))


def main():
    chromium = find_chromium()
    if not chromium:
        print("FAIL: chromium is not installed; `make deps` installs it (Debian package "
              "chromium), or run: apt-get install chromium", file=sys.stderr)
        return 1
    bin_path = os.environ.get("CFDR_BIN")
    if not bin_path:
        print("FAIL: CFDR_BIN is not set (run through ctest)", file=sys.stderr)
        return 1
    test_report = os.path.join(os.path.dirname(bin_path), "test_report")
    if not os.access(test_report, os.X_OK):
        print("FAIL: %s is missing (build first)" % test_report, file=sys.stderr)
        return 1

    work = tempfile.mkdtemp(prefix="cfdr-chromium-")
    try:
        reports = os.path.join(work, "reports")
        env = dict(os.environ, CFDR_REPORT_OUT=reports)
        rc = run_bounded([test_report], env, os.path.join(work, "unit.out"),
                         os.path.join(work, "unit.err"), 300)
        if rc != 0:
            with open(os.path.join(work, "unit.out"), errors="replace") as f:
                sys.stderr.write(f.read()[-3000:])
            print("FAIL: test_report exited %s" % rc, file=sys.stderr)
            return 1

        names = ["pause", "blackhole", "failback", "errors", "interrupted", "large"]
        for name in names:
            page = os.path.join(reports, name + ".html")
            with open(os.path.join(reports, name + ".json")) as f:
                rep = json.load(f)
            want = {"all": rep["probes"], "primary": 0, "secondary": 0, "unknown": 0, "error": 0}
            if len(rep["timeline"]) != rep["probes"]:
                fail("%s: timeline has %d entries for %d probes" % (name, len(rep["timeline"]), rep["probes"]))
            for t_s, latency_ms, status, origin, error in rep["timeline"]:
                is_error = error != 0 or status < 200 or status >= 400
                want["error" if is_error else origin] += 1

            # A fresh profile and home per run: nothing is shared with the user or other runs.
            profile = tempfile.mkdtemp(dir=work)
            benv = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile)
            common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                      "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync",
                      "--user-data-dir=" + os.path.join(profile, "data"), "--window-size=1280,1600"]
            url = "file://" + page

            dom_path = os.path.join(work, name + ".dom")
            t0 = time.monotonic()
            rc = run_bounded(common + ["--dump-dom", url], benv, dom_path,
                             os.path.join(work, name + ".dom.err"), CHROMIUM_TIMEOUT_S)
            took = time.monotonic() - t0
            if rc != 0:
                with open(os.path.join(work, name + ".dom.err"), errors="replace") as f:
                    sys.stderr.write(f.read()[-2000:])
                fail("%s: chromium --dump-dom exited %s" % (name, rc))
                continue
            with open(dom_path, encoding="utf-8", errors="replace") as f:
                dom = f.read()
            counter = ClassCounter()
            counter.feed(dom)
            counter.close()
            print("%s: %d probes, DOM has %s (%.1f s)" % (name, rep["probes"], counter.probe, took))
            if counter.probe != want:
                fail("%s: DOM probe marks %s, report says %s" % (name, counter.probe, want))
            if "</svg>" not in dom or "<table" not in dom:
                fail("%s: the parsed page lacks its chart or tables" % name)
            if counter.scripts:
                fail("%s: %d script elements in the DOM" % (name, counter.scripts))
            if counter.external:
                fail("%s: external references %s" % (name, counter.external[:3]))
            if name == "errors" and "<script>alert" in dom:
                fail("errors: the project name was parsed as markup")

            png = os.path.join(work, name + ".png")
            rc = run_bounded(common + ["--screenshot=" + png, url], benv,
                             os.path.join(work, name + ".shot.out"),
                             os.path.join(work, name + ".shot.err"), CHROMIUM_TIMEOUT_S)
            if rc != 0:
                fail("%s: chromium --screenshot exited %s" % (name, rc))
                continue
            if name in ("pause", "errors", "blackhole"):  # decoding is slow in Python: a few
                check_screenshot(name, png, 1280, 1600, rep["result"] == "pass",
                                 rep["client_errors"] > 0)
            elif not os.path.exists(png) or os.path.getsize(png) < 10000:
                fail("%s: no plausible screenshot" % name)
            keep = os.environ.get("CFDR_SCREENSHOT_DIR")
            if keep and os.path.exists(png):
                shutil.copy(png, os.path.join(keep, name + ".png"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        return 1
    print("report_chromium: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
