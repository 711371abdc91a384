"""Inbound texts per second, as ratios to a bare Litestar app on the same machine and load tool.

Starts a private textdesk (`textdesk serve` on free loopback ports; a temporary SQLite database and
embedded Redis, or the PostgreSQL/Redis given), seeds an account and its number, and drives it with
`wrk` (Debian's package) at a fixed number of connections:

- the bare app (benchmarks/bare_app.py, uvicorn + uvloop + httptools): GET /
- textdesk GET /healthz
- textdesk POST /webhooks/twilio/messages, every request a new text with a valid X-Twilio-Signature
  (pre-signed, so the load tool spends nothing on HMAC), from 300 different customers
- then the same webhook at about half the peak rate (each wrk connection pausing between texts), for
  p50/p99 latency.

Every accepted text must be stored: the script counts stored inbound messages against 2xx answers
and fails if one is missing. `--web 2 --workers 2` runs two web processes (and two workers) and
loads both at once (the load tool runs on the same machine; say so when you report it).

    .venv/bin/python benchmarks/inbound_webhooks.py                       # embedded default
    .venv/bin/python benchmarks/inbound_webhooks.py \\
        --database-url postgresql+psycopg://root@127.0.0.1:5432/bench --redis-url redis://127.0.0.1:6379/5
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import AUTH_TOKEN, BUSINESS, Textdesk, free_port  # noqa: E402
from webhooks.signatures import twilio_signature  # noqa: E402

WRK_SCRIPT = """
local reqs = dofile(os.getenv("TEXTDESK_BENCH_REQUESTS"))
local counter = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  stride = tonumber(os.getenv("TEXTDESK_BENCH_THREADS"))
  counter = tid
