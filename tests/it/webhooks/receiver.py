"""A Standard Webhooks receiver for scimport's tests and benchmark.

Verifies every delivery with the official `standardwebhooks` package (an
implementation independent of scimport's), deduplicates by webhook-id, and logs
one JSON line per request: id, HTTP status answered, verdict, reason, headers and
raw body (so a test can re-post a captured delivery with changes).

Verdicts: accepted (valid, first time this id is seen: processed), duplicate
(valid, id already processed, new signature: an at-least-once re-send), replay
(valid, but this exact id+signature was seen before: a captured delivery posted
again), invalid (the library refused it: 400), down (answered 503 because the
receiver is told to be down). A duplicate or a replay is rejected (not processed
again) but answered 200: a sender's re-send of a delivery that did arrive, in the
same second, is byte for byte a replay, and a non-2xx answer would make the
sender record it as failed.

Usage: receiver.py --port-file F --log F [--secret-env NAME] [--fail-first K]
                   [--down-while-missing F] [--no-bodies] [--processes K]

--processes K (benchmarks) serves the one listening socket from K processes, each
threaded, so that Python is not the bottleneck; ids are then tracked per process.
"""

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--secret-env", default="RECEIVER_SECRET")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--down-while-missing")
    p.add_argument("--no-bodies", action="store_true")
    p.add_argument("--processes", type=int, default=1)
    a = p.parse_args()

    wh = Webhook(os.environ[a.secret_env])
    lock = threading.Lock()
    accepted = set()
    signatures = set()
    state = {"failed_first": 0}
    log = open(a.log, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, verdict, reason, headers, body):
            entry = {
                "id": headers.get("webhook-id"),
                "status": status,
                "verdict": verdict,
                "reason": reason,
            }
            if not a.no_bodies:
                entry["headers"] = headers
                entry["body"] = body.decode("utf-8", "replace")
            with lock:
                log.write(json.dumps(entry) + "\n")
            out = json.dumps({"verdict": verdict}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def do_POST(self):
            n = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(n)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                down = state["failed_first"] < a.fail_first
                if down:
                    state["failed_first"] += 1
            if a.down_while_missing and not os.path.exists(a.down_while_missing):
                down = True
            if down:
                return self.answer(503, "down", "told to be down", headers, body)
            try:
                wh.verify(body, headers)
            except WebhookVerificationError as e:
                return self.answer(400, "invalid", str(e), headers, body)
            msg_id = headers["webhook-id"]
            key = (msg_id, headers.get("webhook-signature"))
            with lock:
                if key in signatures:
                    verdict = "replay"
                elif msg_id in accepted:
                    verdict = "duplicate"
                else:
                    verdict = "accepted"
                signatures.add(key)
                accepted.add(msg_id)
            reason = "" if verdict == "accepted" else "id already processed: ignored"
            self.answer(200, verdict, reason, headers, body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    for _ in range(a.processes - 1):
        if os.fork() == 0:
            break
    tmp = a.port_file + ".%d.tmp" % os.getpid()
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, a.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
