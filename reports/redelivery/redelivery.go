package redelivery

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// Failure is one member incarnation that failed, and what the group read
// again after it.
type Failure struct {
	Group   string
	Member  string        // the member id its client last held
	Process int           // the incarnation's poll process
	At      time.Duration // when its client reported the partitions lost
	// Read is how many records the incarnation had read; Redelivered how
	// many of them another member read again after At.
	Read, Redelivered int
	// Resumed is how long after At every partition the incarnation had
	// read from was read again by another member of its group (a poll
	// that returned records of it); -1 when none was read again in the
	// run (no new records came, or the run ended first).
	Resumed time.Duration
}

// position is one record of one partition.
type position struct {
	topic     string
	partition int32
	offset    int64
}

// incarnation is one join's process and what it read.
type incarnation struct {
	group  string
	events int
	reads  map[position]bool
	last   *history.Assignment // its latest partition change
	lastAt int64
	owned  bool // it was given a partition at some point
}

// Measure finds the failed member incarnations of ops that had been given
// partitions and counts, for each, the records it had read that another
// incarnation of its group read again in a poll invoked after the failure.
func Measure(ops []history.Op) []Failure {
	members := map[int]*incarnation{} // by poll process
	byEvents := map[int]*incarnation{}
	type read struct {
		process int
		at      int64 // the poll's invoke
		done    int64 // its completion: when the records were delivered
		pos     position
	}
	var reads []read
	invoked := map[int]int64{} // open poll of a process: its invoke time
	for _, op := range ops {
		switch {
		case op.F == history.FnJoin && op.Type == history.Invoke && op.Join != nil:
			inc := &incarnation{group: op.Join.Group, events: op.Join.Events, reads: map[position]bool{}}
			members[op.Process] = inc
			byEvents[op.Join.Events] = inc
		case op.F == history.FnAssignment && op.Type == history.OK && op.Assignment != nil:
			if inc := byEvents[op.Process]; inc != nil {
				inc.last, inc.lastAt = op.Assignment, op.Time
				inc.owned = inc.owned || len(op.Assignment.Owned) > 0
			}
		case op.F == history.FnPoll && op.Type == history.Invoke:
			invoked[op.Process] = op.Time
		case op.F == history.FnPoll && op.Type == history.OK && op.Poll != nil:
			inc := members[op.Process]
			if inc == nil {
				continue
			}
			for _, pr := range op.Poll.Reads {
				for _, r := range pr.Records {
					p := position{pr.Topic, pr.Partition, r.Offset}
					inc.reads[p] = true
					reads = append(reads, read{op.Process, invoked[op.Process], op.Time, p})
				}
			}
		}
	}
	var out []Failure
	for _, process := range slices.Sorted(maps.Keys(members)) {
		inc := members[process]
		if inc.last == nil || inc.last.Event != history.Lost || !inc.owned {
			continue // not failed, or failed before it owned anything
		}
		again := map[position]bool{}
		resumed := map[position]int64{} // a partition it read (offset 0) -> first read again
		for p := range inc.reads {
			resumed[position{p.topic, p.partition, 0}] = -1
		}
		for _, r := range reads {
			if r.process == process || r.at <= inc.lastAt || members[r.process].group != inc.group {
				continue
			}
			if inc.reads[r.pos] {
				again[r.pos] = true
			}
			tp := position{r.pos.topic, r.pos.partition, 0}
			if first, ok := resumed[tp]; ok && first < 0 {
				resumed[tp] = r.done
			}
		}
		out = append(out, Failure{Group: inc.group, Member: inc.last.Member, Process: process,
			At: time.Duration(inc.lastAt), Read: len(inc.reads), Redelivered: len(again),
			Resumed: resumedAfter(resumed, inc.lastAt)})
	}
	return out
}

// resumedAfter is the longest wait from at until a partition was read
// again, over the partitions that were; -1 when none was.
func resumedAfter(first map[position]int64, at int64) time.Duration {
	longest := time.Duration(-1)
	for _, t := range first {
		if t >= 0 {
			longest = max(longest, time.Duration(t-at))
		}
	}
	return longest
}

// Resumes are the Resumed waits of failures that have one, in increasing
// order.
func Resumes(fs []Failure) []time.Duration {
	var out []time.Duration
	for _, f := range fs {
		if f.Resumed >= 0 {
			out = append(out, f.Resumed)
		}
	}
	slices.Sort(out)
	return out
}

// Read measures the run folder dir's history. A folder without one, or a
// run without consumer groups, has no failures.
func Read(dir string) ([]Failure, error) {
	path := filepath.Join(dir, runfolder.HistoryFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ops, err := history.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Measure(ops), nil
}

// Counts are the Redelivered counts of failures, in increasing order.
func Counts(fs []Failure) []int {
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = f.Redelivered
	}
	slices.Sort(out)
	return out
}

// Percentile is the nearest-rank p-th percentile (0-100) of sorted counts;
// 0 for none.
func Percentile(sorted []int, p float64) int {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
