package checker

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/weir-dev/weir/history"
)

// nonlinearizable checks that every partition log is linearizable: that
// the appends (sends) and reads (polls, with their high watermarks, and the
// final listing) could have taken effect one at a time, each at some
// instant between its invoke and its completion, on a single append-only
// log (the model is in linearizable_model.go). It catches what the other
// checkers judge only per client or not at all: a read of a record before
// its send was invoked, a stale read (a high watermark below a record
// acknowledged before the read began), a send acknowledged below one that
// was acknowledged before it was invoked (across clients), a lost record
// inside a range a read or the final read returned.
//
// porcupine (github.com/anishathalye/porcupine) decides it, per partition
// and per window. A partition's history is long (a send per record) and
// porcupine's memory grows with the square of the operations it is given,
// so each partition is cut into windows at points every linearization
// must pass in order (see windows below): the partition is linearizable
// iff every window is, each checked from the state the cut forces.
//
// A partition whose check runs out of its budget (Opts.
// LinearizabilityTimeout or LinearizabilitySteps) is unknown, never valid.
// acks=1 answers before the high watermark passes a record, so stale reads
// are expected there: such configurations allow this anomaly.
func nonlinearizable(ix *index, opts *Opts) finding {
	var f finding
	var deadline time.Time
	if opts.LinearizabilityTimeout > 0 {
		deadline = time.Now().Add(opts.LinearizabilityTimeout)
	}
	for _, l := range ix.partitionLogs() {
		if ix.isCompacted(l.tp.topic) {
			// The cleaner removes records inside the ranges reads return:
			// compaction-lost-key and the skip checks judge these.
			f.note = "compacted topics not checked: " + strings.Join(ix.compactedTopics(), ", ")
			continue
		}
		res, w := checkPartition(ix, l, opts, deadline)
		ix.linearizability = append(ix.linearizability, res)
		switch res.Result {
		case resultIllegal:
			f.witnesses = append(f.witnesses, w)
		case resultUnknown:
			f.unknown = append(f.unknown, Unjudged{Reason: CheckTimeout, Check: Nonlinearizable,
				Detail: fmt.Sprintf("%s/%d: %s", l.tp.topic, l.tp.partition, res.Note)})
		}
	}
	return f
}

// Results of PartitionResult.
const (
	resultOK      = "ok"
	resultIllegal = "illegal"
	resultUnknown = "unknown"
)

// PartitionResult is the linearizability check of one partition.
type PartitionResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Result    string `json:"result"` // ok, illegal or unknown
	Appends   int    `json:"appends"`
	Reads     int    `json:"reads"`
	Windows   int    `json:"windows"` // windows checked
	Steps     int64  `json:"steps"`   // model steps porcupine took
	// Visualization is the name of the file porcupine's HTML of the
	// failing window was written to (Opts.VisualizationPath), without its
	// folder: in the simulation, a file of the run folder.
	Visualization string `json:"visualization,omitempty"`
	Note          string `json:"note,omitempty"`
}

// minWindowOps is the fewest operations a window holds when the history
// allows a cut: enough context in a visualisation, small enough that
// porcupine's quadratic memory does not matter.
const minWindowOps = 100

func checkPartition(ix *index, l *partitionLog, opts *Opts, deadline time.Time) (PartitionResult, Witness) {
	res := PartitionResult{Topic: l.tp.topic, Partition: l.tp.partition, Appends: len(l.appends), Reads: len(l.reads)}
	budget := opts.LinearizabilitySteps
	if budget == 0 {
		budget = DefaultSteps(len(l.appends) + len(l.reads))
	}
	out := l.check(minWindowOps, budget, deadline)
	res.Result, res.Steps, res.Windows, res.Note = out.result, out.steps, out.windows, out.note
	if out.result != resultIllegal {
		return res, Witness{}
	}
	wit := l.explain(ix, out.failed)
	if opts.VisualizationPath != nil {
		path := opts.VisualizationPath(l.tp.topic, l.tp.partition)
		if err := porcupine.VisualizePath(out.model, out.info, path); err != nil {
			res.Note = "visualization: " + err.Error()
		} else {
			res.Visualization = filepath.Base(path)
			wit.Detail += "; porcupine's visualisation: " + res.Visualization
		}
	}
	return res, wit
}

// logCheck is the outcome of checking one partition log with porcupine.
type logCheck struct {
	result  string
	steps   int64
	windows int
	note    string
	// The failing window, its model and porcupine's account of it.
	failed window
	model  porcupine.Model
	info   porcupine.LinearizationInfo
}

