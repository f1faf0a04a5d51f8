package checker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weir-dev/weir/history"
)

// Anomaly names, as keys of Verdict.Anomalies. They follow Jepsen's Kafka
// workload (jepsen/tests/kafka.clj) where it has the anomaly.
const (
	LostWrite           = "lost-write"
	Unseen              = "unseen"
	Duplicate           = "duplicate"
	InconsistentOffsets = "inconsistent-offsets"
	NonmonotonicSend    = "nonmonotonic-send"
	NonmonotonicPoll    = "nonmonotonic-poll"
	PollSkip            = "poll-skip"
	IntPollSkip         = "int-poll-skip"
	IntNonmonotonicPoll = "int-nonmonotonic-poll"
	IntSendSkip         = "int-send-skip"
	IntNonmonotonicSend = "int-nonmonotonic-send"
	PhantomValue        = "phantom-value"
	WatermarkRegression = "watermark-regression"
	AbortedRead         = "aborted-read"
	PrecommittedRead    = "precommitted-read"
	TornTransaction     = "torn-transaction"
	Nonlinearizable     = "nonlinearizable"
)

// VerdictVersion is Verdict.Version: 2 has Outcome, Unjudged, Seen, Checks
// and Linearizability where version 1 (unversioned) had a Valid bool.
const VerdictVersion = 2

// check is one checker: the anomaly it finds and how.
type check struct {
	name string
	// informational anomalies are reported but never make a verdict
	// invalid by themselves.
	informational bool
	find          func(ix *index, opts *Opts) finding
}

// finding is what one checker found.
type finding struct {
	witnesses []Witness
	// unknown lists what the checker could not judge.
	unknown []Unjudged
	// notChecked says why nothing at all was checked ("" when something was).
	notChecked string
	note       string
}

// checks is every checker, in the order of Anomalies: the queue's, then
// the consumer groups' (group_index.go).
func checks() []check {
	return append([]check{
		{name: LostWrite, find: lostWrites},
		{name: Unseen, informational: true, find: unseen},
		{name: Duplicate, find: duplicates},
		{name: InconsistentOffsets, find: inconsistentOffsets},
		{name: NonmonotonicSend, find: nonmonotonicSends},
		{name: NonmonotonicPoll, find: nonmonotonicPolls},
		{name: PollSkip, find: pollSkips},
		{name: IntPollSkip, find: intPollSkips},
		{name: IntNonmonotonicPoll, find: intNonmonotonicPolls},
		{name: IntSendSkip, find: intSendSkips},
		{name: IntNonmonotonicSend, find: intNonmonotonicSends},
		{name: PhantomValue, find: phantomValues},
		{name: WatermarkRegression, find: watermarkRegressions},
		{name: AbortedRead, find: abortedReads},
		{name: PrecommittedRead, find: precommittedReads},
		{name: TornTransaction, find: tornTransactions},
		{name: AbortedOffsetCommit, find: abortedOffsetCommits},
		{name: CompactionLostKey, find: compactionLostKeys},
		{name: Nonlinearizable, find: nonlinearizable},
	}, groupChecks()...)
}

// Anomalies lists every anomaly Check looks for, in a fixed order.
func Anomalies() []string {
	var out []string
	for _, c := range checks() {
		out = append(out, c.name)
	}
	return out
}

// Position is a place in a partition log.
type Position struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

func (p Position) String() string { return fmt.Sprintf("%s/%d@%d", p.Topic, p.Partition, p.Offset) }

func comparePositions(a, b Position) int {
	return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Offset, b.Offset))
}

// Witness is one case of an anomaly: where, which values, the indexes of
// the ops that show it (in history order) with their times in seconds since
// the run's start, and a sentence for humans.
type Witness struct {
	Positions []Position `json:"positions,omitempty"`
	Values    []string   `json:"values,omitempty"`
	Ops       []int64    `json:"ops"`
	Times     []float64  `json:"times"` // Times[i] is when op Ops[i] happened, seconds since the start
	Detail    string     `json:"detail"`
}

