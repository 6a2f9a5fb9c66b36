#!/usr/bin/env python3
"""TCP proxy that puts a simulated network round trip between a client and a local server.

  latency-proxy.py --listen 127.0.0.1:PORT --target 127.0.0.1:PORT --rtt-ms N

Real receiving mail servers are 20-200 ms away; the benchmarks run everything on loopback.
For each accepted connection the proxy waits one round trip (the TCP handshake to a far
host), connects to the target, and then relays both directions, delivering every chunk
half a round trip after it was read. Each direction has its own queue of (due time, chunk),
so chunks are not serialized behind each other's delay: a stream flows at full speed, only
shifted by RTT/2, and a command/reply exchange costs one round trip (the greeting of a
server that speaks first arrives 1.5 round trips after the client connected). A half-close is
passed on after the same delay, a reset as an abort of the other side. The read-ahead per
direction is bounded (like a TCP window), so a slow reader holds the sender back.

Prints one line "listening on ..." when ready; stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import signal
import sys

CHUNK = 65536
# Chunks read ahead per direction before the reader waits for the writer.
READ_AHEAD = 64


def address(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


async def feed(reader, queue, delay):
    """Reads chunks into the queue, each due `delay` seconds after it was read.
    b"" marks the end of the stream, None a reset."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            data = await reader.read(CHUNK)
            await queue.put((loop.time() + delay, data))
            if not data:
                return
    except (ConnectionError, OSError):
        await queue.put((loop.time() + delay, None))


async def deliver(queue, writer):
    """Writes the queued chunks when they are due. Returns after passing on the end of
    the stream or a reset; raises when the other side cannot be written to."""
    loop = asyncio.get_running_loop()
    while True:
        due, data = await queue.get()
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if data is None:
            writer.transport.abort()
            return
        if not data:
            if writer.can_write_eof() and not writer.transport.is_closing():
                writer.write_eof()
            return
        writer.write(data)
        await writer.drain()


async def direction(reader, writer, delay):
    queue = asyncio.Queue(READ_AHEAD)
    feeder = asyncio.create_task(feed(reader, queue, delay))
    try:
        await deliver(queue, writer)
    finally:
        feeder.cancel()
        await asyncio.gather(feeder, return_exceptions=True)


class Proxy:
    def __init__(self, target, rtt):
        self.target = target
        self.rtt = rtt
        self.connections = set()

    async def handle(self, client_reader, client_writer):
        task = asyncio.current_task()
        self.connections.add(task)
        target_writer = None
        clean = False
        try:
            await asyncio.sleep(self.rtt)
            try:
                target_reader, target_writer = await asyncio.open_connection(*self.target)
            except OSError as e:
                print(f"connect to {self.target[0]}:{self.target[1]} failed: {e}", file=sys.stderr, flush=True)
                return
            half = self.rtt / 2
            pumps = [asyncio.create_task(direction(client_reader, target_writer, half)),
                     asyncio.create_task(direction(target_reader, client_writer, half))]
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for p in pumps:
                    p.cancel()
                results = await asyncio.gather(*pumps, return_exceptions=True)
            clean = not any(isinstance(r, BaseException) for r in results)
        except asyncio.CancelledError:
            pass  # stopping: the connection is aborted below; the task ends quietly
        finally:
            for w in (client_writer, target_writer):
                if w is None:
                    continue
                if clean:
                    w.close()
                else:
                    w.transport.abort()
            self.connections.discard(task)


async def main():
    parser = argparse.ArgumentParser(description="TCP proxy adding a simulated round trip")
    parser.add_argument("--listen", type=address, required=True, help="HOST:PORT to accept on (port 0: any)")
    parser.add_argument("--target", type=address, required=True, help="HOST:PORT to relay to")
    parser.add_argument("--rtt-ms", type=float, required=True, help="round trip to simulate, milliseconds")
    args = parser.parse_args()
    if args.rtt_ms < 0:
        parser.error("--rtt-ms must not be negative")

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    proxy = Proxy(args.target, args.rtt_ms / 1000)
    server = await asyncio.start_server(proxy.handle, *args.listen, backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}, relaying to {args.target[0]}:{args.target[1]} with {args.rtt_ms:g} ms round trip",
          flush=True)
    await stop.wait()
    server.close()
    for task in list(proxy.connections):
        task.cancel()
    await asyncio.gather(*proxy.connections, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
