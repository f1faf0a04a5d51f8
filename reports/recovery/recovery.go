package recovery

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// The measures, by name.
const (
	LeaderFailover = "leader-failover"         // a crashed leader's partition until another leader
	FencedAfter    = "offline-after-crash"     // until the controller fences the crashed incarnation or a new one registers
	UnfencedAfter  = "unfenced-after-restart"  // until the restarted broker is unfenced again
	ISRRejoin      = "isr-rejoin"              // a restarted broker until it is in every ISR it belongs to
	AckGap         = "ack-gap-at-crash"        // last acknowledgement before a crash to the first after
	LeaderAckGap   = "ack-gap-at-leader-crash" // per partition a crashed broker led: its last acknowledgement before the crash to its first after
)

// Names lists the measures in the order a report shows them.
func Names() []string {
	return []string{LeaderFailover, FencedAfter, UnfencedAfter, ISRRejoin, AckGap, LeaderAckGap}
}

// Measures are one run's (or, merged, many runs') samples per measure,
// and how many recoveries had not finished when the safety phase ended.
type Measures struct {
	Samples    map[string][]time.Duration
	Unfinished map[string]int
}

func newMeasures() *Measures {
	return &Measures{Samples: map[string][]time.Duration{}, Unfinished: map[string]int{}}
}

// Merge adds o's samples to m.
func (m *Measures) Merge(o *Measures) {
	for k, v := range o.Samples {
		m.Samples[k] = append(m.Samples[k], v...)
	}
	for k, v := range o.Unfinished {
		m.Unfinished[k] += v
	}
}

// New returns empty measures to merge runs into.
func New() *Measures { return newMeasures() }

// Read measures the run folder dir. A folder without a trace measures
// nothing.
func Read(dir string) (*Measures, error) {
	tf, err := os.Open(filepath.Join(dir, runfolder.TraceFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newMeasures(), nil
	}
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	events, err := ParseTrace(tf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, runfolder.TraceFile), err)
	}
	var acks Acks
	if hf, err := os.Open(filepath.Join(dir, runfolder.HistoryFile)); err == nil {
		ops, derr := history.Decode(hf)
		hf.Close()
		if derr != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, runfolder.HistoryFile), derr)
		}
		acks = ackTimes(ops)
	}
	return Measure(events, acks), nil
}

// Event is one line of the trace that recovery reads.
type Event struct {
	At   time.Duration
	Kind string // crash, restart, register, fence, unfence, partition (a partition's record), topic, safety-end
	Node int32
	// Topic is a topic record's name, and Partition then its id.
	Topic string
	// Partition ("topicid/index"), with Leader and ISR as the record set
	// them (HasLeader, HasISR tell which it set).
	Partition string
	Leader    int32
	HasLeader bool
	ISR       []int32
	HasISR    bool
	Replicas  []int32
}

// ParseTrace reads the events of a trace.log. Lines are
//
//	<virtual ns> <component> <text>
//
// and recovery reads the world's "crash nN (incarnation" and "restart nN
// (incarnation" lines, its "liveness phase:" line (the end of the safety
// phase), and the metadata records traced as "metadata <index>: <record>"
// (register, fence, unfence, partition, change, topic).
func ParseTrace(r io.Reader) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		at := time.Duration(ns)
		switch f[1] {
		case "world":
			if e, ok := worldEvent(at, f[2:]); ok {
				out = append(out, e)
			}
		case "metadata":
			out = append(out, metadataEvents(at, f[2:])...)
		}
	}
	return out, sc.Err()
}

func worldEvent(at time.Duration, f []string) (Event, bool) {
	if len(f) > 0 && strings.HasSuffix(f[0], "s") {
		f = f[1:] // the world's own elapsed seconds
	}
	switch {
	case len(f) >= 2 && f[0] == "liveness" && f[1] == "phase:":
		return Event{At: at, Kind: "safety-end"}, true
	case len(f) >= 3 && (f[0] == "crash" || f[0] == "restart") && f[2] == "(incarnation":
		if n, ok := nodeOf(f[1]); ok {
			return Event{At: at, Kind: f[0], Node: n}, true
		}
	}
	return Event{}, false
}

// metadataEvents reads "<index>: <record>" for the records recovery needs:
// "fence broker=N ...", "unfence broker=N ...", "partition T/P replicas=[..]
// isr=[..] leader=L ...", "change T/P [leader=L] [isr=[..]] ..." and
// "topic NAME id=T".
func metadataEvents(at time.Duration, f []string) []Event {
	if len(f) < 3 || !strings.HasSuffix(f[0], ":") {
		return nil
	}
	kind, args := f[1], f[2:]
	switch kind {
	case "fence", "unfence", "register":
		if n, ok := intArg(args, "broker"); ok {
			return []Event{{At: at, Kind: kind, Node: n}}
		}
	case "topic":
		for _, a := range args[1:] {
			if id, ok := strings.CutPrefix(a, "id="); ok {
				return []Event{{At: at, Kind: kind, Topic: args[0], Partition: id}}
			}
		}
	case "partition", "change":
		e := Event{At: at, Kind: "partition", Partition: args[0]}
		if l, ok := intArg(args, "leader"); ok {
			e.Leader, e.HasLeader = l, true
		}
		if isr, ok := listArg(args, "isr"); ok {
			e.ISR, e.HasISR = isr, true
		}
		e.Replicas, _ = listArg(args, "replicas")
		return []Event{e}
	}
	return nil
}

func nodeOf(s string) (int32, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "n"), 10, 32)
	return int32(n), err == nil && strings.HasPrefix(s, "n")
}

func intArg(args []string, key string) (int32, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, key+"="); ok {
			n, err := strconv.ParseInt(v, 10, 32)
			return int32(n), err == nil
		}
	}
	return 0, false
}

// listArg reads key=[1 2 3], which the trace splits into fields.
func listArg(args []string, key string) ([]int32, bool) {
	for i, a := range args {
		v, ok := strings.CutPrefix(a, key+"=[")
		if !ok {
			continue
		}
		list := []int32{}
		for j := i; j < len(args); j++ {
			s := v
			if j > i {
				s = args[j]
			}
			end := strings.HasSuffix(s, "]")
			if s = strings.TrimSuffix(s, "]"); s != "" {
				n, err := strconv.ParseInt(s, 10, 32)
				if err != nil {
					return nil, false
				}
				list = append(list, int32(n))
			}
			if end {
				return list, true
			}
		}
		return nil, false
	}
	return nil, false
}

// Acks are the completion times of a run's acknowledged sends, sorted:
// all of them, and by partition ("topic/index", the topic by name). The
// history's times are virtual time since the run began, trace.log's base.
type Acks struct {
	All         []time.Duration
	ByPartition map[string][]time.Duration
}

// ackTimes are the run's Acks.
func ackTimes(ops []history.Op) Acks {
	acks := Acks{ByPartition: map[string][]time.Duration{}}
	for _, op := range ops {
		if op.Type == history.OK && op.F == history.FnSend && op.Send != nil {
			at := time.Duration(op.Time)
			acks.All = append(acks.All, at)
			key := op.Send.Topic + "/" + strconv.Itoa(int(op.Send.Partition))
			acks.ByPartition[key] = append(acks.ByPartition[key], at)
		}
	}
	slices.Sort(acks.All)
	for _, ts := range acks.ByPartition {
		slices.Sort(ts)
	}
	return acks
}
