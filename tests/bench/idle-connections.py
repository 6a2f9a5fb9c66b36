#!/usr/bin/env python3
"""Connection-pressure driver for tests/bench/idle-connections.sh (the node must be running).

Phase 1 (held load): IDLE connections that read the greeting and then say nothing, plus SLOW
clients that send one octet a second, from several 127.0.0.x addresses. The node's RSS before
and after, divided by the count, is the memory per idle connection; probes (a real smtplib
client from 127.0.0.1) time their 250.
Phase 2 (full server): the idle side opens EXTRA more connections and reopens every connection
the server closes, so the server stays at max-connections; probes time their 250 (with up to
20 attempts 0.5 s apart on a 421) and the slow clients' fate is counted.
Prints one "key value" line per figure.
"""
import asyncio, smtplib, statistics, sys, time, urllib.request

port, ops_port, node_pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
IDLE, SLOW, EXTRA, ADDRESSES = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
PHASE2_SECONDS = int(sys.argv[8])

def rss_kib():
    with open(f"/proc/{node_pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/metrics", timeout=10).read().decode()
    return next((float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + " ")), -1)

def source(i): return f"127.0.0.{2 + i % ADDRESSES}"

stats = {"idle_open": 0, "idle_closed": 0, "idle_refused": 0, "idle_evicted": 0, "slow_cut": 0, "slow_cut_seconds": []}
phase2 = asyncio.Event(); stop = asyncio.Event()

async def idle(i, reopen):
    while not stop.is_set():
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(source(i), 0))
        except OSError:
            await asyncio.sleep(0.2); continue
        try:
            greeting = await r.readline()
            if greeting.startswith(b"421"):
                stats["idle_refused"] += 1
            else:
                stats["idle_open"] += 1
                # Idle until the server speaks (421) or closes; stop ends the run.
                reading = asyncio.ensure_future(r.read(4096))
                done, _ = await asyncio.wait([reading, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
                stats["idle_open"] -= 1
                if reading in done:
                    stats["idle_closed"] += 1
                    if b"closing idle session" in (reading.result() or b""): stats["idle_evicted"] += 1
                else:
                    reading.cancel()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            w.close()
        if not (reopen or phase2.is_set()): return
        await asyncio.sleep(0.05)

async def slow(i):
    """One octet a second of an endless command line; records when the server cuts it."""
    r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(source(i), 0))
    await r.readline()
    started = None
    try:
        while not stop.is_set():
            w.write(b"N"); await w.drain()
            if phase2.is_set() and started is None: started = time.monotonic()
            try:
                data = await asyncio.wait_for(r.read(4096), 1.0)
                if not data or data.startswith(b"421"):
                    stats["slow_cut"] += 1
                    if started is not None: stats["slow_cut_seconds"].append(time.monotonic() - started)
                    return
            except asyncio.TimeoutError:
                pass
    except OSError:
        stats["slow_cut"] += 1
    finally:
        w.close()

def probe():
    """A real client: seconds from the first connect to the 250 for its message, and its 421s."""
    t0 = time.monotonic(); refused = 0
    for _ in range(20):
        try:
            s = smtplib.SMTP("127.0.0.1", port, timeout=30)
            s.sendmail("probe@sender.example", ["probe@rcpt.example"],
                       b"From: <probe@sender.example>\r\nTo: <probe@rcpt.example>\r\nSubject: probe\r\n\r\nprobe\r\n")
            elapsed = time.monotonic() - t0
            s.quit()
            return elapsed, refused
        except smtplib.SMTPConnectError:
            refused += 1
        except smtplib.SMTPServerDisconnected:
            refused += 1
        time.sleep(0.5)
    return None, refused

async def probes(n, gap):
    out = []
    for _ in range(n):
        out.append(await asyncio.to_thread(probe)); await asyncio.sleep(gap)
    return out

def summary(name, results):
    times = [t for t, _ in results if t is not None]
    print(f"{name}_probes {len(results)}")
    print(f"{name}_probes_failed {sum(1 for t, _ in results if t is None)}")
    print(f"{name}_probe_421s {sum(r for _, r in results)}")
    if times: print(f"{name}_probe_250_seconds median {statistics.median(times):.3f} max {max(times):.3f}")

async def main():
    time.sleep(2)
    before = rss_kib(); print(f"rss_before_kib {before}")
    tasks = []
    for i in range(IDLE):
        tasks.append(asyncio.ensure_future(idle(i, reopen=False)))
        if i % 200 == 199: await asyncio.sleep(0.05)  # within the listen backlog
    for i in range(SLOW): tasks.append(asyncio.ensure_future(slow(i)))
    deadline = time.monotonic() + 60
    while stats["idle_open"] < IDLE and time.monotonic() < deadline: await asyncio.sleep(0.2)
    await asyncio.sleep(3)
    after = rss_kib(); held = stats["idle_open"]
    print(f"idle_held {held}")
    print(f"server_connections {metric('actorgateway_smtp_connections'):.0f}")
    print(f"stress_phase1 {metric('actorgateway_smtp_stress'):.0f}")
    print(f"rss_after_kib {after}")
    print(f"rss_per_connection_kib {(after - before) / max(1, held + SLOW):.1f}")
    summary("phase1", await probes(3, 1))

    phase2.set()
    for i in range(EXTRA):
        tasks.append(asyncio.ensure_future(idle(IDLE + i, reopen=True)))
        if i % 200 == 199: await asyncio.sleep(0.05)
    t_full = time.monotonic()
    while metric("actorgateway_smtp_stress") < 1 and time.monotonic() - t_full < 30: await asyncio.sleep(0.2)
    print(f"stress_phase2 {metric('actorgateway_smtp_stress'):.0f}")
    print(f"server_connections_full {metric('actorgateway_smtp_connections'):.0f}")
    results = await probes(max(1, PHASE2_SECONDS // 3), 2)
    summary("phase2", results)
    print(f"rss_peak_kib {rss_kib()}")
    print(f"idle_closed_by_server {stats['idle_closed']}")
    print(f"idle_evicted {stats['idle_evicted']}")
    print(f"idle_refused_421 {stats['idle_refused']}")
    cut = stats["slow_cut_seconds"]
    print(f"slow_cut {stats['slow_cut']} of {SLOW}" + (f" after median {statistics.median(cut):.1f} s max {max(cut):.1f} s of stress load" if cut else ""))
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

asyncio.run(main())
