#!/usr/bin/python3
"""Faults against the examples binary: a misbehaving upstream behind the fan-out demos, a full
disk and a read-only database under the users demo, clients leaving a stream. Each must give a
clear JSON answer, keep the server serving, leave no descriptor open and lose or half-write no
data.

usage: examples_faults_e2e_test.py PATH/TO/vial-examples [unittest args]

The upstream is a mock in this process whose behaviour the test switches (`MockUpstream.mode`).
The disk is "full" through RLIMIT_FSIZE with SIGXFSZ ignored, so writes past 256 KiB fail with
EFBIG; a read-only database is a chmod (as root, the server runs without the capabilities that
bypass file modes). Figures (descriptor counts) are printed to stderr.
"""

import ctypes
import hashlib
import os
import resource
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from process import (ExamplesCase, ExamplesServer, bound, descriptor_targets, descriptors,
                     wait_descriptors_at_most)

ExamplesServer.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None
RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


class Examples(ExamplesServer):
    """vial-examples with 16 workers; its stderr is collected (`stderr`)."""

    def __init__(self, db_path, *extra, preexec_fn=None):
        super().__init__(db_path, "--threads", "16", *extra, capture_stderr=True,
                         preexec_fn=preexec_fn)


class MockUpstream:
    """An HTTP upstream on 127.0.0.1 that misbehaves as `mode` says, one thread per connection.

    ok: a JSON answer, keep-alive; garbage: not HTTP; truncated: a body cut short; half-head: the
    header cut short; bad-chunk: an invalid chunk size; huge-header: a 200 KiB header field;
    huge-body: 5 MiB (the examples' limit is 1 MiB); reset: RST after the request; slow: answers
    after 3 s; mixed: every third request gets garbage, the others a 300 ms wait, then ok.
    """

    def __init__(self):
        self.mode = "ok"
        self.requests = 0
        self.idle = set()  # answered keep-alive connections awaiting their next request
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.base = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopping.set()
        self.listener.close()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            buffer = b""
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                buffer = buffer.split(b"\r\n\r\n", 1)[1]
                with self.lock:
                    self.idle.discard(conn)
                    self.requests += 1
                    n = self.requests
                if not self._answer(conn, self.mode, n):
                    return
                with self.lock:
                    self.idle.add(conn)
        except OSError:
            pass
        finally:
            with self.lock:
                self.idle.discard(conn)
            conn.close()

    def idle_connections(self):
        with self.lock:
            return len(self.idle)

    def _answer(self, conn, mode, n):
        """Answers one request; False when the connection must end."""
        ok = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n"
              b"{\"ms\": 0}")
        if mode == "mixed":
            if n % 3 == 0:
                mode = "garbage"
            else:
                if self.stopping.wait(0.3):
                    return False
                mode = "ok"
        if mode == "ok":
            conn.sendall(ok)
            return True
        if mode == "garbage":
            conn.sendall(b"hello, this is not HTTP\r\n\r\n")
        elif mode == "truncated":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ms\"")
        elif mode == "half-head":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
        elif mode == "bad-chunk":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"zz\r\nhello\r\n0\r\n\r\n")
        elif mode == "huge-header":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Huge: " + b"h" * (200 * 1024) +
                         b"\r\nContent-Length: 2\r\n\r\n{}")
        elif mode == "huge-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5242880\r\n\r\n")
            conn.sendall(b"x" * 5242880)
        elif mode == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
        elif mode == "slow":
            if not self.stopping.wait(3):
                conn.sendall(ok)
        return False


BAD_GATEWAY = {
    "garbage": "The upstream sent a malformed response.",
    "bad-chunk": "The upstream sent a malformed response.",
    "truncated": "The upstream closed the connection before the response was complete.",
    "half-head": "The upstream closed the connection before the response was complete.",
    "reset": "The upstream closed the connection before the response was complete.",
    "huge-header": "The upstream's response was too large.",
    "huge-body": "The upstream's response was too large.",
}
TIMED_OUT = "The upstream did not answer in time."
FANOUTS = ("/fanout?n=5&ms=0&timeout=2000", "/fanout-sync?n=3&ms=0&timeout=2000")


