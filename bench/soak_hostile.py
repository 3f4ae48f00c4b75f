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
  ws_echo        /ws/echo: 20 text and binary messages up to 64 KiB, then a clean close
                                                                  [each echoed, close 1000]
  ws_chat        two members of one /ws/chat room, 10 messages each [each sees all 20]
  ws_unmasked    an unmasked client frame on /ws/echo             [close 1002]
  ws_too_big     a frame announcing 5 MiB on /ws/echo (4 MiB max) [close 1009]
  ws_abrupt      half a frame on /ws/echo, then a reset           [nothing to read]

Prints one line per case, then one JSON object on the last line:
  {"cases": {"garbage": {"ok": N, "unexpected": M, "samples": [...]}, ...}, "unexpected": M}
Only loopback; stops by itself at the deadline.
"""

import argparse
import base64
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


# ---- WebSocket clients (RFC 6455, over a raw socket: the hostile cases need to break it) ------

def ws_connect(port, path):
    s = connect(port)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
              f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            s.close()
            raise Outcome(f"closed during the handshake: {head[:80]!r}")
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        s.close()
        raise Outcome(f"handshake answered {head[:40]!r}")
    return s, bytearray(rest)


def ws_frame(opcode, payload, mask=True, length=None):
    n = len(payload) if length is None else length
    head = bytes([0x80 | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def ws_read(s, buffer):
    """One message from the server: (opcode, payload), its fragments joined (vial sends long
    messages in frames of 4 KiB); `buffer` keeps what was read past it."""
    opcode, fin, payload = ws_read_frame(s, buffer)
    while not fin:
        more, fin, part = ws_read_frame(s, buffer)
        if more != 0:
            raise Outcome(f"opcode {more} inside a fragmented message")
        payload += part
    return opcode, payload


def ws_read_frame(s, buffer):
    """One frame: (opcode, fin, payload)."""
    def need(n):
        while len(buffer) < n:
            chunk = s.recv(65536)
            if not chunk:
                raise Outcome(f"closed without a close frame ({len(buffer)} bytes pending)")
            buffer.extend(chunk)
    need(2)
    opcode, fin, n = buffer[0] & 0x0F, buffer[0] & 0x80, buffer[1] & 0x7F
    at = 2
    if n == 126:
        need(4)
        n, at = struct.unpack("!H", buffer[2:4])[0], 4
    elif n == 127:
        need(10)
        n, at = struct.unpack("!Q", buffer[2:10])[0], 10
    need(at + n)
    payload = bytes(buffer[at:at + n])
    del buffer[:at + n]
    return opcode, bool(fin), payload


def ws_expect_close(s, buffer, code):
    opcode, payload = ws_read(s, buffer)
    if opcode != 8:
        raise Outcome(f"expected a close frame, got opcode {opcode}")
    got = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
    if got != code:
        raise Outcome(f"expected close {code}, got {got} {payload[2:60]!r}")


def ws_close(s, buffer):
    s.sendall(ws_frame(8, struct.pack("!H", 1000)))
    ws_expect_close(s, buffer, 1000)


def case_ws_echo(port, stop):
    s, buffer = ws_connect(port, "/ws/echo")
    with s:
        for i in range(20):
            binary = i % 2 == 1
            size = random.choice((1, 100, 4096, 65536))
            payload = os.urandom(size) if binary else (b"%d " % i) * (size // 8 + 1)
            s.sendall(ws_frame(2 if binary else 1, payload))
            opcode, echoed = ws_read(s, buffer)
            if (opcode, echoed) != (2 if binary else 1, payload):
                raise Outcome(f"message {i} came back as opcode {opcode}, {len(echoed)} bytes")
        ws_close(s, buffer)


def case_ws_chat(port, stop):
    room = f"/ws/chat/soak-{threading.get_ident()}-{random.randrange(1 << 30)}"
    a, abuf = ws_connect(port, room)
    with a:
        b, bbuf = ws_connect(port, room)
        with b:
            # A member joins in its handler, which may still be starting after the handshake:
            # a pong comes from the handler's first receive, so it follows the join.
            for sock, buf in ((a, abuf), (b, bbuf)):
                sock.sendall(ws_frame(9, b"joined?"))
                opcode, _ = ws_read(sock, buf)
                if opcode != 10:
                    raise Outcome(f"expected a pong, got opcode {opcode}")
            sent = set()
            for i in range(10):
                for name, sock in (("a", a), ("b", b)):
                    text = f"{name}{i}".encode()
                    sent.add(text)
                    sock.send(ws_frame(1, text))
            for name, sock, buf in (("a", a, abuf), ("b", b, bbuf)):
                got = set()
                while len(got) < len(sent):
                    opcode, payload = ws_read(sock, buf)
                    if opcode != 1 or payload not in sent:
                        raise Outcome(f"{name} got opcode {opcode} {payload[:40]!r}")
                    got.add(payload)
            ws_close(b, bbuf)
        ws_close(a, abuf)


def case_ws_unmasked(port, stop):
    s, buffer = ws_connect(port, "/ws/echo")
    with s:
        s.sendall(ws_frame(1, b"not masked", mask=False))
        ws_expect_close(s, buffer, 1002)


def case_ws_too_big(port, stop):
    s, buffer = ws_connect(port, "/ws/echo")
    with s:
        s.sendall(ws_frame(2, b"", length=5 * 1024 * 1024))  # the header only
        ws_expect_close(s, buffer, 1009)


def case_ws_abrupt(port, stop):
    s, _ = ws_connect(port, "/ws/echo")
    s.sendall(ws_frame(1, b"x" * 1000)[:500])
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
    "ws_echo": case_ws_echo,
    "ws_chat": case_ws_chat,
    "ws_unmasked": case_ws_unmasked,
    "ws_too_big": case_ws_too_big,
    "ws_abrupt": case_ws_abrupt,
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