// Outcome is what a verdict concludes. The three are never conflated: a run
// that could not be judged is Unknown, never Valid.
type Outcome string

const (
	Valid   Outcome = "valid"   // every checker judged everything; nothing not allowed found
	Invalid Outcome = "invalid" // an anomaly the configuration does not allow
	Unknown Outcome = "unknown" // nothing not allowed found, but something could not be judged
)

// UnknownReason is why part of a history could not be judged.
type UnknownReason string

const (
	// FinalReadIncomplete: the final read failed, is missing, or did not
	// read some partition to its high watermark, so lost writes there
	// cannot be judged. A liveness failure.
	FinalReadIncomplete UnknownReason = "final-read-incomplete"
	// CheckTimeout: a checker ran out of its budget (time or steps).
	CheckTimeout UnknownReason = "checker-timeout"
	// NotCheckable: the history has operations no checker here can judge.
	NotCheckable UnknownReason = "not-checkable"
	// ProcessingIncomplete: a processing application did not get through
	// its input before the run ended (no barrier of a partition came out
	// of it), so what it should have produced from there cannot be judged.
	// A liveness failure, like an incomplete final read.
	ProcessingIncomplete UnknownReason = "processing-incomplete"
)

// Unjudged is one part of a history a checker could not judge.
type Unjudged struct {
	Reason UnknownReason `json:"reason"`
	Check  string        `json:"check"`
	Detail string        `json:"detail"`
}

// Status is what one checker did.
type Status string

const (
	StatusClean      Status = "clean"       // checked everything it applies to; found nothing
	StatusFound      Status = "found"       // found the anomaly
	StatusUnknown    Status = "unknown"     // found nothing, but could not judge some of the history
	StatusNotChecked Status = "not-checked" // checked nothing; Note says why
)

