#!/usr/bin/env python3
"""CPU per delivered message of a server and of pushcheck's generator, beside the kernel's floor.

    scripts/fanout_cost.py [--rounds 3] [--scenario scenarios/fanout.toml] [--write-floor BIN]
                           [--server 'CMD with {port}'] [--gen target/release/pushcheck]

Each round runs, one after the other on a fresh server each time:

1. the floors: `scripts/epoll_floor.c` (a writer whose reader sleeps in epoll, as a real client
   does), and the plain write floor if `--write-floor` names a binary taking `N ROUNDS BATCH`;
2. an idle run: the scenario with its publishers at 0.05 events/s, so that connecting,
   subscribing, pings and the idle traffic are measured on their own;
3. the scenario itself.

The server's CPU is read from /proc/PID/stat before and after each run, the generator's from its
rusage. Per delivery = (CPU of the run - CPU of the idle run) / (deliveries of the run - deliveries
of the idle run). Fan-out completion p50/p99 are pushcheck's own (load.json). Medians over the
rounds are printed last. Loopback only; every process started is stopped on exit.

The default server is target/release/reference-server (build it with
`cargo build --release --workspace`). Any other server: `--server 'sockudo ... {port}'`, with
`--key/--secret/--app-id` passed through to pushcheck as `--gen-arg=--key --gen-arg=KEY`.
"""

import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wait_listening(port, proc, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"server not listening on {port} after {limit} s")


def floors(args, tmp):
    out = {}
    epoll = os.path.join(tmp, "epoll_floor")
    if not os.path.exists(epoll):
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(["cc", "-O2", "-o", epoll, os.path.join(here, "epoll_floor.c")], check=True)
    for line in subprocess.run([epoll, "5000", "100"], capture_output=True, text=True, check=True).stdout.split():
        out.update(json.loads(line))
    if args.write_floor:
        res = subprocess.run([args.write_floor, "5000", "200", "1"], capture_output=True, text=True, check=True)
        out.update(json.loads(res.stdout))
    return out


def one_run(args, rate, tmp, tag):
    port = free_port()
    cmd = shlex.split(args.server.format(port=port))
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, server)
        out = os.path.join(tmp, tag)
        gen = [args.gen, "load", args.scenario, "--target", f"ws://127.0.0.1:{port}", "--out", out, "--quiet"]
        for pop in args.publisher:
            gen += ["--set", f"population.{pop}.rate={rate}"]
        gen += args.gen_arg
        before = proc_cpu(server.pid)
        child = subprocess.Popen(gen, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        after = proc_cpu(server.pid)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):
            sys.exit(f"pushcheck exited {code}: {child.stderr.read().decode()[-2000:]}")
        with open(os.path.join(out, "load.json")) as f:
            report = json.load(f)
        fan = report["metrics"]["fanout"]
        return {
            "server": after - before,
            "gen": usage.ru_utime + usage.ru_stime,
            "delivered": report["deliveries"]["delivered"],
            "lost": report["deliveries"]["lost"],
            "exit": code,
            "fan_p50": fan["p50"] / 1000 if fan.get("count") else None,
            "fan_p99": fan["p99"] / 1000 if fan.get("count") else None,
        }
    finally:
        server.terminate()
        server.wait()


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--scenario", default=os.path.join(here, "scenarios/fanout.toml"))
    p.add_argument("--publisher", action="append", help="publisher population(s) to idle (default broadcaster)")
    p.add_argument("--rate", default="2", help="the publishers' rate in the measured run")
    p.add_argument("--server", default=os.path.join(here, "target/release/reference-server") + " --bind 127.0.0.1:{port}")
    p.add_argument("--gen", default=os.path.join(here, "target/release/pushcheck"))
    p.add_argument("--gen-arg", action="append", default=[], help="extra pushcheck argument (repeatable)")
    p.add_argument("--write-floor", help="write_floor binary (N ROUNDS BATCH -> JSON)")
    args = p.parse_args()
    args.publisher = args.publisher or ["broadcaster"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            fl = floors(args, tmp)
            idle = one_run(args, "0.05", tmp, f"idle{r}")
            run = one_run(args, args.rate, tmp, f"run{r}")
            n = run["delivered"] - idle["delivered"]
            row = {
                "server_us": (run["server"] - idle["server"]) / n * 1e6,
                "gen_us": (run["gen"] - idle["gen"]) / n * 1e6,
                "fan_p50": run["fan_p50"],
                "fan_p99": run["fan_p99"],
                "write_floor": fl.get("write_us_per_delivery"),
                "read_floor": fl.get("read_us_per_delivery"),
                "epoll_writer": fl.get("writer_us_per_delivery"),
                "epoll_reader": fl.get("reader_us_per_delivery"),
            }
            rows.append(row)
            print(f"round {r + 1}: deliveries {n} (lost {run['lost']}, exit {run['exit']}) "
                  + " ".join(f"{k} {v:.2f}" for k, v in row.items() if v is not None), flush=True)
    print("medians: " + " ".join(
        f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in rows[0] if rows[0][k] is not None))


if __name__ == "__main__":
    main()
