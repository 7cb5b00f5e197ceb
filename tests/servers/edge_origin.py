#!/usr/bin/python3
"""A configurable HTTP/1.1 origin for the edge tests (loopback only).

Usage: edge_origin.py --name NAME [--port P] [--control-port C]
Prints one JSON line {"port": P, "control": C} on stdout once both listeners are up, then serves
until SIGTERM. The mode is changed through the control listener:
  GET /mode?m=ok                    normal answers
  GET /mode?m=status&code=N         every request gets status N
  GET /mode?m=refuse                listener and ALL open connections closed: connects refused
  GET /mode?m=blackhole             a listening socket that is never accepted, its accept queue
                                    full, so new SYNs are dropped (connects time out)
  GET /mode?m=slow&delay_ms=N       the response headers come after N ms
  GET /mode?m=oneshot               one request per connection; a later request on the same
                                    connection is answered by closing it
  GET /stats                        {"requests": n, "mode": m}
Paths (in modes ok/slow/oneshot): /echo (JSON of the request), /bytes/N (N bytes), /hop (a
response with hop-by-hop headers), /status/N (always N), /die/N (promises more than N bytes,
sends N, closes), /stall/N (sends N of 2N bytes, then nothing), anything else: a short text.
Every response carries x-region: NAME.
"""
import argparse
import asyncio
import hashlib
import json
import signal
import socket
import sys
import urllib.parse

REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           416: "Range Not Satisfiable", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout", 418: "I'm a teapot"}


