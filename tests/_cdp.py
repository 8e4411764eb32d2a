"""A small Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (no extra packages).

Chromium reads protocol messages (JSON, each ended by a NUL byte) on file descriptor 3 and
writes its replies and events on descriptor 4. That is all the browser test needs: open a
page, record every request it makes, run a script in it and take a screenshot. Debian's
``chromium`` package provides the browser; nothing is downloaded.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


def find_chromium() -> str | None:
    """Path of the Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


class Browser:
    """One headless Chromium, driven through the DevTools pipe."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900) -> None:
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def _wire_fds() -> None:  # runs in the child, before its other descriptors are closed
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_wire_fds,  # places the pipe on fds 3 and 4
            close_fds=True,
            pass_fds=(3, 4),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.command("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.command("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.command(f"{domain}.enable", session=True)

    # -- protocol -------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for the browser")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise CDPError("the browser closed the pipe")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def command(self, method: str, session: bool = False, timeout: float = 60.0, **params) -> dict:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for_event(self, method: str, timeout: float = 60.0) -> dict:
        """Wait for the next event named ``method`` (events already received count)."""
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        while True:
            msg = self._read_message(deadline)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)

    # -- page helpers ---------------------------------------------------------------------
    def open(self, url: str, timeout: float = 60.0) -> list[str]:
        """Load ``url``; return the URL of every request the page made while loading."""
        self.events.clear()
        self.command("Page.navigate", session=True, url=url)
        self.wait_for_event("Page.loadEventFired", timeout=timeout)
        return self.requests()

    def requests(self) -> list[str]:
        """URLs of the requests recorded since the last :meth:`open`."""
        return [ev["params"]["request"]["url"] for ev in self.events if ev["method"] == "Network.requestWillBeSent"]

    def evaluate(self, expression: str, timeout: float = 60.0):
        """Run JavaScript in the page (awaiting a promise) and return its JSON value."""
        result = self.command(
            "Runtime.evaluate",
            session=True,
            timeout=timeout,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise CDPError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def set_width(self, width: int, height: int = 900) -> None:
        """Lay pages out at ``width`` CSS pixels (a desktop 1400, a phone 400)."""
        self.command(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 600,
        )

    def platform_fonts(self, selector: str) -> list[list[dict]]:
        """For each element matching ``selector``, the fonts that render its text.

        ``CSS.getPlatformFontsForNode`` reports, per element, each font actually used with its
        family name, whether it is a web font (``isCustomFont``) and how many glyphs it drew.
        """
        self.command("DOM.enable", session=True)
        self.command("CSS.enable", session=True)
        root = self.command("DOM.getDocument", session=True, depth=-1)["root"]["nodeId"]
        ids = self.command("DOM.querySelectorAll", session=True, nodeId=root, selector=selector)["nodeIds"]
        return [self.command("CSS.getPlatformFontsForNode", session=True, nodeId=i)["fonts"] for i in ids]

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the whole page (beyond the viewport)."""
        data = self.command("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.command("Browser.close", timeout=10)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        shutil.rmtree(self._profile, ignore_errors=True)
