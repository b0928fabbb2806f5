"""A small headless-Chromium driver over the DevTools protocol (pipe, stdlib only).

Chromium's ``--remote-debugging-pipe`` reads JSON commands on fd 3 and writes
replies and events on fd 4, each message ended by a NUL byte: no websocket, no
extra package. :func:`load` opens a page, waits for its load event, runs an
expression in it, and returns what the page logged (console calls, uncaught
exceptions, log entries such as failed resource loads) and every URL it
requested; :func:`screenshot` also captures a PNG.

Usage as a script (the README's screenshot of a report)::

    python tests/chromium.py runs/zoo/report.html docs/zoo_report.png
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Flags for a quiet, offline, root-safe headless browser.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--mute-audio", "--remote-debugging-pipe",
)  # fmt: skip


def find_chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium process and one page, driven over the pipe."""

    def __init__(self, executable: str, *, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="initlab-chromium-")
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # Chromium wants the pipe on fds 3 and 4. A fresh Python moves it there
        # and execs the browser, so nothing runs between fork and exec here (a
        # preexec_fn would fork this process, JAX threads and all).
        mover = (
            "import fcntl, os, sys\n"
            "r, w = (fcntl.fcntl(int(x), fcntl.F_DUPFD, 10) for x in sys.argv[1:3])\n"
            "os.dup2(r, 3); os.dup2(w, 4)\n"  # inheritable copies on 3 and 4
            "os.execv(sys.argv[3], sys.argv[3:])\n"
        )
        args = [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                mover,
                str(to_chrome_r),
                str(from_chrome_w),
                *args,
            ],  # fmt: skip
            pass_fds=(to_chrome_r, from_chrome_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._write, self._read = to_chrome_w, from_chrome_r
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"})
            attached = self.call(
                "Target.attachToTarget",
                {"targetId": target["targetId"], "flatten": True},
            )
            self.session = attached["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", session=self.session)
        except BaseException:
            self.close()
            raise

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read], [], [], max(left, 0))
            if not ready:
                raise TimeoutError("Chromium did not answer in time.")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the DevTools pipe.")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self, method: str, params: dict | None = None, *, session: str | None = None
    ) -> dict[str, Any]:
        """Sends one command and returns its result; events seen meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}  # fmt: skip
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        """Waits for an event (e.g. "Page.loadEventFired") not seen yet."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == event:
                    return self.events.pop(i)
            self.events.append(self._receive(deadline))

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (EOFError, TimeoutError, OSError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._write, self._read):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)


def _problems(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in (
            "error",
            "assert",
        ):
            out.append("console: " + " ".join(str(a.get("value")) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            out.append("exception: " + str(p["exceptionDetails"].get("text")))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(f"log: {p['entry']['text']} ({p['entry'].get('url', '')})")
    return out


def load(
    path: str | os.PathLike,
    expression: str,
    *,
    width: int = 1200,
    height: int = 900,
    screenshot: str | os.PathLike | None = None,
    executable: str | None = None,
) -> dict[str, Any]:
    """Opens a local page in headless Chromium and inspects it.

    Args:
      path: the HTML file.
      expression: JavaScript evaluated after the load event (its JSON value is
        returned as "value"; it may be a promise).
      width, height: the viewport in CSS pixels.
      screenshot: where to write a PNG of the viewport's top (optional).
      executable: the browser; default :func:`find_chromium`.

    Returns:
      ``{"value": ..., "problems": [console errors, exceptions, error log
      entries], "requests": [every URL the page requested]}``.
    """
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("no chromium on PATH (apt-get install chromium).")
    browser = Browser(executable)
    try:
        browser.call("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1,
                      "mobile": False}, session=browser.session)  # fmt: skip
        url = Path(path).resolve().as_uri()
        browser.call("Page.navigate", {"url": url}, session=browser.session)
        browser.wait_for("Page.loadEventFired")
        value = browser.evaluate(expression)
        if screenshot is not None:
            shot = browser.call("Page.captureScreenshot", {"format": "png"},
                                session=browser.session)  # fmt: skip
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        requests = [
            e["params"]["request"]["url"]
            for e in browser.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        return {"value": value, "problems": _problems(browser.events),
                "requests": requests}  # fmt: skip
    finally:
        browser.close()


def report_screenshot(
    page: str | os.PathLike,
    png: str | os.PathLike,
    *,
    width: int = 1100,
    top: str = "#summary",
    figure: str | None = "#fig-intervals",
) -> None:
    """A screenshot for a README: the page down to the end of ``top``, then one
    figure (by CSS selector) below it, as one PNG."""
    from PIL import Image

    rects = (
        "(() => { const r = s => { const e = document.querySelector(s);"
        " if (!e) return null; const b = e.getBoundingClientRect();"
        " return [b.top + scrollY, b.bottom + scrollY]; };"
        f" return {{top: r({json.dumps(top)}), figure: r({json.dumps(figure)}),"
        " height: document.documentElement.scrollHeight}; })()"
    )
    probe = load(page, rects, width=width, height=900)["value"]
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.png"
        load(page, "1", width=width, height=int(probe["height"]), screenshot=full)
        image = Image.open(full).convert("RGB")
        parts = [image.crop((0, 0, width, int(probe["top"][1]) + 8))]
        if figure and probe["figure"]:
            low, high = probe["figure"]
            parts.append(image.crop((0, int(low) - 8, width, int(high) + 8)))
        out = Image.new("RGB", (width, sum(p.height for p in parts)), "white")
        y = 0
        for part in parts:
            out.paste(part, (0, y))
            y += part.height
        out.save(png, optimize=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description="Screenshot a report: its top (findings and summary) and its "
        "interval-estimates figure."
    )
    parser.add_argument("page", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    report_screenshot(args.page, args.png, width=args.width)
    print(f"wrote {args.png} ({args.png.stat().st_size // 1024} kB)", file=sys.stderr)
