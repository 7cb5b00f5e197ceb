#!/usr/bin/python3
"""An SMTP server on 127.0.0.1 for the notification tests (tests/unit/test_notify.c).

Usage: smtp_sink.py --record FILE [--reject-rcpt] [--max-seconds N]

Listens on an ephemeral port of 127.0.0.1 with Debian's python3-aiosmtpd, prints the port on
stdout (one line) and appends one JSON line per event to the record file:
  {"event": "message", "mail_from": "...", "rcpt_tos": [...], "data": "<the message>"}
  {"event": "rcpt_rejected", "address": "..."}   (with --reject-rcpt: RCPT TO answered 550)
The server exits on SIGTERM, when its parent dies (the C test sets PR_SET_PDEATHSIG), or after
--max-seconds (default 120).
"""
import argparse
import asyncio
import json
import signal
import sys

from aiosmtpd.smtp import SMTP


class Recorder:
    def __init__(self, path, reject_rcpt):
        self.path = path
        self.reject_rcpt = reject_rcpt

    def record(self, obj):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj) + "\n")
            f.flush()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt:
            self.record({"event": "rcpt_rejected", "address": address})
            return "550 5.1.1 <%s>: recipient rejected by the test" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.record({
            "event": "message",
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        })
        return "250 Message accepted for delivery"


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--record", required=True)
    ap.add_argument("--reject-rcpt", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()

    handler = Recorder(args.record, args.reject_rcpt)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="sink.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        pass
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
