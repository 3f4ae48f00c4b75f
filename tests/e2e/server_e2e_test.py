#!/usr/bin/python3
"""End-to-end tests of the vial server with real clients: Python requests and curl.

Usage: server_e2e_test.py <path to vial-server-fixture>
Starts the fixture on an ephemeral port (read back from its stdout), runs the checks, then
stops it with SIGTERM and expects a clean exit.
"""
import select
import shutil
import socket
import subprocess
import sys
import unittest

import requests

from process import Fixture

Fixture.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None


class ServerE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fixture = Fixture("--max-body", "1024")
        cls.proc, cls.port, cls.base = cls.fixture.proc, cls.fixture.port, cls.fixture.base

    @classmethod
    def tearDownClass(cls):
        code = cls.fixture.terminate()
        assert code == 0, f"fixture exited with {code}"

    def still_serves(self):
        r = requests.get(self.base + "/hello", timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text, "hello")

    def test_requests_session_reuses_one_connection(self):
        with requests.Session() as s:
            for _ in range(5):
                r = s.get(self.base + "/hello", timeout=5)
                self.assertEqual(r.status_code, 200)
                self.assertEqual(r.text, "hello")
                self.assertEqual(r.headers["Server"], "vial")
                self.assertIn("GMT", r.headers["Date"])
                self.assertEqual(r.headers["Content-Length"], "5")

    def test_coroutine_route(self):
        r = requests.get(self.base + "/hello-async", timeout=5)
        self.assertEqual(r.text, "hello async")

    def test_post_body_and_chunked_upload(self):
        r = requests.post(self.base + "/echo", data=b"payload", timeout=5)
        self.assertEqual(r.text, "payload")
        r = requests.post(self.base + "/echo", data=iter([b"ab", b"cd", b"ef"]), timeout=5)
        self.assertEqual(r.text, "abcdef")

    def test_body_over_limit_is_413(self):
        r = requests.post(self.base + "/echo", data=b"x" * 5000, timeout=5)
        self.assertEqual(r.status_code, 413)
        self.still_serves()

    def test_route_body_limit(self):
        r = requests.post(self.base + "/upload", data=b"x" * 50000, timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.text, "50000")

    def test_streaming_arrives_chunk_by_chunk(self):
        with requests.get(self.base + "/ticks", stream=True, timeout=5) as r:
            self.assertEqual(r.headers["Transfer-Encoding"], "chunked")
            lines = []
            for line in r.iter_lines():
                lines.append(line)
                if len(lines) == 3:
                    break
        self.assertEqual(lines, [b"tick 0", b"tick 1", b"tick 2"])
        self.still_serves()

    def test_server_sent_events(self):
        r = requests.get(self.base + "/events", timeout=5)
        self.assertEqual(r.headers["Content-Type"], "text/event-stream")
        self.assertEqual(r.text, "data: event 0\n\ndata: event 1\n\n")

    def test_head(self):
        r = requests.head(self.base + "/hello", timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Length"], "5")
        self.assertEqual(r.content, b"")

    def test_smuggling_attempt_is_400_and_closed(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data)
        self.assertEqual(data.count(b"HTTP/1.1"), 1)
        self.still_serves()

    @unittest.skipUnless(shutil.which("curl"), "curl not installed")
    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def send_until_answered(self, head, filler, limit):
        """Sends `head`, then `filler` again and again (at most `limit` bytes in all) until the
        server answers; returns the answer's first bytes (b"" when it never answered)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(head)
            s.setblocking(False)
            sent = 0
            while sent < limit:
                readable, writable, _ = select.select([s], [s], [], 10)
                if readable:
                    break
                if writable:
                    try:
                        sent += s.send(filler)
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        break
            s.setblocking(True)
            try:
                return s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                return b""

    def test_endless_chunk_extension_is_400_and_not_buffered(self):
        # One chunk-size line that never ends: Beast alone buffered all of it (1 GiB -> 1 GB).
        before = self.rss_kib()
        answer = self.send_until_answered(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=",
            b"x" * 65536, 64 * 1024 * 1024)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:100])
        self.assertLess(self.rss_kib() - before, 16 * 1024)
        self.still_serves()

    def test_endless_trailer_section_is_431(self):
        answer = self.send_until_answered(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
            b"a: b\r\n" * 10000, 64 * 1024 * 1024)
        self.assertTrue(answer.startswith(b"HTTP/1.1 431 "), answer[:100])
        self.still_serves()

    def test_curl(self):
        out = subprocess.run(["curl", "-sS", "-i", "--max-time", "5", self.base + "/hello",
                              self.base + "/hello-async"], capture_output=True, text=True,
                             check=True).stdout
        self.assertEqual(out.count("HTTP/1.1 200 OK"), 2)
        self.assertIn("\n\nhello", out)  # text mode folds CRLF
        self.assertIn("hello async", out)
        # curl's 100-continue path for a larger upload
        out = subprocess.run(["curl", "-sS", "--max-time", "5", "-H", "Expect: 100-continue",
                              "--data-binary", "@-", self.base + "/upload"], input="y" * 2000,
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "2000")
        out = subprocess.run(["curl", "-sS", "-N", "--max-time", "5", self.base + "/stream"],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "chunk0;chunk1;chunk2;")
        out = subprocess.run(["curl", "-sS", "--http1.0", "--max-time", "5", self.base + "/hello"],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "hello")


if __name__ == "__main__":
    unittest.main(verbosity=2)
