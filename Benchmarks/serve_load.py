#!/usr/bin/env python3
"""Bounded load test of `samq serve` on loopback (standard library only).

Starts `samq serve MODEL --port 0`, uploads one image, then sends REQUESTS
predict requests from CLIENTS concurrent clients (one keep-alive connection
each) and reports latency percentiles, the server-side decoder time and the
server's peak RSS (VmHWM). Exits non-zero if any request fails. Only 127.0.0.1
is ever contacted; the run is bounded by the request count and a timeout.

usage: Benchmarks/serve_load.py SAMQ_BINARY MODEL.samq IMAGE.png [--requests 200] [--clients 8] [--json]
"""
import argparse, http.client, json, os, random, re, signal, statistics, subprocess, sys, threading, time


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("samq"); ap.add_argument("model"); ap.add_argument("image")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--point", default="144,59")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()

    server = subprocess.Popen([args.samq, "serve", args.model, "--port", "0", "--host", "127.0.0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        if not m:
            raise SystemExit(f"no banner from samq serve: {banner!r} {server.stderr.read()}")
        port = int(m.group(1))
        rss_idle = peak_rss_kb(server.pid)

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
        with open(args.image, "rb") as f:
            conn.request("POST", "/api/images?wait=1", body=f.read(), headers={"Content-Type": "image/png"})
        upload = json.loads(conn.getresponse().read())
        if upload.get("status") != "ready":
            raise SystemExit(f"upload failed: {upload}")
        image_id, width, height = upload["id"], upload["width"], upload["height"]
        conn.close()

        x0, y0 = (float(v) for v in args.point.split(","))
        rng = random.Random(0)
        # Points jittered around the object, the same for every run.
        bodies = [json.dumps({"points": [[min(width, max(0, x0 + rng.uniform(-10, 10))),
                                          min(height, max(0, y0 + rng.uniform(-10, 10)))]], "labels": [1]})
                  for _ in range(args.requests)]
        latencies, decode_ms, failures = [], [], []
        lock = threading.Lock()
        next_index = [0]

        def client():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
            while True:
                with lock:
                    if next_index[0] >= len(bodies):
                        break
                    i = next_index[0]; next_index[0] += 1
                start = time.perf_counter()
                try:
                    c.request("POST", f"/api/images/{image_id}/predict", body=bodies[i],
                              headers={"Content-Type": "application/json"})
                    r = c.getresponse(); data = r.read()
                    elapsed = (time.perf_counter() - start) * 1000
                    with lock:
                        if r.status == 200:
                            latencies.append(elapsed)
                            decode_ms.append(json.loads(data)["timingsMs"]["decode"])
                        else:
                            failures.append((r.status, data[:200]))
                except Exception as e:  # a dropped connection counts as a failure
                    with lock:
                        failures.append(("exception", repr(e)))
                    c.close(); c = http.client.HTTPConnection("127.0.0.1", port, timeout=args.timeout)
            c.close()

        cpu_start, client_cpu_start = cpu_seconds(server.pid), time.process_time()
        wall_start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads: t.start()
        for t in threads: t.join()
        wall = time.perf_counter() - wall_start
        server_cpu = cpu_seconds(server.pid) - cpu_start
        client_cpu = time.process_time() - client_cpu_start
        rss_peak = peak_rss_kb(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            status = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill(); status = "killed"

    report = {
        "requests": args.requests, "clients": args.clients, "ok": len(latencies), "failed": len(failures),
        "latencyMs": {"p50": percentile(latencies, 50), "p90": percentile(latencies, 90), "p99": percentile(latencies, 99),
                      "max": max(latencies)} if latencies else None,
        "serverDecodeMs": {"p50": percentile(decode_ms, 50), "p99": percentile(decode_ms, 99)} if decode_ms else None,
        "throughputPerSecond": len(latencies) / wall if wall > 0 else None,
        "serverCPUMsPerRequest": server_cpu * 1000 / max(1, len(latencies)),
        "clientCPUMsPerRequest": client_cpu * 1000 / max(1, len(latencies)),
        "serverPeakRSSMB": rss_peak / 1024, "serverRSSAfterLoadMB": rss_idle / 1024,
        "serverExit": status,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{report['ok']}/{args.requests} ok from {args.clients} clients in {wall:.2f} s "
              f"({report['throughputPerSecond']:.0f} req/s)")
        if latencies:
            l = report["latencyMs"]
            print(f"latency ms: p50 {l['p50']:.1f}  p90 {l['p90']:.1f}  p99 {l['p99']:.1f}  max {l['max']:.1f}")
            d = report["serverDecodeMs"]
            print(f"server decoder ms: p50 {d['p50']:.1f}  p99 {d['p99']:.1f}; CPU per request: server "
                  f"{report['serverCPUMsPerRequest']:.1f} ms, load client {report['clientCPUMsPerRequest']:.1f} ms")
        print(f"server peak RSS {report['serverPeakRSSMB']:.1f} MB (after start-up {report['serverRSSAfterLoadMB']:.1f} MB); "
              f"exit status after SIGTERM: {status}")
        for f in failures[:5]:
            print("failure:", f)
    if failures or status != 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
