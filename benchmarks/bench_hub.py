"""A class of 30 on the course's JupyterHub: memory, and fetch + submit all at once.

Needs root (it adds Unix accounts, removed afterwards): ``sudo .venv/bin/python
benchmarks/bench_hub.py [--learners 30]``; ``make bench`` runs it when run as root.

What it does: adds an instructor and N learners, starts ``make hub`` on a free port (the
course copied into a folder every account can reach, see ``tests/hub_support.py``), with
one extra API service allowed to start servers and reach them. The instructor releases
``ch02_lstm_cell`` with nbgrader's CLI. Every learner's server is started, then all N
learners at once (threads released by one barrier) call their own server's REST API:
``POST /user/<name>/assignments/fetch``, write an answer marked with a nonce
(``PUT /user/<name>/api/contents/...``), ``POST /user/<name>/assignments/submit``.

Prints: resident memory of the hub, the proxy and one learner's server (and the mean
over all learners' servers); median and 95th percentile of the fetch and the submit
round trips; whether all N submissions arrived intact (each learner's own folder in the
exchange, owned by them, holding their notebook with their nonce, valid JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import secrets
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hub_support import ASSIGNMENT, COURSE_ID, Klass

TOKEN = secrets.token_hex(32)


def api(k: Klass, method: str, path: str, body=None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{k.url}{path}", data=data, method=method,
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def rss_mb(pid: int) -> float:
    m = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) / 1024 if m else float("nan")


def processes() -> list[tuple[int, int, str]]:
    out = []
    for p in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            uid = int(re.search(r"^Uid:\s+(\d+)", (p / "status").read_text(), re.M).group(1))
        except (OSError, AttributeError):
            continue
        out.append((int(p.name), uid, cmd))
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learners", type=int, default=30)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_hub: skipped (needs root to add Unix accounts): "
              "sudo .venv/bin/python benchmarks/bench_hub.py")
        return 0
    extra = Path(f"/tmp/lstm-bench-hub-{secrets.token_hex(3)}.py")
    extra.write_text(
        "c = get_config()  # noqa\n"
        f"c.JupyterHub.services = [{{'name': 'bench', 'api_token': {TOKEN!r}}}]\n"
        "c.JupyterHub.load_roles = [{'name': 'bench-role', 'services': ['bench'], 'scopes':"
        " ['admin:users', 'admin:servers', 'access:servers', 'groups']}]\n"
        "c.JupyterHub.concurrent_spawn_limit = 100\n"
    )
    extra.chmod(0o600)
    names = [f"l{i:02d}" for i in range(args.learners)]
    k = Klass(learners=names, extra_config=str(extra))
    try:
        t = time.monotonic()
        k.create()
        k.start_hub()
        print(f"{len(names)} learners and an instructor added, hub up: "
              f"{time.monotonic() - t:.0f} s")
        for cmd in (["nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                    ["nbgrader", "release_assignment", ASSIGNMENT]):
            k.as_user(k.teacher, cmd, cwd=k.course)

        t = time.monotonic()
        api(k, "POST", "/hub/api/users", {"usernames": k.learner_names})
        for u in k.learner_names:
            try:
                api(k, "POST", f"/hub/api/users/{u}/server")
            except urllib.error.HTTPError as err:
                if err.code != 202:
                    raise
        deadline = time.monotonic() + 900
        pending = set(k.learner_names)
        while pending and time.monotonic() < deadline:
            for u in list(pending):
                info = api(k, "GET", f"/hub/api/users/{u}")
                if info["servers"].get("", {}).get("ready"):
                    pending.discard(u)
            time.sleep(1)
        if pending:
            print(f"ERROR: {len(pending)} servers did not start:\n{k.log_tail()}")
            return 1
        print(f"{len(names)} learner servers started: {time.monotonic() - t:.0f} s")

        # memory
        procs = processes()
        hub = [p for p in procs if p[1] == 0 and "jupyterhub" in p[2]
               and "hub/jupyterhub_config.py" in p[2]]
        proxy = [p for p in procs if "configurable-http-proxy" in p[2] and p[1] == 0]
        uids = {pwd.getpwnam(u).pw_uid for u in k.learner_names}
        servers = [p for p in procs if p[1] in uids and "jupyterhub.singleuser" in p[2]]
        mem_servers = [rss_mb(p[0]) for p in servers]

        # the class, all at once
        source = json.loads(
            (k.course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
        nonces = {u: secrets.token_hex(8) for u in k.learner_names}
        fetch_s, submit_s, errors = {}, {}, {}
        barrier = threading.Barrier(len(k.learner_names))

        def learner(u: str):
            try:
                barrier.wait()
                t0 = time.monotonic()
                out = api(k, "POST", f"/user/{u}/assignments/fetch",
                          {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
                fetch_s[u] = time.monotonic() - t0
                assert out.get("success"), out
                nb = json.loads(json.dumps(source))
                nb["cells"].append({"cell_type": "markdown", "metadata": {},
                                    "source": f"nonce {nonces[u]}"})
                api(k, "PUT", f"/user/{u}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                    {"type": "notebook", "format": "json", "content": nb})
                t0 = time.monotonic()
                out = api(k, "POST", f"/user/{u}/assignments/submit",
                          {"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
                submit_s[u] = time.monotonic() - t0
                assert out.get("success"), out
            except Exception as err:
                errors[u] = repr(err)[:300]

        threads = [threading.Thread(target=learner, args=(u,)) for u in k.learner_names]
        t = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.monotonic() - t

        intact = 0
        inbound = k.exchange / COURSE_ID / "inbound"
        for u in k.learner_names:
            entries = [p for p in inbound.iterdir() if p.name.startswith(f"{u}+{ASSIGNMENT}+")]
            if len(entries) != 1 or entries[0].stat().st_uid != pwd.getpwnam(u).pw_uid:
                continue
            try:
                nb = json.loads((entries[0] / f"{ASSIGNMENT}.ipynb").read_text())
            except (OSError, ValueError):
                continue
            if any(nonces[u] in "".join(c["source"]) for c in nb["cells"]):
                intact += 1

        print(f"machine: {os.cpu_count()} CPUs, shared with other work (wall-clock times "
              "are inflated accordingly)")
        print(f"memory (RSS): hub {sum(rss_mb(p[0]) for p in hub):.0f} MB, proxy "
              f"{sum(rss_mb(p[0]) for p in proxy):.0f} MB, one learner server "
              f"{mem_servers[0]:.0f} MB (mean of {len(mem_servers)}: "
              f"{statistics.mean(mem_servers):.0f} MB)")
        if fetch_s:
            print(f"fetch over REST, {len(names)} at once: median {statistics.median(fetch_s.values()):.2f} s,"  # noqa: E501
                  f" p95 {pct(list(fetch_s.values()), 0.95):.2f} s")
        if submit_s:
            print(f"submit over REST, {len(names)} at once: median {statistics.median(submit_s.values()):.2f} s,"  # noqa: E501
                  f" p95 {pct(list(submit_s.values()), 0.95):.2f} s")
        print(f"whole class fetched, answered and submitted in {wall:.1f} s")
        print(f"submissions intact: {intact}/{len(names)}"
              + (f"; errors: {errors}" if errors else ""))
        return 0 if intact == len(names) and not errors else 1
    finally:
        k.destroy()
        extra.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