class Origin:
    def __init__(self, name, port):
        self.name = name
        self.port = port
        self.mode = "ok"
        self.code = 200
        self.delay_ms = 0
        self.requests = 0
        self.server = None
        self.writers = set()
        self.hole = None
        self.dummies = []

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", self.port,
                                                 reuse_address=True, backlog=4096)
        self.port = self.server.sockets[0].getsockname()[1]

    def close_all(self):
        if self.server:
            self.server.close()
            self.server = None
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()
        for s in self.dummies:
            s.close()
        self.dummies = []
        if self.hole:
            self.hole.close()
            self.hole = None

    def blackhole(self):
        self.close_all()
        hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hole.bind(("127.0.0.1", self.port))
        hole.listen(0)
        self.hole = hole
        for _ in range(16):  # fill the accept queue until a connect no longer completes
            d = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            d.settimeout(0.3)
            try:
                d.connect(("127.0.0.1", self.port))
            except (socket.timeout, OSError):
                d.close()
                return
            self.dummies.append(d)
        raise RuntimeError("blackhole: the accept queue never filled")

    async def set_mode(self, q):
        mode = q.get("m", "ok")
        if mode not in ("ok", "status", "refuse", "blackhole", "slow", "oneshot"):
            return 400, "unknown mode\n"
        if mode in ("refuse", "blackhole"):
            if mode == "refuse":
                self.close_all()
            else:
                self.blackhole()
        elif self.server is None:
            self.close_all()
            await self.start()
        self.mode = mode
        self.code = int(q.get("code", "200"))
        self.delay_ms = int(q.get("delay_ms", "0"))
        return 200, "ok\n"

    async def handle(self, reader, writer):
        self.writers.add(writer)
        served = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers = []
                for line in lines[1:]:
                    if line:
                        k, _, v = line.partition(":")
                        headers.append([k.strip(), v.strip()])
                hmap = {k.lower(): v for k, v in headers}
                body = b""
                n = int(hmap.get("content-length", "0"))
                if n:
                    body = await reader.readexactly(n)
                if self.mode == "oneshot" and served >= 1:
                    writer.transport.abort()
                    return
                self.requests += 1
                served += 1
                keep = await self.respond(writer, method, target, headers, hmap, body)
                if not keep or hmap.get("connection", "").lower() == "close":
                    writer.close()
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.writers.discard(writer)

    def head(self, status, extra, length):
        h = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
             "x-region: " + self.name, "Server: edge-origin"]
        if length is not None:
            h.append("Content-Length: %d" % length)
        h += ["%s: %s" % kv for kv in extra]
        return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1")

    async def respond(self, writer, method, target, headers, hmap, body):
        if self.mode == "slow" and self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000.0)
        path = target.split("?", 1)[0]
        send_body = method != "HEAD"
        if self.mode == "status" and not path.startswith("/status/"):
            text = ("status %d from %s\n" % (self.code, self.name)).encode()
            writer.write(self.head(self.code, [("Content-Type", "text/plain")], len(text)))
            if send_body:
                writer.write(text)
            await writer.drain()
            return True
        if path.endswith("/reset"):
            writer.transport.abort()
            return False
        if path == "/echo" or path.endswith("/echo"):
            doc = {"method": method, "target": target, "headers": headers,
                   "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest(),
                   "origin": self.name}
            text = json.dumps(doc).encode()
            writer.write(self.head(200, [("Content-Type", "application/json")], len(text)))
            if send_body:
                writer.write(text)
        elif path.startswith("/bytes/"):
            n = int(path[len("/bytes/"):])
            writer.write(self.head(200, [("Content-Type", "application/octet-stream")], n))
            if send_body:
                block = bytes(range(256)) * 256
                left = n
                while left > 0:
                    k = min(left, len(block))
                    writer.write(block[:k])
                    left -= k
                    await writer.drain()
        elif path == "/early":
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
            text = b"after early hints\n"
            writer.write(self.head(200, [("Content-Type", "text/plain")], len(text)))
            if send_body:
                writer.write(text)
        elif path.startswith("/chunked/"):
            n = int(path[len("/chunked/"):])
            writer.write(self.head(200, [("Transfer-Encoding", "chunked")], None))
            if send_body:
                left = n
                while left > 0:
                    k = min(left, 1000)
                    writer.write(b"%x\r\n" % k + b"c" * k + b"\r\n")
                    left -= k
                writer.write(b"0\r\n\r\n")
        elif path == "/hop":
            text = b"hop\n"
            writer.write(self.head(200, [("Connection", "X-Hop-Custom"), ("X-Hop-Custom", "1"),
                                         ("Keep-Alive", "timeout=5"),
                                         ("Proxy-Authenticate", "Basic realm=x"),
                                         ("Trailer", "X-Trail"), ("Upgrade", "example/1"),
                                         ("X-End-To-End", "yes")], len(text)))
            if send_body:
                writer.write(text)
        elif path.startswith("/status/"):
            code = int(path[len("/status/"):])
            text = ("status %d from %s\n" % (code, self.name)).encode()
            writer.write(self.head(code, [("Content-Type", "text/plain")], len(text)))
            if send_body:
                writer.write(text)
        elif path.startswith("/die/") or path.startswith("/stall/"):
            n = int(path.split("/")[2])
            writer.write(self.head(200, [], 2 * n))
            writer.write(b"d" * n)
            await writer.drain()
            if path.startswith("/die/"):
                writer.transport.abort()
                return False
            await asyncio.sleep(3600)
        else:
            text = ("hello from %s\n" % self.name).encode()
            writer.write(self.head(200, [("Content-Type", "text/plain")], len(text)))
            if send_body:
                writer.write(text)
        await writer.drain()
        return True


async def control(origin, reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        target = head.decode("latin-1").split(" ")[1]
        u = urllib.parse.urlsplit(target)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/mode":
            status, text = await origin.set_mode(q)
        elif u.path == "/stats":
            status, text = 200, json.dumps({"requests": origin.requests, "mode": origin.mode})
        else:
            status, text = 404, "no\n"
        data = text.encode()
        writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % (status, len(data)) + data)
        await writer.drain()
    except Exception as e:  # report, never hang the test
        data = ("error: %s\n" % e).encode()
        writer.write(b"HTTP/1.1 500 X\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % len(data) + data)
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="origin")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--control-port", type=int, default=0)
    a = ap.parse_args()
    origin = Origin(a.name, a.port)
    await origin.start()
    ctl = await asyncio.start_server(lambda r, w: control(origin, r, w), "127.0.0.1",
                                     a.control_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(json.dumps({"port": origin.port, "control": ctl.sockets[0].getsockname()[1]}),
          flush=True)
    await stop.wait()
    origin.close_all()
    ctl.close()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