class UpstreamFaultsTest(ExamplesCase):
    tmp_prefix = "vial-faults-upstream-"
    capture_stderr = True

    @classmethod
    def setUpClass(cls):
        cls.upstream = MockUpstream()
        cls.server_args = ("--threads", "16", "--upstream", cls.upstream.base)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.upstream.close()

    def setUp(self):
        self.upstream.mode = "ok"

    def assert_error(self, r, status, message):
        self.assertEqual(r.status_code, status, r.text)
        self.assertTrue(r.headers["Content-Type"].startswith("application/json"), r.headers)
        self.assertEqual(r.json(), {"error": message})

    def assert_serving(self):
        self.assertEqual(self.server.get("/hello").text, "Hello, World!")
        self.upstream.mode = "ok"
        r = self.server.get("/fanout?n=3&ms=0")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual([x["status"] for x in r.json()["results"]], [200] * 3)

    def test_a_bad_answer_is_a_502_naming_the_fault(self):
        for mode, message in BAD_GATEWAY.items():
            self.upstream.mode = mode
            for path in FANOUTS:
                with self.subTest(mode=mode, path=path):
                    self.assert_error(self.server.get(path), 502, message)
        self.assert_serving()

    def test_a_slow_upstream_is_a_504_at_the_deadline(self):
        self.upstream.mode = "slow"
        for path in ("/fanout?n=5&ms=0&timeout=300", "/fanout-sync?n=3&ms=0&timeout=300"):
            with self.subTest(path=path):
                start = time.monotonic()
                r = self.server.get(path)
                took = time.monotonic() - start
                self.assert_error(r, 504, TIMED_OUT)
                self.assertGreaterEqual(took, 0.3)
                self.assertLess(took, bound(2.0, serial=3.0))  # the deadline, not the upstream's 3 s
        self.assert_serving()

    def test_one_bad_call_fails_the_fanout_and_cancels_the_others(self):
        self.upstream.mode = "mixed"
        start = time.monotonic()
        r = self.server.get("/fanout?n=9&ms=0&timeout=5000")
        self.assert_error(r, 502, BAD_GATEWAY["garbage"])
        self.assertLess(time.monotonic() - start, bound(2.0, serial=5.0))
        self.assert_serving()

    def test_a_refused_connection_is_a_502(self):
        with socket.create_server(("127.0.0.1", 0)) as s:
            closed = f"http://127.0.0.1:{s.getsockname()[1]}"
        server = Examples(os.path.join(self.tmp, "refused.db"), "--upstream", closed)
        try:
            for path in FANOUTS:
                with self.subTest(path=path):
                    self.assert_error(server.get(path), 502,
                                      "The upstream could not be connected to.")
            self.assertEqual(server.get("/hello").status_code, 200)
        finally:
            self.assertEqual(server.stop(), 0, "".join(server.stderr))

    def test_faults_leave_no_descriptor_open(self):
        upstream = MockUpstream()
        server = Examples(os.path.join(self.tmp, "leak.db"), "--upstream", upstream.base)
        try:
            server.get("/hello")  # the session's connection is part of the baseline
            before = descriptors(server.proc.pid)
            for _ in range(3):
                for mode in [*BAD_GATEWAY, "slow", "mixed"]:
                    upstream.mode = mode
                    self.assertIn(server.get("/fanout?n=10&ms=0&timeout=300").status_code,
                                  (502, 504))
                    self.assertIn(server.get("/fanout-sync?n=2&ms=0&timeout=300").status_code,
                                  (502, 504))
            # A keep-alive connection the upstream answered may sit idle in the client's pool
            # (the "mixed" mode answers some calls); every other one must be closed.
            after = wait_descriptors_at_most(server.proc.pid,
                                             lambda: before + upstream.idle_connections())
            pooled = upstream.idle_connections()
            print(f"\n  examples descriptors: {before} before 54 faulty fan-outs, {after} after"
                  f" ({pooled} idle in the client's pool)", file=sys.stderr)
            self.assertLessEqual(after, before + pooled, "a faulty upstream leaked descriptors: "
                                 + descriptor_targets(server.proc.pid))
            upstream.mode = "ok"
            self.assertEqual(server.get("/fanout?n=3&ms=0").status_code, 200)
        finally:
            code = server.stop()
            upstream.close()
        self.assertEqual(code, 0, "".join(server.stderr))


