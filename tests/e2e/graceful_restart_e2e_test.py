#!/usr/bin/python3
"""Graceful stop and zero-downtime restart under load, over real loopback sockets.

usage: graceful_restart_e2e_test.py PATH/TO/vial-server-fixture [unittest args]

A load of keep-alive clients (fast and 50 ms requests, so some are always in flight) and
one-request-per-connection clients runs against the fixture while it gets SIGTERM:

- alone: every request sent on an established connection gets its complete response. A refused
  connection after the signal is fine (the listener is closed); a reset, an empty or truncated
  reply, or a timeout on an established connection is a loss. Keep-alive clients caught in
  the middle get "Connection: close" on their response instead of being cut.
- with a successor: a second process binds the same port with reuse_port, then the first gets
  SIGTERM. Nothing may fail at all, not even a refused connection.
- with an inherited socket (systemd socket activation): the test holds the listening socket,
  the first process stops, then the second starts on the same socket. Nothing may fail either.
"""

import os
import socket
import sys
import time
import unittest

from process import ClientThreads, Fixture

Fixture.binary = sys.argv.pop(1) if len(sys.argv) > 1 else None
IO_TIMEOUT = 10.0  # generous: a dropped SYN is retried after 1 s, and the machine may be busy


class Loss(Exception):
    """A request the server received but did not answer completely."""


