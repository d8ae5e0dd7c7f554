#!/usr/bin/env python3
"""Writes a roadmap.yaml for the load benchmarks: N http sources probing the bench nginx every INTERVAL,
and K KPIs (uptime avg over 30d and p95 latency over 30d, alternating) spread over initiatives of 20 KPIs.
Usage: gen-config.py SOURCES KPIS [INTERVAL=1s] [URL=http://127.0.0.1:18080/] > roadmap.yaml
GEN_KEEPALIVE=1 sets keepAlive: true on every source (a kept connection instead of a fresh one per probe)."""
import os, sys

sources = int(sys.argv[1])
kpis = int(sys.argv[2])
interval = sys.argv[3] if len(sys.argv) > 3 else "1s"
url = sys.argv[4] if len(sys.argv) > 4 else "http://127.0.0.1:18080/"
out = ["roadmap:", "  name: Load benchmark", "settings:", "  evaluateEvery: 15s", "sources:"]
for i in range(sources):
    out += [f"  - id: p{i:05d}", "    kind: http", f"    every: {interval}", "    timeout: 900ms", f"    url: {url}"]
    if os.environ.get("GEN_KEEPALIVE") == "1":
        out.append("    keepAlive: true")
out.append("initiatives:" if kpis else "initiatives: []")
for n in range(0, kpis, 20):
    out += [f"  - id: init-{n // 20:04d}", f"    name: Initiative {n // 20}", "    timeline: 2026-Q4", "    status: in-progress", "    kpis:"]
    for k in range(n, min(n + 20, kpis)):
        src = f"p{k % max(sources, 1):05d}"
        if k % 2 == 0:
            out += [f"      - id: uptime-{k:05d}", f"        name: Uptime {k}", f"        source: {src}", "        signal: up",
                    "        aggregate: avg", "        window: 30d", '        target: ">= 99.9%"']
        else:
            out += [f"      - id: p95-{k:05d}", f"        name: Latency p95 {k}", f"        source: {src}", "        signal: latency_seconds",
                    "        aggregate: p95", "        window: 30d", '        target: "<= 0.3"']
print("\n".join(out))