// check runs porcupine on each window of l (of at least minOps operations
// where the history allows a cut) until one is not linearizable, the step
// budget (<= 0: none) is spent or the deadline (zero: none) passes.
func (l *partitionLog) check(minOps int, budget int64, deadline time.Time) logCheck {
	out := logCheck{result: resultOK}
	for _, w := range l.windows(minOps) {
		timeout := time.Duration(0)
		if !deadline.IsZero() {
			if timeout = time.Until(deadline); timeout <= 0 {
				out.result, out.note = resultUnknown, fmt.Sprintf("out of time after %d windows", out.windows)
				return out
			}
		}
		exhausted := false
		model := l.model(w.start, func() bool {
			out.steps++
			if budget > 0 && out.steps > budget {
				exhausted = true
			}
			return exhausted
		})
		result, info := porcupine.CheckOperationsVerbose(model, w.ops, timeout)
		out.windows++
		switch {
		case exhausted:
			out.result, out.note = resultUnknown, fmt.Sprintf("out of its budget of %d steps in window %d", budget, out.windows)
			return out
		case result == porcupine.Unknown:
			out.result, out.note = resultUnknown, fmt.Sprintf("out of time in window %d", out.windows)
			return out
		case result == porcupine.Illegal:
			out.result, out.failed, out.model, out.info = resultIllegal, w, model, info
			return out
		}
	}
	return out
}

// model is porcupine's model of l for a window that starts in state start.
// spent is called once per step and says whether the budget is exhausted.
func (l *partitionLog) model(start int, spent func() bool) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return start },
		Step: func(state, input, _ any) (bool, any) {
			if spent() {
				return false, state
			}
			return l.step(state.(int), input.(*linOp))
		},
		Equal: func(a, b any) bool { return a.(int) == b.(int) },
		Hash:  func(s any) uint64 { return uint64(s.(int)) },
		DescribeOperation: func(input, _ any) string {
			return input.(*linOp).String()
		},
		DescribeState: func(s any) string {
			k := s.(int)
			return fmt.Sprintf("%d known appends, log end %d", k, l.logEnd(k))
		},
		DescribeOperationMetadata: func(m any) string {
			if m == nil {
				return ""
			}
			return fmt.Sprintf("history op %d", m.(int64))
		},
	}
}

// window is a piece of a partition's history porcupine checks alone.
type window struct {
	start int // the state (known appends applied) at its start
	ops   []porcupine.Operation
	elems []*linOp
}

// chain is the partition's operations in the only order a linearization can
// take them: for each k, the reads that need k known appends, then the
// append that makes it k+1. (Reads that need "at least k" sit at k.)
func (l *partitionLog) chain() []*linOp {
	byLevel := map[int][]*linOp{}
	for _, r := range l.reads {
		byLevel[r.level] = append(byLevel[r.level], r)
	}
	out := make([]*linOp, 0, len(l.appends)+len(l.reads))
	for k := 0; k <= len(l.appends); k++ {
		rs := byLevel[k]
		slices.SortStableFunc(rs, func(a, b *linOp) int { return cmp.Compare(a.callNs, b.callNs) })
		out = append(out, rs...)
		if k < len(l.appends) {
			out = append(out, l.appends[k])
		}
	}
	// Reads beyond every known append (a level past the end) cannot be
	// linearized; keep them at the end so porcupine says so.
	for _, k := range slices.Sorted(maps.Keys(byLevel)) {
		if k > len(l.appends) {
			out = append(out, byLevel[k]...)
		}
	}
	return out
}

// earliest computes, along the chain, the earliest time each element can
// take effect (e) and the element whose invoke forces that time (cause). A
// read comes after its own invoke and the append before its level; an
// append after its own invoke, the append before it and every read of its
// level (reads of one level are not ordered among themselves). These are
// the earliest times of any linearization, and taking each element at its
// e is one, so a partition is linearizable iff e <= completion everywhere
// (and no read contradicts the log by itself).
func earliest(chain []*linOp) (e []int64, cause []int) {
	e, cause = make([]int64, len(chain)), make([]int, len(chain))
	lastE, lastCause := int64(math.MinInt64), -1   // the previous append
	levelE, levelCause := int64(math.MinInt64), -1 // the latest read of the current level
	for i, x := range chain {
		e[i], cause[i] = x.callNs, i
		if lastE > e[i] {
			e[i], cause[i] = lastE, lastCause
		}
		if x.kind == linRead {
			// A read that needs at least k appends may come after later
			// appends too: only a read that needs exactly k holds the
			// next append back.
			if x.exact && e[i] > levelE {
				levelE, levelCause = e[i], cause[i]
			}
			continue
		}
		if levelE > e[i] {
			e[i], cause[i] = levelE, levelCause
		}
		lastE, lastCause = e[i], cause[i]
		levelE, levelCause = math.MinInt64, -1
	}
	return e, cause
}