def read_response(sock, buffer):
    """One response from `sock` (Content-Length framed): (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise Loss("empty reply" if not buffer else "truncated head")
        buffer += chunk
    head, _, buffer = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise Loss("truncated body")
        buffer += chunk
    return status, headers, buffer[:length], buffer[length:]


class Load(ClientThreads):
    """Client threads hammering 127.0.0.1:port until `stop()`; every outcome is tallied."""

    EXPECTED = {"/hello": b"hello", "/slow": b"slow done"}

    def __init__(self, port, refused_is_loss):
        super().__init__(port, IO_TIMEOUT)
        self.refused_is_loss = refused_is_loss
        self.refused = 0
        self.close_announced = 0
        self.losses = []
        self.signal_time = None
        self.refused_before_signal = 0

    def start(self, keep_alive=8, slow_keep_alive=4, one_shot=8):
        plan = [("keep", "/hello")] * keep_alive + [("keep", "/slow")] * slow_keep_alive + \
               [("once", "/hello")] * one_shot
        for kind, path in plan:
            self.spawn(self.keep_alive_client if kind == "keep" else self.one_shot_client, path)

    def _loss(self, what):
        with self.lock:
            self.losses.append(what)

    def _connect(self):
        """A connected socket, or None when refused (and the client should stop)."""
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT)
        except ConnectionRefusedError:
            with self.lock:
                self.refused += 1
                if self.signal_time is None:
                    self.refused_before_signal += 1
            if self.refused_is_loss:
                self._loss("connection refused")
            return None
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def _exchange(self, sock, path, buffer, close):
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\n" + ("Connection: close\r\n" if close else "")
        try:
            sock.sendall((request + "\r\n").encode())
            status, headers, body, rest = read_response(sock, buffer)
        except Loss as e:
            raise Loss(f"GET {path}: {e}")
        except (ConnectionResetError, BrokenPipeError) as e:
            raise Loss(f"GET {path}: {type(e).__name__}")
        except socket.timeout:
            raise Loss(f"GET {path}: no answer within {IO_TIMEOUT}s")
        if status != 200 or body != self.EXPECTED[path]:
            raise Loss(f"GET {path}: {status} {body[:40]!r}")
        with self.lock:
            self.ok += 1
        return headers.get("connection", "").lower() == "close", rest

    def keep_alive_client(self, path):
        sock, buffer = None, b""
        while not self.done.is_set():
            if sock is None:
                sock, buffer = self._connect(), b""
                if sock is None:
                    return
            try:
                closing, buffer = self._exchange(sock, path, buffer, close=False)
            except Loss as e:
                self._loss(f"keep-alive {e}")
                sock.close()
                return
            if closing:
                with self.lock:
                    self.close_announced += 1
                sock.close()
                sock = None
        if sock is not None:
            sock.close()

    def one_shot_client(self, path):
        while not self.done.is_set():
            sock = self._connect()
            if sock is None:
                return
            try:
                self._exchange(sock, path, b"", close=True)
            except Loss as e:
                self._loss(f"one-shot {e}")
                return
            finally:
                sock.close()


def socket_activated(*args, listener):
    """The fixture started as systemd starts a socket-activated service: `listener`, a listening
    socket, as descriptor 3, LISTEN_FDS=1 and LISTEN_PID its own pid."""
    def as_systemd():
        os.dup2(listener.fileno(), 3)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())

    return Fixture(*args, preexec_fn=as_systemd, pass_fds=(3,))


class GracefulRestartTest(unittest.TestCase):
    def test_sigterm_under_load_answers_every_request_it_received(self):
        server = Fixture("--workers", "8")
        load = Load(server.port, refused_is_loss=False)
        try:
            load.start()
            self.assertTrue(load.wait_for(300, timeout=20), "the load did not get going")
            with load.lock:
                load.signal_time = time.monotonic()
                served_before = load.ok
            code = server.terminate()
            # Clients keep going until they are refused by the closed listener.
            for t in load.threads:
                t.join(timeout=IO_TIMEOUT * 2)
        finally:
            load.stop()
        self.assertEqual(code, 0, server.stderr())
        self.assertEqual(load.losses, [], f"{len(load.losses)} lost after {load.ok} answered")
        self.assertEqual(load.refused_before_signal, 0)
        self.assertGreaterEqual(served_before, 300)
        # Keep-alive clients caught mid-request were told to close, not cut.
        self.assertGreater(load.close_announced, 0)
        self.assertGreater(load.refused, 0, "no client saw the listener closed")

    def check_restart_loses_nothing(self, port, old, replace):
        """Under load on `port`, `replace(started)` stops `old` and starts its successor
        (appended to `started`) in the order it chooses, and returns the old one's exit code.
        Both must exit 0, and no request may fail or be refused."""
        started = [old]
        load = Load(port, refused_is_loss=True)
        try:
            self.assertEqual(old.port, port)
            load.start()
            self.assertTrue(load.wait_for(200, timeout=20), "the load did not get going")
            old_code = replace(started)
            new = started[-1]
            self.assertEqual(new.port, port)
            after_switch = load.count()
            # The successor alone serves everyone now, including the clients the old one closed.
            self.assertTrue(load.wait_for(after_switch + 300, timeout=20),
                            "the successor did not take over")
            load.stop()
            new_code = new.terminate()
        finally:
            load.stop()
            for f in started:
                f.kill()
        self.assertEqual(old_code, 0, old.stderr())
        self.assertEqual(new_code, 0, new.stderr())
        self.assertEqual(load.losses, [], f"{len(load.losses)} failed of {load.ok + len(load.losses)}")
        self.assertEqual(load.refused, 0)

    def test_restart_with_reuse_port_loses_nothing(self):
        old = Fixture("--workers", "8", "--reuse-port", "1")

        def replace(started):
            started.append(Fixture("--workers", "8", "--reuse-port", "1", "--port", str(old.port)))
            return old.terminate()

        self.check_restart_loses_nothing(old.port, old, replace)

    def test_restart_with_an_inherited_socket_refuses_nothing(self):
        # The test plays systemd: it holds the listening socket, so connections that arrive
        # between the old process's exit and the new one's start wait in its queue.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        try:
            old = socket_activated("--workers", "8", listener=listener)

            def replace(started):
                code = old.terminate()  # the old one is gone before the new one starts
                started.append(socket_activated("--workers", "8", listener=listener))
                return code

            self.check_restart_loses_nothing(listener.getsockname()[1], old, replace)
        finally:
            listener.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
