#!/usr/bin/env python3
"""Open N concurrent streaming chat requests against a loopback OpenAI-compatible endpoint
(mock-llm directly, or the proxy in front of it) and report how many completed with [DONE].
Bounded: N requests, one each, and a global timeout. Loopback targets only.

usage: stream-load.py URL [-n 1000] [--timeout 60] [--header 'Authorization: Bearer x'] [--pid P]
"""
import argparse
import asyncio
import ipaddress
import json
import resource
import socket
import sys
import time
import urllib.parse


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "Threads")):
                    yield line.split(":")[0], line.split()[1]
    except OSError:
        return


async def one(host, port, path, headers, body, results, started):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as e:
        results.append(("connect", str(e)))
        return
    req = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(body)}\r\nConnection: close\r\n")
    for h in headers:
        req += h + "\r\n"
    writer.write(req.encode() + b"\r\n" + body)
    await writer.drain()
    data = bytearray()
    first = None
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        if first is None:
            first = time.monotonic()
            started.append(first)
        data += chunk
    writer.close()
    ok = data.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in data
    results.append(("ok" if ok else "bad", data[:120]))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--pid", type=int)
    ap.add_argument("--text", default="a reply long enough to be split into several chunks")
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    host = u.hostname
    addr = ipaddress.ip_address(socket.gethostbyname(host))
    if not addr.is_loopback:
        sys.exit("stream-load: loopback targets only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.n + 256)), hard))
    body = json.dumps({"model": "gpt-4o", "stream": True,
                       "messages": [{"role": "user", "content": a.text}]}).encode()
    results, started = [], []
    t0 = time.monotonic()
    tasks = [asyncio.create_task(one(host, u.port, u.path, a.header, body, results, started))
             for _ in range(a.n)]
    peak = {}
    async def sample():
        while True:
            await asyncio.sleep(0.2)
            if a.pid:
                for k, v in rss_kib(a.pid):
                    peak[k] = max(peak.get(k, 0), int(v))
    sampler = asyncio.create_task(sample())
    done, pending = await asyncio.wait(tasks, timeout=a.timeout)
    sampler.cancel()
    for t in pending:
        t.cancel()
    elapsed = time.monotonic() - t0
    ok = sum(1 for r in results if r[0] == "ok")
    print(f"streams: {a.n} ok: {ok} failed: {len(results) - ok} unfinished: {len(pending)} "
          f"elapsed: {elapsed:.2f}s")
    if a.pid:
        print(f"server peak: VmRSS {peak.get('VmRSS', 0)} kB, threads {peak.get('Threads', 0)}")
    bad = [r for r in results if r[0] != "ok"][:3]
    for b in bad:
        print("  e.g.", b)
    return 0 if ok == a.n else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
