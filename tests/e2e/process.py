"""Helpers the end-to-end tests share for the server processes they start: the fixture and the
examples programs started on an ephemeral port and stopped by their PID, descriptor counts, and
time bounds scaled for sanitizer builds."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import requests

# Sanitizer builds run several times slower (TSan most), and CI shares two cores among the test,
# its clients and the server: scripts/test.sh sets VIAL_TEST_SLACK for them.
SLACK = float(os.environ.get("VIAL_TEST_SLACK", "1"))


def bound(seconds, serial=None):
    """A wall-clock upper bound for a test: `seconds`, stretched by SLACK. A bound that proves
    work ran concurrently stays below `serial`, the time the work takes one after another."""
    stretched = seconds * SLACK
    return stretched if serial is None else min(stretched, 0.9 * serial)


def terminate(proc, timeout):
    """SIGTERM, as a supervisor would, then the exit code once `proc` stopped (non-zero, e.g.,
    when a sanitizer reported). A process still running after `timeout` seconds is killed and
    reaped, and subprocess.TimeoutExpired propagates."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def free_port():
    """A 127.0.0.1 port nobody listens on at the moment (for a program that must be told one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descriptors(pid, pipes=False):
    """How many descriptors the process has open. Pipes are left out unless `pipes`: under a
    sanitizer the runtime opens a pair to its symbolizer whenever it matches a suppression, at
    any moment."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += pipes or not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            pass
    return count


def descriptor_targets(pid):
    """What each open descriptor is (socket:[inode], pipe, file), for a failure message."""
    targets = []
    for fd in sorted(os.listdir(f"/proc/{pid}/fd"), key=int):
        try:
            targets.append(f"{fd}->{os.readlink(f'/proc/{pid}/fd/{fd}')}")
        except OSError:
            pass
    return " ".join(targets)


def wait_descriptors_at_most(pid, n, timeout=5.0, pipes=False):
    """The process's descriptor count once it is <= n, else the last count after `timeout`.
    `n` may be a callable, read again at each look."""
    limit = n if callable(n) else lambda: n
    deadline = time.monotonic() + timeout
    while True:
        count = descriptors(pid, pipes)
        if count <= limit() or time.monotonic() > deadline:
            return count
        time.sleep(0.02)


class Fixture:
    """vial-server-fixture (tests/e2e/server_fixture_main.cpp), which prints the port it listens
    on as its first line: `port` and `base` are ready when the constructor returns. Its stdout
    and stderr are pipes; `popen` goes to subprocess.Popen (preexec_fn, pass_fds)."""

    binary = None  # the fixture program, set by the test from its command line

    def __init__(self, *args, **popen):
        self.proc = subprocess.Popen([self.binary, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, **popen)
        line = self.proc.stdout.readline()
        if not re.fullmatch(r"\d+\n", line):
            self.proc.kill()
            raise RuntimeError(f"the fixture printed {line!r}: {self.proc.stderr.read()}")
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}"

    def terminate(self, timeout=30):
        """SIGTERM, then the exit code once it stopped (see terminate())."""
        return terminate(self.proc, timeout)

    def stderr(self):
        """What it wrote on stderr, once it exited (else nothing: reading would block)."""
        return self.proc.stderr.read() if self.proc.poll() is not None else ""

    def kill(self):
        """SIGKILL unless it exited already, then reaped."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        """kill(), then its pipes closed."""
        self.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()


class ExamplesServer:
    """vial-examples on an ephemeral port (--port 0) with its database at `db_path`; `base` is
    the URL it printed. With `capture_stderr`, what it logs is collected in `stderr` (a list of
    lines) rather than passed through to the test's output."""

    binary = None  # the examples program, set by the test from its command line
    SERVING = re.compile(r"vial-examples serving on (http://[0-9.]+:(\d+))")

    def __init__(self, db_path, *extra, capture_stderr=False, preexec_fn=None):
        self.proc = subprocess.Popen(
            [self.binary, "--port", "0", "--db", db_path, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE if capture_stderr else None,
            text=True, bufsize=1, preexec_fn=preexec_fn)
        self.stderr = []
        self.reader = None
        if capture_stderr:
            self.reader = threading.Thread(target=self._read_stderr, daemon=True)
            self.reader.start()
        deadline = time.monotonic() + 30
        self.base = None
        while self.base is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.proc.kill()
                raise RuntimeError("vial-examples did not start: " + "".join(self.stderr))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                match = self.SERVING.search(self.proc.stdout.readline())
                if match:
                    self.base = match.group(1)
        self.session = requests.Session()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def url(self, path):
        return self.base + path

    def request(self, method, path, **kw):
        return self.session.request(method, self.url(path), timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def stop(self):
        """SIGTERM, as a supervisor would; returns the exit code (non-zero, e.g., when
        LeakSanitizer found a leak)."""
        self.session.close()
        code = terminate(self.proc, timeout=30)
        if self.reader is not None:
            self.reader.join(timeout=5)
        self.proc.stdout.close()
        return code


class ExamplesCase(unittest.TestCase):
    """Tests sharing one ExamplesServer (`cls.server`) for the whole class, its database in a
    temporary directory (`cls.tmp`); it must exit 0 on SIGTERM after the last test."""

    tmp_prefix = "vial-examples-"
    server_args = ()
    capture_stderr = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix=cls.tmp_prefix)
        try:
            cls.server = ExamplesServer(os.path.join(cls.tmp, "users.db"), *cls.server_args,
                                        capture_stderr=cls.capture_stderr)
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0, f"vial-examples exited with {code}:\n" + "".join(cls.server.stderr)


class ClientThreads:
    """Client threads against 127.0.0.1:`port` that run until stop(); each counts an answer it
    checked in `ok`, under `lock`."""

    def __init__(self, port, io_timeout):
        self.port = port
        self.io_timeout = io_timeout
        self.lock = threading.Lock()
        self.ok = 0
        self.done = threading.Event()
        self.threads = []

    def spawn(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self):
        self.done.set()
        for t in self.threads:
            t.join(timeout=self.io_timeout * 2)

    def count(self):
        with self.lock:
            return self.ok

    def wait_for(self, n, timeout):
        """True once `n` answers were counted, False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.count() >= n
