#!/usr/bin/python3
"""Hostile clients for bench/soak.sh: each case runs in a loop on its own thread against
127.0.0.1:PORT until the duration is over, and every attempt is checked against the one answer
docs/server.md promises for it.

usage: soak_hostile.py --port N [--duration SECONDS] [--slowloris K] [--pause-ms MS]
                       [--only CASE,...]

Cases (the expected outcome in brackets):
  slowloris      a header sent one byte a second                  [408, then closed]
  garbage        binary junk ending in CRLFCRLF                   [400, then closed]
  pipelined_junk a valid GET followed by junk on one connection   [200, then 400, closed]
  big_header     a 20 KiB header field                            [431, then closed]
  big_uri        a 9 KiB request-target                           [414, then closed]
  big_length     Content-Length: 100 MiB on POST /users           [413 before any body byte]
  big_chunked    9 MiB of chunks on POST /users                   [413 while sending]
  abrupt_request half a request, then a reset (SO_LINGER 0)       [nothing to read]
  abrupt_stream  GET /stream, first event read, then a reset      [first event arrived]

Prints one line per case, then one JSON object on the last line:
  {"cases": {"garbage": {"ok": N, "unexpected": M, "samples": [...]}, ...}, "unexpected": M}
Only loopback; stops by itself at the deadline.
"""

import argparse
import json
import os
import random
import re
import socket
import struct
import threading
import time

HOST = "127.0.0.1"
IO_TIMEOUT = 30.0  # generous: the machine may be loaded


class Outcome(Exception):
    """An attempt that did not end as expected; the message says how."""


def connect(port):
    s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    """Close with a RST instead of a FIN, as a crashed or impatient client does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_all(s):
    """Everything until the server closes; a reset after some data counts as the end."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            if data:
                return data
            raise Outcome("reset before any answer")
        except socket.timeout:
            raise Outcome(f"no close within {IO_TIMEOUT}s (read {len(data)} bytes)")
        if not chunk:
            return data
        data += chunk


def statuses(data):
    """The status codes of the responses in `data`, in order (each framed by Content-Length)."""
    out = []
    while data.startswith(b"HTTP/1.1 "):
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head = data[:end].decode("latin-1")
        out.append(int(head[9:12]))
        length = re.search(r"\r\ncontent-length: *(\d+)", head, re.I)
        data = data[end + 4 + (int(length.group(1)) if length else len(data)):]
    return out


def expect_stock(data, status):
    got = statuses(data)
    if got != [status]:
        raise Outcome(f"expected [{status}], got {got}: {data[:80]!r}")
    if b"\r\nConnection: close\r\n" not in data:
        raise Outcome(f"{status} without Connection: close")


# ---- the cases: each returns normally when the outcome was the expected one -----------------

