#!/usr/bin/python3
"""Scripted HTTP/1.1 server on 127.0.0.1 for transport tests.

Usage: fault_server.py --script FILE --record FILE [--max-seconds N]

Listens on an ephemeral port of 127.0.0.1 and prints that port on stdout (one line), then
answers each request with the next step of the script (a JSON list; the last step repeats).
A step is an object:
  {"status": 200, "headers": {"x-amzn-RequestId": "r1"}, "body": "..."}   answer (default)
  {"action": "drop"}        read the request, close the connection without answering
  {"action": "drop_mid", "status": 200}
                            send the status line and a Content-Length of 1000, 10 bytes of body,
                            then close
  {"action": "hang"}        read the request, never answer (until the client goes away)
  {"action": "big", "size": N, "chunked": true|false}
                            a 200 answer with an N-byte body, chunked or with Content-Length
Every request is appended to the record file as one JSON line, before it is answered:
  {"n": 0, "method": "POST", "path": "/...", "headers": [[name, value], ...], "body": "...",
   "client_port": 41234}
Connections are kept alive (HTTP/1.1), so clients can reuse them. The server exits on SIGTERM,
when its parent dies (the C test sets PR_SET_PDEATHSIG), or after --max-seconds (default 120).
"""
import argparse
import http.server
import json
import os
import select
import signal
import socket
import sys
import threading
import time


class State:
    def __init__(self, script, record_path):
        self.script = script
        self.record_path = record_path
        self.lock = threading.Lock()
        self.count = 0

    def next_step(self, request):
        with self.lock:
            n = self.count
            self.count += 1
            request["n"] = n
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(request) + "\n")
                f.flush()
            if not self.script:
                return {"status": 200, "body": ""}
            return self.script[min(n, len(self.script) - 1)]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "fault_server"
    sys_version = ""

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def _any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        record = {
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", errors="replace"),
            "client_port": self.client_address[1],
        }
        step = self.server.state.next_step(record)
        action = step.get("action", "respond")
        try:
            getattr(self, "_" + action)(step)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

    def _respond(self, step):
        body = step.get("body", "").encode("utf-8")
        self.send_response(step.get("status", 200))
        for k, v in step.get("headers", {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()

    def _drop(self, step):
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _drop_mid(self, step):
        self.close_connection = True
        status = step.get("status", 200)
        self.wfile.write(
            b"HTTP/1.1 %d OK\r\nContent-Length: 1000\r\nContent-Type: text/xml\r\n\r\n<Partial>x"
            % status
        )
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _hang(self, step):
        self.close_connection = True
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.connection], [], [], 0.1)
            if ready:
                try:
                    if not self.connection.recv(4096):
                        return  # the client gave up
                except OSError:
                    return

    def _big(self, step):
        size = int(step["size"])
        chunked = bool(step.get("chunked"))
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b"x" * 65536
        left = size
        while left > 0:
            part = block[: min(left, len(block))]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            else:
                self.wfile.write(part)
            left -= len(part)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--max-seconds", type=float, default=120.0)
    args = ap.parse_args()
    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    open(args.record, "w").close()

    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(script, args.record)

    def stop(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    timer = threading.Timer(args.max_seconds, stop)
    timer.daemon = True
    timer.start()
    sys.stdout.write("%d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
