#!/usr/bin/env bash
# produce-compare.sh: the loopback produce comparison of docs/PERFORMANCE.md.
# Alternates the targets (null sink, weir acks=1, weir acks=all+fsync, weir
# acks=all --no-fsync) ROUNDS times for each value size, one fresh server
# per run, and prints one line per run: target, value size, the loadgen's
# JSON result, and the server's and client's CPU (cores) over the client's
# run (warm-up included). Needs python3.
#
# A target may name its own weir binary after a colon, to compare builds in
# one session: TARGETS="null acks1 acks1:/tmp/weir-old"; "null:/path" names
# the null sink's.
#
#   go build -o /tmp/weir ./cmd/weir
#   go build -o /tmp/weir-load ./bench/cmd/weir-load
#   go build -o /tmp/weir-nullsink ./bench/cmd/weir-nullsink
#   bench/scripts/produce-compare.sh > /tmp/results.txt
set -euo pipefail
WEIR=${WEIR:-/tmp/weir}
LOAD=${LOAD:-/tmp/weir-load}
SINK=${SINK:-/tmp/weir-nullsink}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
SIZES=${SIZES:-"100 1024"}
TARGETS=${TARGETS:-"null acks1 all-fsync all-nofsync"}
PORT=${PORT:-19395}
TICK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# busy ticks of the whole machine (user+nice+system+irq+softirq+steal)
sys_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# Other work on the machine skews the comparison: wait (up to QUIET_WAIT s)
# until a second passes with less than 0.1 core busy, and report the busy
# CPU of everything but server and client during each run ("other").
wait_quiet() {
	for _ in $(seq "${QUIET_WAIT:-10}"); do
		local a b
		a=$(sys_ticks); sleep 1; b=$(sys_ticks)
		if (( (b - a) * 10 < TICK )); then return; fi
	done
	echo "machine not quiet; measuring anyway" >&2
}

start_server() { # target binary -> sets SPID
	local WEIR=$2
	case $1 in
	null) "$WEIR" --listen 127.0.0.1:$PORT --partitions 1 2>/dev/null & SPID=$! ;;
	acks1|all-fsync)
		rm -rf /tmp/weir-bench-data
		"$WEIR" serve --listen 127.0.0.1:$PORT --data-dir /tmp/weir-bench-data --log-level warn & SPID=$! ;;
	all-nofsync)
		rm -rf /tmp/weir-bench-data
		"$WEIR" serve --listen 127.0.0.1:$PORT --data-dir /tmp/weir-bench-data --log-level warn --no-fsync & SPID=$! ;;
	esac
	for _ in $(seq 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then return; fi
		sleep 0.05
	done
	echo "server did not start" >&2; exit 1
}

create_topic() { # target binary
	local WEIR=$2
	[ "$1" = null ] && return
	"$WEIR" topics create --bootstrap-server 127.0.0.1:$PORT --topic bench --partitions 1 >/dev/null
}

for round in $(seq "$ROUNDS"); do
	for size in $SIZES; do
		for target in $TARGETS; do
			bin=$WEIR
			if [[ $target == null ]]; then bin=$SINK; fi
			if [[ $target == *:* ]]; then bin=${target#*:}; fi
			start_server "${target%%:*}" "$bin"
			create_topic "${target%%:*}" "$bin"
			case ${target%%:*} in
			acks1) flags="--acks 1 --idempotent=false" ;;
			*) flags="--acks all --idempotent=true" ;;
			esac
			wait_quiet
			s0=$(cpu_ticks "$SPID"); m0=$(sys_ticks)
			t0=$(date +%s.%N)
			out=$(/usr/bin/time -f "CLIENTCPU %U %S" "$LOAD" --bootstrap 127.0.0.1:$PORT --topic bench \
				--partitions 1 --value-bytes "$size" --linger 0 --warmup "$WARMUP" --duration "$DURATION" $flags 2>&1 || true)
			t1=$(date +%s.%N)
			s1=$(cpu_ticks "$SPID"); m1=$(sys_ticks)
			kill "$SPID"; wait "$SPID" 2>/dev/null || true
			# Delete the run's data now, not at the next server's start,
			# so that freeing a few GB (with discards, on a file system
			# mounted with discard) does not overlap the next run; sync
			# waits for the journal commit that issues them.
			if [[ $target != null ]]; then rm -rf /tmp/weir-bench-data; sync; fi
			json=$(grep '^{' <<<"$out")
			read -r _ cu cs < <(grep CLIENTCPU <<<"$out")
			python3 -c '
import json, sys
t, sz, r, s0, s1, tk, t0, t1, cu, cs, m0, m1, j = sys.argv[1:]
res = json.loads(j)["result"]
wall = float(t1) - float(t0)
server = (int(s1) - int(s0)) / int(tk) / wall
client = (float(cu) + float(cs)) / wall
other = max(0, (int(m1) - int(m0)) / int(tk) / wall - server - client)
print("%-32s %5s %d  %9.0f rec/s %7.1f MB/s  p50 %7.3f ms  p99 %7.3f ms  server %.2f  client %.2f  other %.2f cores%s" % (
    t, sz, int(r), res["records_per_sec"], res["mb_per_sec"], res["latency_p50_ms"], res["latency_p99_ms"],
    server, client, other,
    ("  ERROR " + json.loads(j).get("error", "")) if json.loads(j).get("error") else ""))
' "$target" "$size" "$round" "$s0" "$s1" "$TICK" "$t0" "$t1" "$cu" "$cs" "$m0" "$m1" "$json"
		done
	done
done