// CheckResult is one checker's line of the verdict.
type CheckResult struct {
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Count   int    `json:"count,omitempty"`
	Allowed bool   `json:"allowed,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Opts tunes Check.
type Opts struct {
	// Allowed anomalies are still reported but do not make the verdict
	// invalid: what a configuration does not promise (acks=1 allows
	// lost-write, for one).
	Allowed []string
	// MaxWitnesses bounds the witnesses kept per anomaly; Verdict.Counts
	// has the full number. Default 32; negative keeps all.
	MaxWitnesses int
	// LinearizabilityTimeout bounds the wall-clock time of the
	// linearizability check of the whole history (porcupine's timeout);
	// 0 means no wall-clock bound. Wall time is not deterministic: the
	// simulation guest bounds steps instead.
	LinearizabilityTimeout time.Duration
	// LinearizabilitySteps bounds porcupine's model steps per partition,
	// a deterministic budget. 0 means DefaultSteps(ops of the partition);
	// negative means no bound.
	LinearizabilitySteps int64
	// VisualizationPath, if set, names the file where porcupine's HTML
	// visualisation of a partition found not linearizable is written.
	VisualizationPath func(topic string, partition int32) string
	// Properties are a workload's own checks, run after the queue
	// anomalies and judged the same way.
	Properties []Property
	// TxnGroupCommits makes the offsets a member's transactions commit
	// for its group (history.Txn.Offsets of a transactional txn of a
	// process that joined that group) commits of the group for the group
	// checkers: a committed transaction's (ok) accepted, an
	// aborted one's (fail) never applied, one of unknown outcome (info)
	// perhaps applied. For a processor whose members commit inside their
	// transactions (kgo's GroupTransactSession), whose group's offsets
	// move only so. Transactions of processes that are no member of the
	// group (the queue's txn mode: aborted-offset-commit judges those)
	// are left alone, so the option may be on for a merged history.
	TxnGroupCommits bool
}

// Property is a check a workload adds to the queue anomalies: it reads
// only the history and reports the witnesses of one anomaly, named Name
// in the verdict. Witness times are filled in by Check from Witness.Ops.
type Property struct {
	Name string
	// Informational properties never make a verdict invalid.
	Informational bool
	Check         func(h []history.Op) Finding
}

// Finding is what a Property found: witnesses of its anomaly, parts it
// could not judge, or why it checked nothing at all (NotChecked).
type Finding struct {
	Witnesses  []Witness
	Unjudged   []Unjudged
	NotChecked string
	Note       string
}

// DefaultSteps is the step budget of a partition with ops operations when
// Opts.LinearizabilitySteps is 0: a history that is linearizable costs a
// few steps per operation, so this leaves room for backtracking.
func DefaultSteps(ops int) int64 { return 1_000_000 + 1_000*int64(ops) }

// Stats describe the history checked.
type Stats struct {
	Ops         int `json:"ops"`
	SendsOK     int `json:"sends_ok"`
	SendsFail   int `json:"sends_fail"`
	SendsInfo   int `json:"sends_info"` // info completions and invokes never completed
	Polls       int `json:"polls_ok"`
	RecordsRead int `json:"records_read"`
	ValuesRead  int `json:"distinct_values_read"`
	AckedRead   int `json:"acked_sends_read"` // ok sends read at their acknowledged position
	// Unseen ok sends were read by no poll at all (the final read's
	// included): each is a lost write, or sits in a partition the final
	// read could not finish.
	Unseen int `json:"acked_sends_unseen"`
	// Unjudged ok sends sit in partitions the final read did not read
	// completely: whether they survived is unknown.
	Unjudged int `json:"acked_sends_unjudged"`
	// FinalPartitions is how many partitions the final read read
	// completely, FinalIncomplete how many it should have and did not.
	FinalPartitions int `json:"final_partitions"`
	FinalIncomplete int `json:"final_incomplete"`
}

// Verdict is the result of Check, encoded in verdict.json.
type Verdict struct {
	Version int     `json:"version"`
	Outcome Outcome `json:"outcome"`
	// Unjudged says what could not be judged: non-empty when Outcome is
	// Unknown, and possibly beside Invalid.
	Unjudged  []Unjudged           `json:"unjudged,omitempty"`
	Anomalies map[string][]Witness `json:"anomalies"` // only anomalies found
	Counts    map[string]int       `json:"counts"`    // witnesses per anomaly before MaxWitnesses
	Allowed   []string             `json:"allowed,omitempty"`
	Seen      []string             `json:"seen,omitempty"` // anomalies found, allowed or not
	Checks    []CheckResult        `json:"checks"`
	// Linearizability is porcupine's result per partition.
	Linearizability []PartitionResult `json:"linearizability,omitempty"`
	Stats           Stats             `json:"stats"`
}

// Valid reports whether the outcome is Valid.
func (v Verdict) Valid() bool { return v.Outcome == Valid }

// UnknownBecause reports whether some part was unknown for reason r.
func (v Verdict) UnknownBecause(r UnknownReason) bool {
	return slices.ContainsFunc(v.Unjudged, func(u Unjudged) bool { return u.Reason == r })
}

// Check runs every checker on h. h should pass history.Validate; Check
// itself only needs each op's completion to carry its values.
func Check(h []history.Op, opts Opts) Verdict {
	if opts.MaxWitnesses == 0 {
		opts.MaxWitnesses = 32
	}
	ix := buildIndex(h, opts.TxnGroupCommits)
	v := Verdict{
		Version:   VerdictVersion,
		Anomalies: map[string][]Witness{},
		Counts:    map[string]int{},
		Allowed:   slices.Compact(slices.Sorted(slices.Values(opts.Allowed))),
	}
	invalid := false
	all := checks()
	for _, p := range opts.Properties {
		all = append(all, check{name: p.Name, informational: p.Informational, find: func(ix *index, _ *Opts) finding {
			f := p.Check(ix.h)
			return finding{witnesses: f.Witnesses, unknown: f.Unjudged, notChecked: f.NotChecked, note: f.Note}
		}})
	}
	for _, c := range all {
		f := c.find(ix, &opts)
		res := CheckResult{Name: c.name, Allowed: slices.Contains(v.Allowed, c.name), Note: f.note}
		v.Unjudged = append(v.Unjudged, f.unknown...)
		switch {
		case len(f.witnesses) > 0:
			res.Status, res.Count = StatusFound, len(f.witnesses)
			ws := f.witnesses
			for i := range ws {
				ws[i].Times = ix.times(ws[i].Ops)
			}
			if opts.MaxWitnesses > 0 && len(ws) > opts.MaxWitnesses {
				ws = ws[:opts.MaxWitnesses]
			}
			v.Anomalies[c.name], v.Counts[c.name] = ws, res.Count
			v.Seen = append(v.Seen, c.name)
			if !res.Allowed && !c.informational {
				invalid = true
			}
		case f.notChecked != "":
			res.Status, res.Note = StatusNotChecked, f.notChecked
		case len(f.unknown) > 0:
			res.Status = StatusUnknown
		default:
			res.Status = StatusClean
		}
		v.Checks = append(v.Checks, res)
	}
	v.Linearizability = ix.linearizability
	v.Stats = ix.stats()
	switch {
	case invalid:
		v.Outcome = Invalid
	case len(v.Unjudged) > 0:
		v.Outcome = Unknown
	default:
		v.Outcome = Valid
	}
	return v
}

// Summary is a few lines for humans: the outcome, the counts, why anything
// was unknown, and the first witness of each anomaly.
func (v Verdict) Summary() string {
	var b strings.Builder
	s := v.Stats
	fmt.Fprintf(&b, "%s: %d ops; sends %d ok, %d fail, %d info; %d polls read %d records (%d values); %d acked sends read at their offset; final read complete for %d partitions",
		strings.ToUpper(string(v.Outcome)), s.Ops, s.SendsOK, s.SendsFail, s.SendsInfo, s.Polls, s.RecordsRead, s.ValuesRead, s.AckedRead, s.FinalPartitions)
	if s.FinalIncomplete > 0 {
		fmt.Fprintf(&b, ", incomplete for %d", s.FinalIncomplete)
	}
	b.WriteString("\n")
	if s.Unseen > 0 {
		fmt.Fprintf(&b, "  unseen: %d acknowledged sends were read by no poll, the final read's included; each is either a lost write or sits where the final read could not finish (%d such sends are unjudged)\n", s.Unseen, s.Unjudged)
	}
	for _, u := range v.Unjudged {
		fmt.Fprintf(&b, "  unknown (%s, %s): %s\n", u.Reason, u.Check, u.Detail)
	}
	for _, c := range v.Checks {
		name := c.Name
		ws := v.Anomalies[name]
		if len(ws) == 0 || name == Unseen {
			continue
		}
		allowed := ""
		if slices.Contains(v.Allowed, name) {
			allowed = " (allowed)"
		}
		fmt.Fprintf(&b, "  %s ×%d%s, e.g. %s\n", name, v.Counts[name], allowed, ws[0].Detail)
	}
	var checked, notChecked []string
	for _, c := range v.Checks {
		if c.Status == StatusNotChecked {
			notChecked = append(notChecked, fmt.Sprintf("%s (%s)", c.Name, c.Note))
		} else {
			checked = append(checked, c.Name)
		}
	}
	fmt.Fprintf(&b, "  checked: %s", strings.Join(checked, ", "))
	if len(notChecked) > 0 {
		fmt.Fprintf(&b, "; not checked: %s", strings.Join(notChecked, ", "))
	}
	if len(v.Allowed) > 0 {
		fmt.Fprintf(&b, "; allowed by the configuration: %s", strings.Join(v.Allowed, ", "))
	}
	b.WriteString("\n")
	return b.String()
}