// windows cuts l's chain where every linearization must pass in order.
// After the append at chain position i, let T be the latest of the
// earliest times (see earliest) of the elements up to it: all of them can
// take effect by T. If every later element can still end at or after
// T (none has a completion before T), some linearization, if any exists,
// puts everything up to the append at or before T and everything after at
// or after T: take the earliest schedule, and move the later elements up to
// T. So the two sides can be checked alone, each with its operations
// clipped to its side of T, the later side starting with i+1 appends
// applied; and if both sides pass, their linearizations concatenate.
func (l *partitionLog) windows(minOps int) []window {
	chain := l.chain()
	e, _ := earliest(chain)
	prefMaxE := make([]int64, len(chain))
	for i := range chain {
		prefMaxE[i] = e[i]
		if i > 0 {
			prefMaxE[i] = max(prefMaxE[i], prefMaxE[i-1])
		}
	}
	sufMinRet := make([]int64, len(chain)+1)
	sufMinRet[len(chain)] = math.MaxInt64
	for i := len(chain) - 1; i >= 0; i-- {
		sufMinRet[i] = min(sufMinRet[i+1], chain[i].retNs)
	}
	var out []window
	lo := int64(math.MinInt64)
	cur := window{}
	applied := 0
	flush := func(hi int64) {
		procs := map[int]int{}
		for _, x := range cur.elems {
			if _, ok := procs[x.proc]; !ok {
				procs[x.proc] = len(procs)
			}
			cur.ops = append(cur.ops, porcupine.Operation{
				ClientId: procs[x.proc], Input: x, Call: max(x.callNs, lo), Return: min(x.retNs, hi), Metadata: x.op,
			})
		}
		out = append(out, cur)
	}
	for i, x := range chain {
		cur.elems = append(cur.elems, x)
		if x.kind != linAppend {
			continue
		}
		applied++
		if len(cur.elems) >= minOps && prefMaxE[i] <= sufMinRet[i+1] {
			flush(prefMaxE[i])
			lo = prefMaxE[i]
			cur = window{start: applied}
		}
	}
	if len(cur.elems) > 0 {
		flush(math.MaxInt64)
	}
	return out
}

// explain finds why a window is not linearizable, for people: a read that
// contradicts the log by itself, two records at one offset, or the first
// element of the window that must take effect after it completed.
func (l *partitionLog) explain(ix *index, w window) Witness {
	k := l.tp
	for _, x := range w.elems {
		if x.kind == linRead && x.bad != "" {
			return ix.linWitness(k, []*linOp{x}, fmt.Sprintf("%s/%d is not linearizable: op %d %s contradicts any log: %s",
				k.topic, k.partition, x.op, x, x.bad))
		}
		if x.kind == linAppend && x.idx > 0 && l.appends[x.idx-1].offset == x.offset {
			y := l.appends[x.idx-1]
			return ix.linWitness(k, []*linOp{y, x}, fmt.Sprintf("%s/%d is not linearizable: two records at offset %d, %s (op %d) and %s (op %d)",
				k.topic, k.partition, x.offset, y.value, y.op, x.value, x.op))
		}
		if x.kind == linRead && x.level > len(l.appends) {
			return ix.linWitness(k, []*linOp{x}, fmt.Sprintf("%s/%d is not linearizable: op %d %s needs more known appends than exist", k.topic, k.partition, x.op, x))
		}
	}
	chain := l.chain()
	e, cause := earliest(chain)
	for i, x := range chain {
		if e[i] <= x.retNs {
			continue
		}
		y := chain[cause[i]]
		since := "invoked at"
		if y.kind == linRead {
			since = "answered no earlier than" // a buffered fetch may predate its poll
		}
		return ix.linWitness(k, []*linOp{y, x}, fmt.Sprintf(
			"%s/%d is not linearizable: op %d (%s) completed at %.6fs, but it can only take effect after op %d (%s), %s %.6fs: %s",
			k.topic, k.partition, x.op, x, history.Seconds(x.retNs), y.op, y, since, history.Seconds(y.callNs), l.because(y, x)))
	}
	ops := make([]*linOp, 0, len(w.elems))
	ops = append(ops, w.elems...)
	if len(ops) > 8 {
		ops = ops[:8]
	}
	return ix.linWitness(k, ops, fmt.Sprintf("%s/%d is not linearizable: porcupine found no linearization of a window of %d operations from state %d",
		k.topic, k.partition, len(w.elems), w.start))
}

// because says why x must take effect after y, both in the chain.
func (l *partitionLog) because(y, x *linOp) string {
	switch {
	case y.kind == linAppend && x.kind == linAppend:
		return fmt.Sprintf("offset %d cannot be appended before offset %d", x.offset, y.offset)
	case y.kind == linAppend:
		return fmt.Sprintf("the read shows the log past offset %d", y.offset)
	case x.kind == linAppend:
		return fmt.Sprintf("that read shows the log end at or below offset %d", x.offset)
	}
	return fmt.Sprintf("op %d saw the high watermark at %d, below what op %d shows", y.op, y.hwm, x.op)
}

func (ix *index) linWitness(k tp, xs []*linOp, detail string) Witness {
	w := Witness{Detail: detail}
	for _, x := range xs {
		w.Ops = append(w.Ops, x.op)
		if x.kind == linAppend {
			w.Positions = append(w.Positions, k.at(x.offset))
			w.Values = append(w.Values, x.value)
		}
	}
	w.Ops = uniqueSorted(w.Ops)
	if len(w.Positions) == 0 {
		w.Positions = []Position{k.at(max(xs[0].hwm, xs[0].last, 0))}
	}
	return w
}

// sortedTPs returns m's keys sorted.
func sortedTPs[V any](m map[tp]V) []tp { return slices.SortedFunc(maps.Keys(m), compareTP) }

// sortedKeys returns m's keys sorted.
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
