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
					reads = append(reads, read{op.Process, invoked[op.Process], p})
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
		for _, r := range reads {
			if r.process != process && r.at > inc.lastAt && inc.reads[r.pos] && members[r.process].group == inc.group {
				again[r.pos] = true
			}
		}
		out = append(out, Failure{Group: inc.group, Member: inc.last.Member, Process: process,
			At: time.Duration(inc.lastAt), Read: len(inc.reads), Redelivered: len(again)})
	}
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
