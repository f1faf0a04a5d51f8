package plot

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault is one fault interval of a simulation run: from the virtual time
// its "apply" line was traced to the time of the event that undid it
// (restart, resume, rejoin, heal-partition, uncut, disk-heal, clock-reset,
// flaky-heal), or to the liveness phase's "heal everything" (or the end of
// the trace) when the schedule left it open.
type Fault struct {
	Kind   string        // the fault's op: crash, pause, isolate, partition, cut, disk-faults, clock-jump, flaky
	Target string        // what it hit: "n1", "n1->n2", "[n1] [n2 n3]"
	Start  time.Duration // virtual time since the start of the run
	End    time.Duration
	Healed bool // ended by its own heal event (not by the liveness phase or the end of the trace)
}

// Label is the band's label, e.g. "crash n1".
func (f Fault) Label() string {
	if f.Target == "" {
		return f.Kind
	}
	return f.Kind + " " + f.Target
}

// heals maps a healing op to the op it undoes.
var heals = map[string]string{
	"restart": "crash", "resume": "pause", "rejoin": "isolate", "heal-partition": "partition",
	"uncut": "cut", "disk-heal": "disk-faults", "clock-reset": "clock-jump", "flaky-heal": "flaky",
}

// faultOps are the ops that start a fault.
var faultOps = map[string]bool{
	"crash": true, "pause": true, "isolate": true, "partition": true, "cut": true,
	"disk-faults": true, "clock-jump": true, "flaky": true,
}

// ParseFaults reads a trace.log and returns its fault intervals, ordered by
// start. A trace line is
//
//	<virtual ns since the run began> <component> <text>
//
// and the world's lines carry "<seconds>s apply +<at>s <op> <target>
// [params]". The interval uses the first column (when the event was
// applied). A partition is keyed by its op alone (a new one replaces the
// split), every other fault by op and target, so "crash n1" is closed by
// "restart n1". Lines that are not fault events are skipped.
func ParseFaults(r io.Reader) ([]Fault, error) {
	type key struct{ kind, target string }
	var (
		out  []Fault
		open = map[key]int{} // -> index in out
		last time.Duration
	)
	closeAll := func(at time.Duration) {
		for k, i := range open {
			out[i].End = at
			delete(open, k)
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		at := time.Duration(ns)
		last = max(last, at)
		rest := fields[2:]
		// The world's own lines start with its elapsed seconds.
		if len(rest) > 0 && strings.HasSuffix(rest[0], "s") {
			if _, err := strconv.ParseFloat(strings.TrimSuffix(rest[0], "s"), 64); err == nil {
				rest = rest[1:]
			}
		}
		if len(rest) >= 2 && rest[0] == "liveness" && rest[1] == "phase:" {
			closeAll(at)
			continue
		}
		if len(rest) < 3 || rest[0] != "apply" || !strings.HasPrefix(rest[1], "+") {
			continue
		}
		op, args := rest[2], rest[3:]
		target := targetOf(op, args)
		switch {
		case faultOps[op]:
			k := key{op, target}
			if op == "partition" {
				k.target = ""
			}
			if i, ok := open[k]; ok {
				if op != "partition" {
					continue // still open (say, a second clock jump): keep the first start
				}
				out[i].End = at
			}
			open[k] = len(out)
			out = append(out, Fault{Kind: op, Target: target, Start: at, End: -1})
		case heals[op] != "":
			k := key{heals[op], target}
			if k.kind == "partition" {
				k.target = ""
			}
			if i, ok := open[k]; ok {
				out[i].End, out[i].Healed = at, true
				delete(open, k)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	closeAll(last)
	slices.SortStableFunc(out, func(a, b Fault) int { return int(a.Start - b.Start) })
	return out, nil
}

// targetOf is the part of an event's arguments that names what it hits:
// the node, "from->to", or the partition's groups; parameters such as
// keep=0.42 or p=0.10 are dropped.
func targetOf(op string, args []string) string {
	var t []string
	for _, a := range args {
		if strings.Contains(a, "=") || a == "flips" || a == "max" {
			break
		}
		t = append(t, a)
	}
	return strings.Join(t, " ")
}
