#!/usr/bin/env python3
"""Accept latency as seen on the wire, from a packet capture of the loopback interface.

For each SMTP connection to the given server ports: after the server's 354 reply, the time
from the client's last data segment (the one that carries the final ".") to the server's next
segment (its reply to the message). This is the server's part of accept-latency.py's figure:
what the client's own event loop adds on its side is left out, what the server's process
needs to read the data, store it and write the reply is in.
Prints one line: count, p50, p99 and max in milliseconds.

usage: wire-latency.py CAPTURE.pcap PORT[,PORT...]
(capture with: tcpdump -i lo -nn -s 96 -w CAPTURE.pcap 'tcp port PORT')
"""
import struct
import sys


def packets(path):
    """(time in s, source port, destination port, TCP payload length, payload head) per TCP/IPv4 packet."""
    with open(path, "rb") as f:
        header = f.read(24)
        magic = struct.unpack("<I", header[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        nanos = magic in (0xA1B23C4D, 0x4D3CB2A1)
        link = struct.unpack(endian + "I", header[20:24])[0]
        skip = {1: 14, 113: 16, 276: 20, 0: 4}[link]  # Ethernet (lo), Linux cooked v1/v2, BSD loopback
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            seconds, fraction, captured, _ = struct.unpack(endian + "IIII", record)
            data = f.read(captured)
            ip = data[skip:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:]
            source, destination = struct.unpack(">HH", tcp[:4])
            offset = (tcp[12] >> 4) * 4
            payload = total - ihl - offset
            yield seconds + fraction / (1e9 if nanos else 1e6), source, destination, payload, tcp[offset:offset + 4]


def main():
    path, ports = sys.argv[1], {int(p) for p in sys.argv[2].split(",")}
    # per connection (client port, server port): "data" after the 354, then the last data segment's time
    state, last_data, latencies = {}, {}, []
    for at, source, destination, length, head in packets(path):
        if length == 0:
            continue
        if source in ports:  # server to client
            key = (destination, source)
            if head.startswith(b"354"):
                state[key] = "data"
                last_data.pop(key, None)
            elif state.get(key) == "data" and key in last_data:
                latencies.append(at - last_data.pop(key))
                state[key] = "done"
        elif destination in ports:  # client to server
            key = (source, destination)
            if state.get(key) == "data":
                last_data[key] = at
    if not latencies:
        print("wire_count=0")
        return
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"wire_count={len(latencies)} wire_p50={pick(0.5):.1f} wire_p99={pick(0.99):.1f} wire_max={latencies[-1] * 1000:.1f}")


if __name__ == "__main__":
    main()
