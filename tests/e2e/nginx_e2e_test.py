#!/usr/bin/python3
"""A real nginx in front of two vial processes; one of them restarted under load.

usage: nginx_e2e_test.py PATH/TO/vial-server-fixture [unittest args]

The test writes its own nginx.conf into a temporary directory (pid file, temp paths and logs
there, `daemon off`, `master_process off`: one process, stopped by its PID, which never
switches user even when the test runs as root), and starts nginx on a free loopback port, with
a second TLS port (a throwaway self-signed certificate) to show the scheme behind TLS
termination. nginx proxies to two fixture processes (`--proxy 1`: one trusted hop of
X-Forwarded-For and -Proto, and nginx's X-Request-Id), each on its own port in an `upstream`
block with keep-alive connections to the upstream, and `proxy_next_upstream error timeout`:
a request that fails to reach one process (refused while it restarts, a keep-alive connection
it closed) goes to the other.

- The app sees the client's real address (the client connects from 127.0.0.2, nginx from
  127.0.0.1; a spoofed X-Forwarded-For from the client is not believed), the scheme (http, or
  https through the TLS port) and nginx's request id (also in nginx's access log).
- Under load through nginx (keep-alive client threads, fast and 50 ms requests), one vial
  process gets SIGTERM: its readiness turns 503 on a prober's keep-alive connection, it exits
  0, and a new process starts on its port and serves again. Not one client request fails.

Prints the figures (requests, failures, restart duration). Exits 77 (skipped) without nginx.
"""

import http.client
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from process import ClientThreads, Fixture, free_port

Fixture.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
CLIENT_ADDRESS = "127.0.0.2"  # loopback too, but not the address nginx connects to vial from
IO_TIMEOUT = 20.0  # generous: the machine may be busy, and the fixture may run under TSan

NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  log_format ids '$remote_addr "$request" $status $request_id $upstream_addr';
  access_log {tmp}/access.log ids;

  upstream vial {{
    server 127.0.0.1:{port_a} max_fails=1 fail_timeout=1s;
    server 127.0.0.1:{port_b} max_fails=1 fail_timeout=1s;
    keepalive 16;
    keepalive_timeout 4s;  # below vial's keep_alive_timeout (5 s): nginx closes first
  }}
  server {{
    listen 127.0.0.1:{port};
    listen 127.0.0.1:{tls_port} ssl;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    location / {{
      proxy_pass http://vial;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $request_id;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 5s;
    }}
  }}
}}
"""


def behind_proxy(port=0):
    """A fixture process that trusts one proxy, on `port` (0: an ephemeral one)."""
    return Fixture("--workers", "8", "--proxy", "1", "--port", str(port))


class Nginx:
    """nginx with the configuration above in its own temporary directory."""

    def __init__(self, tmp, port_a, port_b):
        self.tmp = tmp
        self.port = free_port()
        self.tls_port = free_port()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", f"{tmp}/key.pem",
                        "-out", f"{tmp}/cert.pem"], check=True, capture_output=True)
        with open(f"{tmp}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(tmp=tmp, port=self.port, tls_port=self.tls_port,
                                      port_a=port_a, port_b=port_b))
        self.output = open(f"{tmp}/output.log", "w")
        self.proc = subprocess.Popen([NGINX, "-p", tmp, "-c", f"{tmp}/nginx.conf",
                                      "-e", f"{tmp}/error.log"],
                                     stdout=self.output, stderr=subprocess.STDOUT)
        # Ready once it accepts a connection (or gone: the error log says why).
        deadline = time.monotonic() + IO_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: "
                                   f"{self.log('output')}{self.log('error')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def log(self, name):
        try:
            with open(f"{self.tmp}/{name}.log") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """SIGQUIT (nginx's graceful stop) by PID, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(3)
        try:
            return self.proc.wait(timeout=IO_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.output.close()


def connection(port, tls=False):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=IO_TIMEOUT,
                                           source_address=(CLIENT_ADDRESS, 0), context=context)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=IO_TIMEOUT,
                                      source_address=(CLIENT_ADDRESS, 0))


def get(conn, path, headers=None):
    conn.request("GET", path, headers=headers or {})
    res = conn.getresponse()
    return res.status, dict((k.lower(), v) for k, v in res.getheaders()), res.read()


class Load(ClientThreads):
    """Keep-alive client threads through nginx until `stop()`; every outcome is tallied."""

    EXPECTED = {"/hello": b"hello", "/slow": b"slow done"}

    def __init__(self, port):
        super().__init__(port, IO_TIMEOUT)
        self.failures = []
        self.pids = set()

    def start(self, fast=4, slow=2, whoami=2):
        for path in ["/hello"] * fast + ["/slow"] * slow + ["/whoami"] * whoami:
            self.spawn(self.client, path)

    def check(self, path, status, body):
        if status != 200:
            raise AssertionError(f"{status} {body[:80]!r}")
        if path == "/whoami":
            seen = json.loads(body)
            if seen["remote_address"] != CLIENT_ADDRESS or seen["scheme"] != "http":
                raise AssertionError(f"the app saw {seen}")
            with self.lock:
                self.pids.add(seen["pid"])
        elif body != self.EXPECTED[path]:
            raise AssertionError(f"{body[:80]!r}")

    def client(self, path):
        conn = connection(self.port)
        spoof = {"X-Forwarded-For": "203.0.113.66"}
        while not self.done.is_set():
            try:
                status, _, body = get(conn, path, spoof)
                self.check(path, status, body)
            except Exception as e:  # a failed request, whatever the way: the test counts it
                with self.lock:
                    self.failures.append(f"GET {path}: {type(e).__name__}: {e}")
                conn.close()
                conn = connection(self.port)
                continue
            with self.lock:
                self.ok += 1
        conn.close()


