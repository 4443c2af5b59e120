#!/usr/bin/env python3
"""The tutorials' baseline: sequential look-up-then-POST, one user at a time.

What the five Genesys SCIM tutorials do, as a yardstick for `scimport import`
(issue 5, benchmark a): get a token (POST /oauth/token, Basic auth, client
credentials), then for every user GET /Users?filter=userName eq "..." and, when
absent, POST /Users. One request at a time over one kept-alive connection by
default (the generous reading, like the httpx.Client tutorial); with
--connection-per-call, a new connection per request, as the tutorials that call
`requests.get`/`requests.post` without a Session do.

Standard library only. Either point it at a running emulator:

    scripts/bench-tutorial.py --url http://127.0.0.1:PORT --users 2000
    (credentials from GENESYS_CLIENT_ID / GENESYS_CLIENT_SECRET)

or let it start one (`scimport emulator --rate-limit off`) from a built binary:

    scripts/bench-tutorial.py --scimport target/release/scimport --users 2000

Users are generated (bench.N@...), or read with --input from an HR export CSV in
the fixtures' format (employee_id, first_name, last_name, email, title,
department, status), as `scimport import` would read the same file.

Prints a human line and a JSON line: users, seconds, users/s, calls, calls/user.
"""

import argparse
import base64
import csv
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid

SCIM = "/api/v2/scim/v2"


def start_emulator(binary):
    client_id, secret = "bench-client", uuid.uuid4().hex
    proc = subprocess.Popen(
        [binary, "emulator", "--listen", "127.0.0.1:0", "--rate-limit", "off",
         "--client-id", client_id, "--client-secret", secret],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if "listening on " in line:
            url = line.split("listening on ", 1)[1].strip()
            return proc, url, client_id, secret
    proc.kill()
    sys.exit("the emulator did not print its address")


class Client:
    def __init__(self, url, per_call=False):
        self.per_call = per_call
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
        self.https = u.scheme == "https"
        self.conn = None
        self.calls = 0
        self.token = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self.conn = cls(self.host, self.port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            try:
                self.calls += 1
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if self.per_call:
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def login(self, client_id, secret):
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        status, data = self.request(
            "POST", "/oauth/token", body="grant_type=client_credentials",
            headers={"Authorization": "Basic " + basic,
                     "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            sys.exit(f"token request failed: HTTP {status}")
        self.token = json.loads(data)["access_token"]


CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def generated_users(prefix, n):
    for i in range(n):
        user_name = f"{prefix}.{i}@bench.example.com"
        yield {
            "schemas": [CORE],
            "userName": user_name,
            "externalId": f"{prefix}-{i}",
            "displayName": f"Bench User {i}",
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "active": True,
        }


def users_from_csv(path, limit):
    with open(path, newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.DictReader(f)):
            if limit is not None and n >= limit:
                return
            email = (row.get("email") or "").strip().lower()
            first, last = row.get("first_name", ""), row.get("last_name", "")
            user = {
                "schemas": [CORE, ENTERPRISE],
                "userName": email,
                "externalId": row.get("employee_id", ""),
                "displayName": f"{first} {last}".strip(),
                "emails": [{"value": email, "type": "work", "primary": True}],
                "active": (row.get("status") or "active").strip().lower() != "terminated",
            }
            if row.get("title"):
                user["title"] = row["title"]
            if row.get("department"):
                user[ENTERPRISE] = {"department": row["department"]}
            yield user


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="emulator base URL (default: start one with --scimport)")
    ap.add_argument("--scimport", help="scimport binary used to start an emulator")
    ap.add_argument("--users", type=int, default=None,
                    help="how many users (default: 1000, or every row of --input)")
    ap.add_argument("--input", help="HR export CSV (fixtures/hr_export.csv format)")
    ap.add_argument("--prefix", default=None, help="userName prefix (default: random)")
    ap.add_argument("--connection-per-call", action="store_true",
                    help="open a new connection per request (requests without a Session)")
    args = ap.parse_args()

    proc = None
    if args.url:
        url = args.url.rstrip("/")
        client_id = os.environ.get("GENESYS_CLIENT_ID")
        secret = os.environ.get("GENESYS_CLIENT_SECRET")
        if not client_id or not secret:
            sys.exit("set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET")
    elif args.scimport:
        proc, url, client_id, secret = start_emulator(args.scimport)
    else:
        sys.exit("give --url or --scimport")

    prefix = args.prefix or "tut" + uuid.uuid4().hex[:8]
    if args.input:
        people = list(users_from_csv(args.input, args.users))
    else:
        people = list(generated_users(prefix, args.users or 1000))
    args.users = len(people)
    c = Client(url, per_call=args.connection_per_call)
    try:
        c.login(client_id, secret)
        created = found = failed = 0
        t0 = time.perf_counter()
        for person in people:
            user_name = person["userName"]
            flt = urllib.parse.quote(f'userName eq "{user_name}"')
            status, data = c.request("GET", f"{SCIM}/Users?filter={flt}",
                                     headers={"Accept": "application/scim+json"})
            if status == 200 and json.loads(data).get("totalResults", 0) > 0:
                found += 1
                continue
            body = json.dumps(person)
            status, _ = c.request("POST", f"{SCIM}/Users", body=body,
                                  headers={"Content-Type": "application/scim+json"})
            if status in (200, 201):
                created += 1
            else:
                failed += 1
        secs = time.perf_counter() - t0
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
    api_calls = c.calls - 1  # the token request is not per user
    result = {
        "bench": "tutorial-sequential",
        "connection": "per-call" if args.connection_per_call else "keep-alive",
        "users": args.users, "created": created, "found": found, "failed": failed,
        "seconds": round(secs, 3), "users_per_s": round(args.users / secs, 1),
        "calls": api_calls, "calls_per_user": round(api_calls / max(args.users, 1), 3),
    }
    try:
        print(f"tutorial baseline: {args.users} users in {secs:.2f}s = "
              f"{result['users_per_s']} users/s, {result['calls_per_user']} calls/user "
              f"(created {created}, found {found}, failed {failed})", flush=True)
        print(json.dumps(result), flush=True)
    except BrokenPipeError:
        # A reader such as `head -1` went away; that is not a failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
