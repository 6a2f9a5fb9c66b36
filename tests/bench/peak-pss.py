#!/usr/bin/env python3
"""Peak memory (PSS) of a process group while a benchmark runs, sampled once a second.

One long-lived process instead of a shell loop that starts pgrep, grep and awk every second,
which competed for the cores with the processes being measured. Reads /proc/PID/stat for the group and smaps_rollup for its members;
a process that exits between the two (Postfix's smtpd per connection) is skipped.
Writes the peak in MiB to OUTFILE once STOPFILE exists.

usage: peak-pss.py PGID STOPFILE OUTFILE
"""
import os
import sys
import time


def group_members(pgid):
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[2]) == pgid:
            yield name


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main():
    pgid, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    peak = 0
    while not os.path.exists(stop):
        peak = max(peak, sum(pss_kib(pid) for pid in group_members(pgid)))
        # Once a second: reading smaps_rollup walks the process's mappings under its memory lock,
        # which at 5 samples/s visibly slowed the gateway (a .NET process has many mappings).
        time.sleep(1)
    with open(out, "w") as f:
        f.write(f"{peak // 1024}\n")


if __name__ == "__main__":
    main()