@unittest.skipIf(NGINX is None, "nginx is not installed (scripts/install-deps.sh installs it)")
class NginxTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vial-nginx-")
        self.a = behind_proxy()
        self.b = behind_proxy()
        self.nginx = Nginx(self.tmp, self.a.port, self.b.port)

    def tearDown(self):
        self.nginx.stop()
        for f in (self.a, self.b):
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_the_app_sees_the_client_address_scheme_and_request_id(self):
        conn = connection(self.nginx.port)
        status, headers, body = get(conn, "/whoami", {"X-Forwarded-For": "203.0.113.66",
                                                      "X-Request-Id": "chosen-by-the-client"})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        # The client's own X-Forwarded-For entry stays left of the one nginx appended.
        self.assertEqual(seen["remote_address"], CLIENT_ADDRESS)
        self.assertEqual(seen["scheme"], "http")
        # nginx replaced the client's id with its own: the app uses it, sends it back, and it
        # is the one in nginx's access log.
        self.assertRegex(seen["id"], r"^[0-9a-f]{32}$")
        self.assertEqual(headers["x-request-id"], seen["id"])
        conn.close()
        tls = connection(self.nginx.tls_port, tls=True)
        status, _, body = get(tls, "/whoami")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["scheme"], "https")
        self.assertEqual(json.loads(body)["remote_address"], CLIENT_ADDRESS)
        tls.close()
        self.assertIn(f"{CLIENT_ADDRESS} \"GET /whoami HTTP/1.1\" 200 {seen['id']}",
                      self.nginx.log("access"))

    def test_a_graceful_restart_under_load_fails_no_request(self):
        load = Load(self.nginx.port)
        prober = http.client.HTTPConnection("127.0.0.1", self.a.port, timeout=IO_TIMEOUT)
        try:
            load_started = time.monotonic()
            load.start()
            self.assertTrue(load.wait_for(200, timeout=IO_TIMEOUT), "the load did not get going")
            self.assertEqual(get(prober, "/readyz")[0], 200)
            old_pid = self.a.proc.pid
            before = load.count()
            started = time.monotonic()
            self.a.proc.send_signal(15)  # SIGTERM, as a supervisor does
            # Readiness turns false as soon as the process handles the signal, on the prober's
            # keep-alive connection (a probe that arrives first is still answered 200).
            deadline = time.monotonic() + IO_TIMEOUT
            while True:
                status, headers, body = get(prober, "/readyz")
                if status != 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
            self.assertEqual((status, body.strip()), (503, b"draining"))
            self.assertEqual(headers.get("connection", "").lower(), "close")
            code = self.a.proc.wait(timeout=IO_TIMEOUT * 2)
            stopped = time.monotonic()
            self.assertEqual(code, 0, self.a.proc.stderr.read())
            self.a.close()
            self.a = behind_proxy(self.a.port)  # the supervisor starts the new process
            restarted = time.monotonic()
            # The new process serves through nginx, and the load goes on.
            deadline = time.monotonic() + IO_TIMEOUT
            while self.a.proc.pid not in load.pids and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertIn(self.a.proc.pid, load.pids, "the new process got no request")
            # A few seconds of load in all, at least as many requests after as before.
            self.assertTrue(load.wait_for(load.count() + max(before, 200), timeout=IO_TIMEOUT))
            while time.monotonic() - load_started < 4:
                time.sleep(0.05)
        finally:
            load.stop()
            prober.close()
        total = load.ok + len(load.failures)
        elapsed = time.monotonic() - load_started
        # What nginx passed to the other process (proxy_next_upstream): refused connections
        # while the port was closed, keep-alive connections the stopping process closed.
        retried = sum(1 for line in self.nginx.log("error").splitlines()
                      if "upstream" in line and ("failed" in line or "closed" in line))
        print(f"\nnginx e2e: {total} requests through nginx in {elapsed:.1f} s, "
              f"{len(load.failures)} failed ({before} before the SIGTERM); the old process "
              f"drained and exited {(stopped - started) * 1000:.0f} ms after it, the new one "
              f"listened {(restarted - started) * 1000:.0f} ms after it; nginx passed "
              f"{retried} attempts to the other process; processes seen: {len(load.pids)}",
              file=sys.stderr)
        self.assertEqual(load.failures, [], f"{len(load.failures)} failed of {total}")
        self.assertIn(old_pid, load.pids)


if __name__ == "__main__":
    if NGINX is None:
        print("SKIPPED: nginx is not installed (scripts/install-deps.sh installs nginx-light)")
        sys.exit(77)
    unittest.main(verbosity=2)