end
function request()
  counter = counter + stride
  local r = reqs[(counter % #reqs) + 1]
  return wrk.format("POST", r[1], {["Content-Type"] = "application/x-www-form-urlencoded",
                                   ["X-Twilio-Signature"] = r[2]}, r[3])
end
local pause = tonumber(os.getenv("TEXTDESK_BENCH_PAUSE_MS") or "0")
if pause > 0 then
  function delay() return pause end
end
"""


# Signed requests written for each wrk run, which cycles through them: wrk cannot load a much larger
# table (its requests then silently fall back to `GET /`), so a run must end before it repeats one.
PREPARED = 40000


def _customers() -> list[str]:
    return [f"+1{area}5550{n:03d}"[:12] for area in ("415", "212", "312") for n in range(100, 200)]


def _form(sid: str, sender: str, n: int) -> list[tuple[str, str]]:
    return [("MessageSid", sid), ("AccountSid", "AC" + "0" * 32), ("From", sender), ("To", BUSINESS),
            ("Body", f"bench text {n}"), ("NumMedia", "0")]


def _write_requests(path: Path, public_url: str, count: int, run: str) -> None:
    customers = _customers()
    url = public_url + "/webhooks/twilio/messages"
    lines = ["return {"]
    for n in range(count):
        form = _form(f"SM{run}{n:0{32 - len(run)}d}", customers[n % len(customers)], n)  # unique, 34 characters
        body = httpx.QueryParams(form).__str__()
        lines.append(f'{{"/webhooks/twilio/messages", "{twilio_signature(AUTH_TOKEN, url, form)}", "{body}"}},')
    lines.append("}")
    path.write_text("\n".join(lines))


def wrk(url: str, seconds: int, connections: int, threads: int = 2, script: Path | None = None,
        env: dict[str, str] | None = None) -> dict[str, float]:
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests": requests, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "non2xx": int(bad.group(1)) if bad else 0,
            "errors": sum(int(g) for g in errors.groups()) if errors else 0,
            "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),  # type: ignore[union-attr]
            "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))}  # type: ignore[union-attr]


def _ms(text: str) -> float:
    value, unit = float(re.match(r"[\d.]+", text).group(0)), re.sub(r"[\d.]+", "", text)  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def bare_rps(seconds: int, connections: int) -> float:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(port),
                               "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
                              cwd=ROOT)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        return wrk(f"http://127.0.0.1:{port}/", seconds, connections)["rps"]
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--web", type=int, default=1, help="web processes (each loaded by its own wrk)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--skip-bare", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="textdesk-bench-"))
    run = f"{int(time.time()) % 100000:05d}"
    bare = None if args.skip_bare else bare_rps(args.seconds, args.connections)
    with Textdesk(tmp, args.database_url, args.redis_url, web=args.web, workers=args.workers) as td:
        health = wrk(td.urls[0] + "/healthz", args.seconds, args.connections)
        requests_file = tmp / "requests.lua"
        _write_requests(requests_file, td.public_url, PREPARED, run)
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
        env = {"TEXTDESK_BENCH_REQUESTS": str(requests_file), "TEXTDESK_BENCH_THREADS": "2"}
        results = []
        procs = []
        for n, url in enumerate(td.urls):  # one wrk per web process, all at once
            env_n = {**env, "TEXTDESK_BENCH_REQUESTS": str(requests_file) if n == 0 else str(tmp / f"r{n}.lua")}
            if n:
                _write_requests(tmp / f"r{n}.lua", td.public_url, PREPARED, f"{run}w{n}")
            procs.append((url, env_n))
        with concurrent.futures.ThreadPoolExecutor(len(procs)) as pool:
            results = list(pool.map(lambda p: wrk(p[0], args.seconds, args.connections // len(procs) or 1,
                                                  script=script, env=p[1]), procs))
        accepted = sum(r["requests"] - r["non2xx"] for r in results)
        rps = sum(r["rps"] for r in results)
        time.sleep(1)
        stored = td.count_inbound()
        # Half the peak rate: each connection pauses between texts (wrk's `delay`), so every text is
        # timed on its own rather than behind a queue. A short first run shows how much a text adds to
        # the pause; the measured run takes it off. The rate wrk reached is printed.
        connections, target = args.connections, rps / 2 / len(td.urls)
        half_env = {**env, "TEXTDESK_BENCH_PAUSE_MS": str(max(1, int(1000 * connections / target)))}
        _write_requests(requests_file, td.public_url, PREPARED, f"{run}c")
        trial = wrk(td.urls[0], 3, connections, script=script, env=half_env)
        overhead_ms = 1000 * connections / trial["rps"] - int(half_env["TEXTDESK_BENCH_PAUSE_MS"])
        half_env["TEXTDESK_BENCH_PAUSE_MS"] = str(max(1, int(1000 * connections / target - overhead_ms)))
        _write_requests(requests_file, td.public_url, PREPARED, f"{run}h")
        half = wrk(td.urls[0], args.seconds, connections, script=script, env=half_env)
        time.sleep(1)
        stored_after = td.count_inbound()
    print(f"web processes: {args.web}, workers: {args.workers}, database: {td.database_kind}, "
          f"redis: {'embedded' if not args.redis_url else 'server'}, wrk: {args.connections} connections, "
          f"{args.seconds} s, on this machine")
    if bare is not None:
        print(f"bare Litestar (uvloop + httptools)   {bare:8.0f} req/s")
    print(f"textdesk /healthz                    {health['rps']:8.0f} req/s"
          + (f"   ratio {health['rps'] / bare:.3f}" if bare else ""))
    print(f"textdesk signed inbound webhooks     {rps:8.0f} texts/s"
          + (f"   ratio {rps / bare:.3f}" if bare else "")
          + f"   p50 {results[0]['p50_ms']:.1f} ms  p99 {results[0]['p99_ms']:.1f} ms (saturated)")
    print(f"  at about half that rate ({half['rps']:.0f}/s reached): p50 {half['p50_ms']:.1f} ms  "
          f"p99 {half['p99_ms']:.1f} ms  ({half['requests']} texts, non-2xx {half['non2xx']})")
    print(f"  accepted (2xx) {accepted}, non-2xx {sum(r['non2xx'] for r in results)}, "
          f"socket errors {sum(r['errors'] for r in results)}, stored {stored}")
    paced = sum(r["requests"] - r["non2xx"] for r in (trial, half))
    if max(r["requests"] for r in (*results, trial, half)) > PREPARED:
        raise SystemExit(f"wrk sent more than the {PREPARED} prepared texts, so repeats: run with fewer --seconds")
    if stored < accepted or stored_after - stored < paced:
        raise SystemExit(f"LOST TEXTS: {accepted} accepted but {stored} stored")


if __name__ == "__main__":
    main()
