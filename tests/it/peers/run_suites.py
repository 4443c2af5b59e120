"""Runs the two peer SCIM conformance suites (scim2-tester, scim-sanity) against one
SCIM base URL with a bearer token, and prints one JSON line per check:
{"suite", "name", "status", "reason"}; status is "pass", "fail" or "skip".

Usage: run_suites.py <scim-base-url> <bearer-token>
A suite that cannot be imported or run prints a "fail" line naming why, so a
machine without the suites fails the calling test instead of skipping it.
"""

import json
import subprocess
import sys


def emit(suite, name, status, reason):
    print(json.dumps({"suite": suite, "name": name, "status": status,
                      "reason": (reason or "")[:400]}), flush=True)


def genesys_usernames():
    """Adapts the tester's generated values: a Genesys userName is the user's primary
    email address, and the tester fills userName with a bare UUID, so every user it
    creates would get a 400 and no user check could run. Give userName an
    email-shaped value instead (scim-sanity's own users already have one), and give
    dateTime and decimal attributes values of their type (see below)."""
    import datetime
    import uuid

    import scim2_tester.filling as filling

    original = filling.generate_random_value

    def generate(context, path, *args, **kwargs):
        value = original(context, path, *args, **kwargs)
        if str(path).endswith("userName") and isinstance(value, str):
            return f"{uuid.uuid4()}@example.com"
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime.datetime:
            # The tester fills dateTime attributes (dateHire) with a UUID string,
            # which its own model then refuses before any request is sent.
            return datetime.datetime(2024, 5, 17, tzinfo=datetime.timezone.utc)
        if binding is not None and binding.target_type is float:
            # Likewise decimals (the Genesys extension's routingSkills.proficiency).
            return 3.0
        return value

    filling.generate_random_value = generate


def run_scim2_tester(url, token):
    try:
        import httpx2
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import Status, check_server
    except Exception as e:  # the suite is missing: a failure, never a skip
        emit("scim2-tester", "import", "fail", f"cannot import scim2-tester: {e}")
        return
    genesys_usernames()
    client = httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30)
    scim = SyncSCIMClient(client)
    try:
        # Only the resource types a Genesys tenant serves; the tester would otherwise
        # try CRUD on the read-only discovery resources too.
        results = check_server(scim, resource_types=["User", "Group"])
    except Exception as e:
        emit("scim2-tester", "check_server", "fail", f"check_server raised: {e!r}")
        return
    ok = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
    for r in results:
        if r.status == Status.SKIPPED:
            status = "skip"
        elif r.status in ok:
            status = "pass"
        else:
            status = "fail"
        name = r.title or "?"
        if r.resource_type:
            name = f"{name} [{r.resource_type}]"
        emit("scim2-tester", name, status, f"{r.status.name}: {r.reason or ''}")


# Runs scim-sanity's CLI with its generated users stripped of core `name` (a Genesys
# user has none), so its user lifecycle (GET, PUT, PATCH, DELETE, meta) runs too.
WITHOUT_NAME = """
import sys
import scim_sanity.probe.tests as tests
from scim_sanity.cli import main
original = tests.make_user
def make_user(*args, **kwargs):
    user = original(*args, **kwargs)
    user.pop("name", None)
    return user
tests.make_user = make_user
sys.argv = ["scim-sanity"] + sys.argv[1:]
main()
"""


def run_scim_sanity(url, token, suite="scim-sanity", without_name=False):
    entry = ["-c", WITHOUT_NAME] if without_name else ["-m", "scim_sanity"]
    cmd = [sys.executable, *entry, "probe", url, "--token", token,
           "--json-output", "--i-accept-side-effects", "--timeout", "20"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except Exception as e:
        emit(suite, "probe", "fail", f"cannot run scim-sanity: {e!r}")
        return
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        emit(suite, "probe", "fail",
             f"no JSON from scim-sanity (exit {out.returncode}): {out.stderr[-300:]}")
        return
    for r in doc.get("results", []):
        raw = r.get("status", "")
        status = {"pass": "pass", "skip": "skip"}.get(raw, "fail")
        reason = f"{raw}: {r.get('message', '')}"
        emit(suite, r.get("name", "?"), status, reason)


def main():
    if len(sys.argv) != 3:
        print("usage: run_suites.py <scim-base-url> <bearer-token>", file=sys.stderr)
        sys.exit(2)
    url, token = sys.argv[1], sys.argv[2]
    run_scim2_tester(url, token)
    run_scim_sanity(url, token)
    run_scim_sanity(url, token, suite="scim-sanity-without-name", without_name=True)


if __name__ == "__main__":
    main()