def case_slowloris(port, stop):
    s = connect(port)
    try:
        head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 64
        started = time.monotonic()
        for i in range(len(head)):
            if stop.is_set():
                return "abandoned"
            try:
                s.sendall(head[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed; read the answer below
            s.settimeout(1.0)
            try:
                first = s.recv(65536)
            except socket.timeout:
                continue
            finally:
                s.settimeout(IO_TIMEOUT)
            data = first + (read_all(s) if first else b"")
            expect_stock(data, 408)
            return f"408 after {time.monotonic() - started:.1f}s"
        raise Outcome("whole slow header sent without a 408")
    finally:
        s.close()


def case_garbage(port, stop):
    junk = bytes([1]) + os.urandom(random.randint(10, 1000)) + b"\r\n\r\n"
    with connect(port) as s:
        s.sendall(junk)
        expect_stock(read_all(s), 400)


def case_pipelined_junk(port, stop):
    with connect(port) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" + bytes([1]) + os.urandom(200) + b"\r\n\r\n")
        data = read_all(s)
        got = statuses(data)
        if got != [200, 400]:
            raise Outcome(f"expected [200, 400], got {got}")


def case_big_header(port, stop):
    with connect(port) as s:
        s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n")
        expect_stock(read_all(s), 431)


def case_big_uri(port, stop):
    with connect(port) as s:
        s.sendall(b"GET /" + b"u" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        expect_stock(read_all(s), 414)


def case_big_length(port, stop):
    with connect(port) as s:
        s.sendall(b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 104857600\r\n\r\n")
        expect_stock(read_all(s), 413)


def case_big_chunked(port, stop):
    chunk = b"%x\r\n" % 65536 + b"c" * 65536 + b"\r\n"
    body = chunk * 2
    with connect(port) as s:
        s.sendall(b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        s.setblocking(False)
        data = b""
        sent = 0
        deadline = time.monotonic() + IO_TIMEOUT
        # Send until the answer arrives: the server answers as soon as the limit is passed.
        while time.monotonic() < deadline:
            try:
                got = s.recv(65536)
                if not got:
                    break
                data += got
                if b"\r\n\r\n" in data:
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            if sent < 9 * 1024 * 1024:
                try:
                    sent += s.send(body[sent % len(chunk):])  # resumes mid-chunk after a short send
                except BlockingIOError:
                    time.sleep(0.001)
                except (BrokenPipeError, ConnectionResetError):
                    sent = 1 << 40
            else:
                time.sleep(0.005)
        s.setblocking(True)
        s.settimeout(IO_TIMEOUT)
        if b"\r\n\r\n" not in data:
            try:
                data += read_all(s)
            except Outcome:
                pass
        expect_stock(data, 413)


def case_abrupt_request(port, stop):
    s = connect(port)
    s.sendall(b"POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na")
    reset(s)


def case_abrupt_stream(port, stop):
    s = connect(port)
    try:
        s.sendall(b"GET /stream?n=50&ms=20 HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"data: 0" not in data:
            got = s.recv(65536)
            if not got:
                raise Outcome("closed before the first event")
            data += got
        if statuses(data) != [200]:
            raise Outcome(f"stream answered {statuses(data)}")
    finally:
        reset(s)


CASES = {
    "slowloris": case_slowloris,
    "garbage": case_garbage,
    "pipelined_junk": case_pipelined_junk,
    "big_header": case_big_header,
    "big_uri": case_big_uri,
    "big_length": case_big_length,
    "big_chunked": case_big_chunked,
    "abrupt_request": case_abrupt_request,
    "abrupt_stream": case_abrupt_stream,
}
# big_chunked sends 9 MiB per attempt: run it less often than the cheap cases.
PAUSE_FACTOR = {"big_chunked": 20}


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.cases = {name: {"ok": 0, "unexpected": 0, "samples": []} for name in CASES}

    def add(self, name, error=None):
        with self.lock:
            entry = self.cases[name]
            if error is None:
                entry["ok"] += 1
            else:
                entry["unexpected"] += 1
                if len(entry["samples"]) < 5:
                    entry["samples"].append(error)


def run_case(name, port, stop, pause, tally):
    fn = CASES[name]
    while not stop.is_set():
        try:
            result = fn(port, stop)
            if result != "abandoned":
                tally.add(name)
        except Outcome as e:
            tally.add(name, str(e))
        except OSError as e:
            if not stop.is_set():
                tally.add(name, f"{type(e).__name__}: {e}")
        stop.wait(pause * PAUSE_FACTOR.get(name, 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--slowloris", type=int, default=16, help="concurrent slow connections")
    ap.add_argument("--pause-ms", type=float, default=20, help="pause between attempts of a case")
    ap.add_argument("--only", default="", help="comma-separated cases to run (default: all)")
    args = ap.parse_args()
    only = [name for name in args.only.split(",") if name]
    for name in only:
        if name not in CASES:
            ap.error(f"unknown case {name}; cases: {', '.join(CASES)}")

    stop = threading.Event()
    tally = Tally()
    threads = []
    for name in only or CASES:
        copies = args.slowloris if name == "slowloris" else 1
        for _ in range(copies):
            t = threading.Thread(target=run_case, daemon=True,
                                 args=(name, args.port, stop, args.pause_ms / 1000, tally))
            t.start()
            threads.append(t)
    stop.wait(args.duration)
    stop.set()
    for t in threads:
        t.join(timeout=IO_TIMEOUT + 5)

    unexpected = 0
    cases = {name: entry for name, entry in tally.cases.items() if not only or name in only}
    for name, entry in cases.items():
        unexpected += entry["unexpected"]
        print(f"{name:<15} ok {entry['ok']:>7}  unexpected {entry['unexpected']:>4}"
              + (f"  e.g. {entry['samples'][0]}" if entry["samples"] else ""))
    print(json.dumps({"cases": cases, "unexpected": unexpected}))


if __name__ == "__main__":
    main()
