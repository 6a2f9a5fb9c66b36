#!/usr/bin/env python3
"""Accept latency of an SMTP server under a fixed offered load (open loop).

Starts one message every 1/RATE seconds for DURATION seconds, each on a new connection (as
smtp-source does): connect, EHLO, MAIL, RCPT, DATA, the message, QUIT. The accept latency of a
message is the time from the message's final "." to the server's reply to it (for a durable
server: storing it). A message that is refused or times out is counted, not timed.
Prints one line: count, failures, p50, p99 and max in milliseconds.

usage: accept-latency.py HOST:PORT[,HOST:PORT...] RATE DURATION [SIZE] [FROM] [TO]
(several targets take the messages in turn)
"""
import asyncio
import sys
import time


async def read_reply(reader):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def one_message(host, port, body, sender, rcpt, timeout):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        async def step(command, expect):
            if command:
                writer.write(command)
            code = await asyncio.wait_for(read_reply(reader), timeout)
            if code // 100 != expect:
                raise RuntimeError(f"{command!r}: {code}")
        await step(None, 2)
        await step(b"EHLO latency.bench\r\n", 2)
        await step(f"MAIL FROM:<{sender}>\r\n".encode(), 2)
        await step(f"RCPT TO:<{rcpt}>\r\n".encode(), 2)
        await step(b"DATA\r\n", 3)
        writer.write(body)
        start = time.monotonic()
        await step(b".\r\n", 2)
        latency = time.monotonic() - start
        writer.write(b"QUIT\r\n")
        await writer.drain()
        return latency
    finally:
        writer.close()


async def main():
    target, rate, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    sender = sys.argv[5] if len(sys.argv) > 5 else "bench@sender.example"
    rcpt = sys.argv[6] if len(sys.argv) > 6 else "rcpt@rcpt.example"
    targets = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in target.split(",")]
    line = b"X" * 76 + b"\r\n"
    body = b"Subject: latency\r\n\r\n" + line * max(1, size // len(line))
    latencies, failures, tasks = [], 0, []

    async def run(host, port):
        nonlocal failures
        try:
            latencies.append(await one_message(host, port, body, sender, rcpt, 30))
        except Exception:
            failures += 1

    start = time.monotonic()
    n = int(rate * duration)
    for i in range(n):
        # Open loop: each message starts at its time, whether or not earlier ones are done.
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(run(*targets[i % len(targets)])))
    await asyncio.gather(*tasks)
    latencies.sort()
    if not latencies:
        print(f"count=0 failures={failures}")
        return
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"count={len(latencies)} failures={failures} p50={pick(0.5):.1f} p99={pick(0.99):.1f} max={latencies[-1] * 1000:.1f}")


asyncio.run(main())
