#!/usr/bin/python3
"""WebSockets of vial-examples end to end, with Python's `websockets` (Debian python3-websockets)
and headless Chromium (skipped when /usr/bin/chromium is absent).

usage: websocket_e2e_test.py PATH/TO/vial-examples [unittest args]
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import websockets

from process import ExamplesCase, ExamplesServer


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class WebSocketTest(ExamplesCase):
    tmp_prefix = "vial-ws-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ws_base = cls.server.base.replace("http://", "ws://")

    def test_echo_returns_text_and_a_1_mib_binary_message_unchanged(self):
        async def go():
            async with websockets.connect(self.ws_base + "/ws/echo", max_size=None) as ws:
                await ws.send("héllo")
                self.assertEqual(await ws.recv(), "héllo")
                blob = os.urandom(1024 * 1024)
                await ws.send(blob)
                self.assertEqual(await ws.recv(), blob)
        run(go())

    def test_chat_reaches_every_member_of_the_room_and_no_one_else(self):
        async def go():
            url = self.ws_base + "/ws/chat/e2e-red"
            async with websockets.connect(url) as a, websockets.connect(url) as b, \
                    websockets.connect(self.ws_base + "/ws/chat/e2e-blue") as c:
                members = json.loads(self.server.get("/chat/e2e-red").text)["members"]
                self.assertEqual(members, 2)
                await a.send("hi red")
                self.assertEqual(await a.recv(), "hi red")
                self.assertEqual(await b.recv(), "hi red")
                with self.assertRaises(asyncio.TimeoutError):
                    await asyncio.wait_for(c.recv(), 0.3)
        run(go())

    def test_a_foreign_origin_is_refused_403(self):
        async def go():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as refused:
                async with websockets.connect(self.ws_base + "/ws/echo",
                                              origin="https://evil.example"):
                    pass
            self.assertEqual(refused.exception.status_code, 403)
            async with websockets.connect(self.ws_base + "/ws/echo",
                                          origin=self.server.base) as ws:
                await ws.send("same origin")
                self.assertEqual(await ws.recv(), "same origin")
        run(go())

    def test_a_plain_get_is_426_and_an_unknown_path_404(self):
        with self.assertRaises(urllib.error.HTTPError) as plain:
            urllib.request.urlopen(self.server.url("/ws/echo"), timeout=30)
        self.assertEqual(plain.exception.code, 426)
        self.assertEqual(plain.exception.headers["Upgrade"], "websocket")

        async def go():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as missing:
                async with websockets.connect(self.ws_base + "/ws/nowhere"):
                    pass
            self.assertEqual(missing.exception.status_code, 404)
        run(go())

    def test_a_message_over_the_limit_closes_1009(self):
        async def go():
            async with websockets.connect(self.ws_base + "/ws/echo", max_size=None) as ws:
                # The server closes as soon as it reads the frame's header: the send itself
                # may fail before its last byte is out.
                with self.assertRaises(websockets.exceptions.ConnectionClosed) as closed:
                    await ws.send(b"x" * (5 * 1024 * 1024))
                    await ws.recv()
                self.assertEqual(closed.exception.code, 1009)
        run(go())

    def test_a_clean_close_is_echoed(self):
        async def go():
            ws = await websockets.connect(self.ws_base + "/ws/echo")
            await ws.close(code=1000, reason="bye")
            self.assertEqual(ws.close_code, 1000)
        run(go())

    @unittest.skipUnless(os.path.exists("/usr/bin/chromium"), "needs Debian's chromium")
    def test_two_chromium_pages_chat_and_a_foreign_origin_is_refused(self):
        run(self.chromium_chat())

    async def chromium_chat(self):
        profile = tempfile.mkdtemp(prefix="vial-chromium-")
        proc = subprocess.Popen(
            ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            devtools = None
            while devtools is None:
                line = await asyncio.get_running_loop().run_in_executor(None, proc.stderr.readline)
                if not line:
                    raise RuntimeError("chromium exited before listening")
                found = re.search(r"DevTools listening on (ws://\S+)", line)
                if found:
                    devtools = found.group(1)
            async with websockets.connect(devtools, max_size=None) as cdp:
                await self.chat_in_two_pages(cdp)
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()
            shutil.rmtree(profile, ignore_errors=True)

    async def chat_in_two_pages(self, cdp):
        ids = iter(range(1, 1_000_000))

        async def call(method, session=None, **params):
            n = next(ids)
            message = {"id": n, "method": method, "params": params}
            if session:
                message["sessionId"] = session
            await cdp.send(json.dumps(message))
            while True:
                reply = json.loads(await cdp.recv())
                if reply.get("id") == n:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply["result"]

        async def page(url):
            target = await call("Target.createTarget", url=url)
            attached = await call("Target.attachToTarget", targetId=target["targetId"],
                                  flatten=True)
            return attached["sessionId"]

        async def evaluate(session, expression):
            result = await call("Runtime.evaluate", session, expression=expression,
                                returnByValue=True, awaitPromise=True)
            return result["result"].get("value")

        async def wait_for(session, expression, what):
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                value = await evaluate(session, expression)
                if value:
                    return value
                await asyncio.sleep(0.05)
            self.fail(f"timed out waiting for {what}")

        room = "browser-" + str(os.getpid())
        base = self.server.base
        first = await page(f"{base}/?room={room}")
        second = await page(f"{base}/?room={room}")
        for session in (first, second):
            await wait_for(session, "document.getElementById('chat-status') && "
                           "document.getElementById('chat-status').textContent === 'connected'",
                           "the chat socket to open")
        await evaluate(first, "sendChat('hello from the first page')")
        lines = await wait_for(
            second, "[...document.querySelectorAll('#chat .chat')].map(e => e.textContent)"
                    ".filter(t => t === 'hello from the first page').length > 0 && "
                    "[...document.querySelectorAll('#chat .chat')].map(e => e.textContent)",
            "the message in the second page")
        self.assertEqual(lines, ["hello from the first page"])

        # A page of another origin (127.0.0.1 and localhost are different sites) cannot open it.
        foreign_base = base.replace("127.0.0.1", "localhost")
        self.assertNotEqual(foreign_base, base)
        outcome = await evaluate(first, f"""new Promise(resolve => {{
            const s = new WebSocket("{foreign_base.replace('http://', 'ws://')}/ws/chat/{room}");
            s.onopen = () => resolve("opened");
            s.onclose = (e) => resolve("closed " + e.code);
        }})""")
        self.assertEqual(outcome, "closed 1006")  # a refused handshake: 403, no socket
        members = json.loads(self.server.get(f"/chat/{room}").text)["members"]
        self.assertEqual(members, 2)
        print(f"\n  chromium: message relayed between two pages; foreign origin {outcome}",
              file=sys.stderr)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_closes_open_sockets_with_1001(self):
        tmp = tempfile.mkdtemp(prefix="vial-ws-stop-")
        server = ExamplesServer(os.path.join(tmp, "users.db"))
        try:
            async def go():
                ws = await websockets.connect(server.base.replace("http://", "ws://") +
                                              "/ws/chat/stop")
                loop = asyncio.get_running_loop()
                stopping = loop.run_in_executor(None, server.stop)
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    await ws.recv()
                self.assertEqual(ws.close_code, 1001)
                self.assertEqual(await stopping, 0)
            run(go())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    ExamplesServer.binary = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