def drop_file_capabilities():
    """In the child: lose CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so file modes
    bind root too (dropped from the bounding set, they are gone after exec). No-op for others."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop = 24
    for cap in (1, 2, 3):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def file_modes_bind():
    """True when a child run through drop_file_capabilities cannot write a 0444 file."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "probe")
        with open(path, "w"):
            pass
        os.chmod(path, 0o444)
        try:
            r = subprocess.run(["/bin/sh", "-c", f"echo x >> {path}"], capture_output=True,
                               preexec_fn=drop_file_capabilities)
        except subprocess.SubprocessError:
            return False
        return r.returncode != 0


def limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death; kept across exec
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class DatabaseFaultsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vial-faults-db-")
        self.db = os.path.join(self.tmp, "users.db")

    def tearDown(self):
        os.chmod(self.tmp, 0o755)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def post_user(self, server, i):
        return server.request("POST", "/users",
                              json={"name": f"user {i}" + "n" * 40,
                                    "email": f"user{i}@example.org" + "e" * 70})

    def seed(self, count):
        server = Examples(self.db)
        try:
            users = [self.post_user(server, i).json() for i in range(count)]
        finally:
            self.assertEqual(server.stop(), 0)
        return users

    def test_a_full_disk_refuses_writes_clearly_and_keeps_every_saved_row(self):
        full = {"error": "The database cannot store more data (disk full or failing); "
                         "the change was not saved."}
        expected = {}  # id -> user: what the database must hold, from the answers alone
        refused = []

        def check_refused(r):
            self.assertEqual((r.status_code, r.json()), (503, full))

        server = Examples(self.db, preexec_fn=limit_file_size)
        try:
            for i in range(400):
                r = self.post_user(server, i)
                if r.status_code == 201:
                    expected[r.json()["id"]] = r.json()
                    continue
                check_refused(r)
                refused.append(i)
                if len(refused) == 3:
                    break
            self.assertTrue(expected, "nothing could be written at all")
            self.assertEqual(len(refused), 3, "the disk never filled up")
            # Smaller writes may still fit; each one is all or nothing.
            first, last = min(expected), max(expected)
            r = server.request("PUT", f"/users/{first}", json={"name": "Renamed"})
            if r.status_code == 200:
                expected[first]["name"] = "Renamed"
            else:
                check_refused(r)
            r = server.request("DELETE", f"/users/{last}")
            if r.status_code == 204:
                del expected[last]
            else:
                check_refused(r)
            # Reads go on, and show exactly what was saved.
            self.assertEqual(server.get("/users").json(), [expected[k] for k in sorted(expected)])
            self.assertEqual(server.get("/hello").status_code, 200)
        finally:
            code = server.stop()
        self.assertEqual(code, 0, "".join(server.stderr))
        self.assertIn("users: sqlite:", "".join(server.stderr))
        print(f"\n  disk full after {len(expected)} users; inserts {refused} refused",
              file=sys.stderr)

        with sqlite3.connect(self.db) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(), ("ok",))
            rows = db.execute("SELECT id, name, email FROM users ORDER BY id").fetchall()
        self.assertEqual(rows,
                         [(u["id"], u["name"], u["email"]) for _, u in sorted(expected.items())])
        # Nothing of the refused inserts exists: their emails are free.
        server = Examples(self.db)
        try:
            self.assertEqual(server.get("/users").json(), [expected[k] for k in sorted(expected)])
            for i in refused:
                self.assertEqual(self.post_user(server, i).status_code, 201)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_a_read_only_database_serves_reads_and_refuses_writes_untouched(self):
        if not file_modes_bind():
            self.skipTest("cannot make file modes bind the server here")
        users = self.seed(2)
        os.chmod(self.db, 0o444)
        digest = sha256(self.db)
        server = Examples(self.db, preexec_fn=drop_file_capabilities)
        try:
            read_only = {"error": "The database is read-only; the change was not saved."}
            self.assertEqual(server.get("/users").json(), users)
            r = self.post_user(server, 9)
            self.assertEqual((r.status_code, r.json()), (503, read_only))
            r = server.request("PUT", f"/users/{users[0]['id']}", json={"name": "Renamed"})
            self.assertEqual((r.status_code, r.json()), (503, read_only))
            r = server.request("DELETE", f"/users/{users[1]['id']}")
            self.assertEqual((r.status_code, r.json()), (503, read_only))
            self.assertEqual(server.get("/users").json(), users)
        finally:
            code = server.stop()
        self.assertEqual(code, 0, "".join(server.stderr))
        self.assertEqual(sha256(self.db), digest, "the read-only database file changed")

    def test_a_database_in_a_read_only_directory_is_a_503_until_it_is_writable_again(self):
        if not file_modes_bind():
            self.skipTest("cannot make file modes bind the server here")
        users = self.seed(1)
        os.chmod(self.tmp, 0o555)  # WAL needs its -shm file beside the database
        server = Examples(self.db, preexec_fn=drop_file_capabilities)
        try:
            unavailable = {"error": "The database is unavailable."}
            for method, path, body in (("GET", "/users", None),
                                       ("POST", "/users", {"name": "A", "email": "a@b.c"}),
                                       ("GET", f"/users/{users[0]['id']}", None)):
                r = server.request(method, path, json=body)
                self.assertEqual((r.status_code, r.json()), (503, unavailable), f"{method} {path}")
            self.assertEqual(server.get("/hello").status_code, 200)  # the rest serves
            os.chmod(self.tmp, 0o755)
            self.assertEqual(server.get("/users").json(), users)  # back without a restart
            self.assertEqual(self.post_user(server, 5).status_code, 201)
        finally:
            code = server.stop()
        self.assertEqual(code, 0, "".join(server.stderr))
        self.assertIn("/users answers 503 until it can", "".join(server.stderr))


class StreamClientLeavesTest(unittest.TestCase):
    def test_clients_leaving_the_event_stream_leave_nothing_open(self):
        tmp = tempfile.mkdtemp(prefix="vial-faults-stream-")
        server = Examples(os.path.join(tmp, "users.db"))
        try:
            host, port = server.base[len("http://"):].split(":")
            server.get("/hello")
            before = descriptors(server.proc.pid)
            for i in range(10):
                s = socket.create_connection((host, int(port)), timeout=5)
                s.sendall(b"GET /stream?n=1000&ms=20 HTTP/1.1\r\nHost: x\r\n\r\n")
                seen = b""
                while b"data: 1\n\n" not in seen:
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "the stream ended early")
                    seen += chunk
                if i % 2:  # half leave abruptly
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
                s.close()
            after = wait_descriptors_at_most(server.proc.pid, before)
            self.assertLessEqual(after, before, "streams whose client left are still open")
            self.assertEqual(server.get("/hello").status_code, 200)
        finally:
            code = server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(code, 0, "".join(server.stderr))


if __name__ == "__main__":
    if not ExamplesServer.binary:
        sys.exit(__doc__)
    unittest.main(verbosity=2)
