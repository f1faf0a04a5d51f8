#!/usr/bin/env python3
"""produce-summary.py: medians of produce-compare.sh output.

Reads the lines produce-compare.sh printed (a file, or stdin) and prints,
per target and value size: the median records/s, each round's rate as a
percentage of the null sink's in the same round and size, the median of
those percentages, and the server's CPU per MB of values stored (ms/MB),
each round and median. Rounds without a null-sink line are skipped for the
percentages.

    bench/scripts/produce-compare.sh | tee /tmp/runs.txt
    bench/scripts/produce-summary.py /tmp/runs.txt
"""
import re
import statistics
import sys

LINE = re.compile(
    r"(?P<target>\S+)\s+(?P<size>\d+) (?P<round>\d+)\s+(?P<rate>\d+) rec/s\s+(?P<mb>[\d.]+) MB/s"
    r".*server (?P<server>[\d.]+)\s+client (?P<client>[\d.]+)")


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    runs = {}  # (target, size) -> [(round, rate, mb, server)]
    for line in src:
        m = LINE.match(line)
        if m:
            key = (m["target"], int(m["size"]))
            runs.setdefault(key, []).append((int(m["round"]), float(m["rate"]), float(m["mb"]), float(m["server"])))
    null = {(size, r): rate for (target, size), rs in runs.items() if target == "null" for r, rate, _, _ in rs}
    for (target, size), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0] != "null", kv[0][0])):
        pct = [100 * rate / null[(size, r)] for r, rate, _, _ in rs if (size, r) in null]
        msmb = [1000 * server / mb for _, _, mb, server in rs if mb > 0]
        out = "%-32s %5d B  rate median %5.2fM" % (target, size, statistics.median(rate for _, rate, _, _ in rs) / 1e6)
        if pct:
            out += "  vs null median %3.0f%% (%s)" % (statistics.median(pct), " ".join("%.0f" % p for p in pct))
        if msmb:
            out += "  server ms/MB median %.2f (%s)" % (statistics.median(msmb), " ".join("%.2f" % x for x in msmb))
        print(out)


if __name__ == "__main__":
    main()
