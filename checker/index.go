package checker

import (
	"cmp"
	"maps"
	"slices"

	"github.com/weir-dev/weir/history"
)

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

func compareTP(a, b tp) int {
	return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
}

func (p Position) tp() tp { return tp{p.Topic, p.Partition} }

func (k tp) at(offset int64) Position { return Position{k.topic, k.partition, offset} }

// sendRec is one send: its value as the completion (or, never completed,
// the invoke) carries it.
type sendRec struct {
	vid    int32 // the value's id
	send   *history.Send
	op     int64        // the completion, or the invoke if none came
	invoke int64        // the invoke
	typ    history.Type // OK, Fail or Info (a send never completed is Info)
	mop    int          // position in a txn op, -1 for a send op
	// txn reports whether the op was a transactional txn.
	txn bool
}

func (s *sendRec) pos() Position { return Position{s.send.Topic, s.send.Partition, s.send.Offset} }
func (s *sendRec) acked() bool   { return s.typ == history.OK && s.send.Acked() }

// read is one record a poll returned.
type read struct {
	pos   Position
	key   string
	value string
	vid   int32 // the value's id
	op    int64 // the poll's (or txn's) completion
	part  int   // index in index.parts
}

// partRead is one partition read of a completed poll or txn, with the
// interval in which the broker sampled it.
type partRead struct {
	tp      tp
	pr      *history.PartitionRead
	op      int64 // the completion
	invoke  int64
	process int
	session int // consumer session: one client, from an assign or subscribe
	// readCommitted says the session's client reads read_committed.
	readCommitted bool
	// callNs..retNs is when the broker could have answered this read: a
	// kgo consumer fetches in the background and hands a buffered fetch to
	// a later poll, so the answer may predate this poll's invoke. A
	// partition is in one fetch at a time and fetched again only after the
	// poll that took its previous fetch, so the answer came after the
	// invoke of the session's previous poll that returned the partition
	// (or after the session began).
	callNs, retNs int64
	mop           int   // txn mop index, -1 for a poll op
	firstRead     int   // index of its first record in index.reads
	maxOffset     int64 // highest offset returned, Unknown if none
}

// finalRec is the final read of one topic.
type finalRec struct {
	topic  string
	invoke int64
	op     int64        // the completion, -1 if none came
	typ    history.Type // Invoke if never completed
	final  *history.Final
	reader int // the final reader's process: the polls of the final read
	marks  map[int32]history.FinalMark
	err    string
	// compacted: the invoke or the completion marks the topic compacted
	// (history.Final.Compacted).
	compacted bool
}

// index is the history arranged for the checkers. Slices are in history
// order unless said otherwise.
type index struct {
	h []history.Op
	// txnGroupCommits is Opts.TxnGroupCommits: the group view takes the
	// offsets transactions committed as group commits.
	txnGroupCommits bool
	invokeOf        []int64 // completion index -> its invoke's index; an invoke -> itself; -1 if none

	// Values get ids in the order they first appear, so the checkers walk
	// them in a fixed order without sorting or hashing strings again.
	vids       map[string]int32
	values     []string
	sendOf     []*sendRec // by value id: the send that carried it, nil if none
	valueReads [][]int32  // by value id: indexes in reads, in history order
	sendList   []*sendRec // by invoke index
	reads      []read
	parts      []partRead
	// byTP holds, per partition, what is known at each offset: reads and
	// acknowledged sends in arrays sorted by offset, searched, not hashed.
	byTP   map[tp]*partIx
	tpIdx  []tp // the partitions of byTP, sorted
	finals map[string]*finalRec
	// readCommitted holds the sessions whose client reads read_committed.
	readCommitted map[int]bool
	txns          int // transactional txn ops
	polls         int // ok polls
	// txnTopics holds the topics a transactional txn op sent to, whatever
	// its outcome: their logs may hold aborted batches and markers.
	txnTopics map[string]bool
	// groups is the consumer-group view, built by the first group checker.
	groups *groupIndex
	// keyIx is the compacted topics' view by key (compaction.go), built
	// by the first checker that needs it.
	keyIx *keyIndex

	// linearizability is filled by the linearizability checker.
	linearizability []PartitionResult
}

// partIx is what a partition's log is known to hold.
type partIx struct {
	reads []int32    // indexes in index.reads, by offset, then history order
	acked []*sendRec // acknowledged sends, by offset, then invoke order
	known []int64    // sorted distinct offsets holding a known value (Jepsen's version order)
}

// vid returns value's id, giving it one if it has none.
func (ix *index) vid(value string) int32 {
	if id, ok := ix.vids[value]; ok {
		return id
	}
	id := int32(len(ix.values))
	ix.vids[value] = id
	ix.values = append(ix.values, value)
	ix.sendOf = append(ix.sendOf, nil)
	return id
}

// at returns the indexes in reads of the records read at pos.
func (ix *index) at(pos Position) []int32 {
	p := ix.byTP[pos.tp()]
	if p == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(p.reads, pos.Offset, func(r int32, o int64) int { return cmp.Compare(ix.reads[r].pos.Offset, o) })
	j := i
	for j < len(p.reads) && ix.reads[p.reads[j]].pos.Offset == pos.Offset {
		j++
	}
	return p.reads[i:j]
}

// ackedAt returns the sends acknowledged at pos.
func (ix *index) ackedAt(pos Position) []*sendRec {
	p := ix.byTP[pos.tp()]
	if p == nil {
		return nil
	}
	i, _ := slices.BinarySearchFunc(p.acked, pos.Offset, func(s *sendRec, o int64) int { return cmp.Compare(s.send.Offset, o) })
	j := i
	for j < len(p.acked) && p.acked[j].send.Offset == pos.Offset {
		j++
	}
	return p.acked[i:j]
}

func newIndex(h []history.Op) *index { return buildIndex(h, false) }

// buildIndex indexes h; txnGroupCommits is Opts.TxnGroupCommits.
func buildIndex(h []history.Op, txnGroupCommits bool) *index {
	ix := &index{
		txnGroupCommits: txnGroupCommits,
		h:               h,
		invokeOf:        make([]int64, len(h)),
		vids:            make(map[string]int32, len(h)/2),
		byTP:            map[tp]*partIx{},
		finals:          map[string]*finalRec{},

		readCommitted: map[int]bool{},
		txnTopics:     map[string]bool{},
	}
	open := map[int]int64{}
	session := map[int]int{}           // process -> current session id
	sessionStart := map[int]int64{}    // session id -> its start time
	lastCall := map[int]map[tp]int64{} // session -> tp -> invoke time of the last poll that returned tp
	nextSession := 1
	memberOf := map[int]int{} // a group member's events process -> its process
	members := map[int]bool{} // group members' processes
	for i := range h {
		op := &h[i]
		ix.invokeOf[i] = -1
		if op.Type == history.Invoke {
			open[op.Process] = int64(i)
			ix.invokeOf[i] = int64(i)
			switch op.F {
			case history.FnAssign, history.FnSubscribe:
				session[op.Process] = nextSession
				sessionStart[nextSession] = op.Time
				ix.readCommitted[nextSession] = (op.Assign != nil && op.Assign.ReadCommitted) || (op.Subscribe != nil && op.Subscribe.ReadCommitted)
				nextSession++
			case history.FnJoin:
				// A member's client: a session of its own, like a subscribe.
				session[op.Process] = nextSession
				sessionStart[nextSession] = op.Time
				ix.readCommitted[nextSession] = op.Join != nil && op.Join.ReadCommitted
				if op.Join != nil {
					memberOf[op.Join.Events] = op.Process
				}
				members[op.Process] = true
				nextSession++
			case history.FnAssignment:
				// Partitions added to a member are read from the group's
				// committed offset, not where the member left them: a new
				// session of the member's process. Fetches it kept go on,
				// so it inherits what is known of when they were made: a
				// kept partition no poll returned yet may have been
				// fetched any time since the old session began (seed
				// 71166: a fetch answered before the rebalance was handed
				// to the first poll after it).
				if m, ok := memberOf[op.Process]; ok && op.Assignment != nil && op.Assignment.Event == history.Assigned && len(op.Assignment.Changed) > 0 {
					old := session[m]
					session[m] = nextSession
					sessionStart[nextSession] = op.Time
					ix.readCommitted[nextSession] = ix.readCommitted[old]
					calls := maps.Clone(lastCall[old])
					if calls == nil {
						calls = map[tp]int64{}
					}
					for _, p := range op.Assignment.Owned {
						k := tp{op.Assignment.Topic, p}
						if _, seen := calls[k]; !seen && !slices.Contains(op.Assignment.Changed, p) {
							calls[k] = sessionStart[old]
						}
					}
					lastCall[nextSession] = calls
					nextSession++
				}
			case history.FnFinal:
				if op.Final != nil {
					ix.finals[op.Final.Topic] = &finalRec{topic: op.Final.Topic, invoke: int64(i), op: -1, typ: history.Invoke, final: op.Final, reader: op.Final.Reader, compacted: op.Final.Compacted}
				}
			}
			continue
		}
		inv, ok := open[op.Process]
		if !ok {
			continue // Validate rejects this; be lenient
		}
		delete(open, op.Process)
		ix.invokeOf[i] = inv
		ix.addSends(op, inv)
		if op.Poll != nil && op.Type == history.OK {
			ix.polls++
		}
		if op.Txn != nil && op.Txn.Transactional {
			ix.txns++
		}
		if _, member := members[op.Process]; ix.txnGroupCommits && member && op.Txn != nil && op.Txn.Transactional && op.Type != history.OK {
			// A member whose transaction did not commit consumes again
			// from the group's committed offsets (kgo's
			// GroupTransactSession rewinds after an abort): a new
			// session. Fetches of partitions the rewind did not move
			// stay buffered, so it starts when the old one did: only
			// the order of reads across the rewind is cut.
			old := session[op.Process]
			session[op.Process] = nextSession
			sessionStart[nextSession] = sessionStart[old]
			ix.readCommitted[nextSession] = ix.readCommitted[old]
			lastCall[nextSession] = maps.Clone(lastCall[old])
			nextSession++
		}
		ix.addReads(op, inv, session, sessionStart, lastCall)
		if op.F == history.FnFinal && op.Final != nil {
			if f := ix.finals[op.Final.Topic]; f != nil {
				f.op, f.typ, f.final, f.err = int64(i), op.Type, op.Final, op.Error
				f.compacted = f.compacted || op.Final.Compacted
			}
		}
	}
	// A send never completed is an unknown outcome, like info.
	for _, p := range slices.Sorted(maps.Keys(open)) {
		inv := &h[open[p]]
		ix.addSends(inv, open[p])
	}
	slices.SortFunc(ix.sendList, func(a, b *sendRec) int { return cmp.Or(cmp.Compare(a.invoke, b.invoke), cmp.Compare(a.mop, b.mop)) })
	ix.buildPositions()
	for _, f := range ix.finals {
		f.marks = map[int32]history.FinalMark{}
		for _, m := range f.final.Marks {
			f.marks[m.Partition] = m
		}
	}
	return ix
}

// addSends indexes the sends of op (a completion, or an invoke never
// completed) whose invoke is inv.
func (ix *index) addSends(op *history.Op, inv int64) {
	typ := op.Type
	if typ == history.Invoke {
		typ = history.Info
	}
	for j, s := range op.Sends() {
		mop := -1
		if op.Txn != nil {
			mop = j
		}
		rec := &sendRec{vid: ix.vid(s.Value), send: s, op: op.Index, invoke: inv, typ: typ, mop: mop, txn: op.Txn != nil && op.Txn.Transactional}
		ix.sendOf[rec.vid] = rec
		ix.sendList = append(ix.sendList, rec)
		if rec.txn {
			ix.txnTopics[s.Topic] = true
		}
	}
}

func (ix *index) addReads(op *history.Op, inv int64, session map[int]int, sessionStart map[int]int64, lastCall map[int]map[tp]int64) {
	sess := session[op.Process]
	if lastCall[sess] == nil {
		lastCall[sess] = map[tp]int64{}
	}
	callOf := lastCall[sess]
	var mops []int
	var prs []*history.PartitionRead
	switch {
	case op.Poll != nil:
		for k := range op.Poll.Reads {
			prs, mops = append(prs, &op.Poll.Reads[k]), append(mops, -1)
		}
	case op.Txn != nil:
		for j, m := range op.Txn.Mops {
			if m.Poll != nil {
				for k := range m.Poll.Reads {
					prs, mops = append(prs, &m.Poll.Reads[k]), append(mops, j)
				}
			}
		}
	}
	invokeNs := ix.h[inv].Time
	for k, pr := range prs {
		key := tp{pr.Topic, pr.Partition}
		call, seen := callOf[key]
		if !seen {
			call = sessionStart[sess] // 0 for a process with no assign or subscribe
		}
		p := partRead{tp: key, pr: pr, op: op.Index, invoke: inv, process: op.Process, session: sess, readCommitted: ix.readCommitted[sess],
			callNs: min(call, invokeNs), retNs: op.Time, mop: mops[k], firstRead: len(ix.reads), maxOffset: history.Unknown}
		for _, r := range pr.Records {
			ix.reads = append(ix.reads, read{pos: key.at(r.Offset), key: r.Key, value: r.Value, vid: ix.vid(r.Value), op: op.Index, part: len(ix.parts)})
			p.maxOffset = max(p.maxOffset, r.Offset)
		}
		ix.parts = append(ix.parts, p)
	}
	for _, pr := range prs {
		// An answer with an error may be kgo's own (injected, no fetch
		// behind it): only a real answer says the partition's previous
		// fetch was taken.
		if pr.Error == "" {
			callOf[tp{pr.Topic, pr.Partition}] = invokeNs
		}
	}
}

// buildPositions builds valueReads and byTP from reads and sends.
func (ix *index) buildPositions() {
	// valueReads: one backing array, cut per value.
	counts := make([]int32, len(ix.values))
	for _, r := range ix.reads {
		counts[r.vid]++
	}
	backing := make([]int32, len(ix.reads))
	ix.valueReads = make([][]int32, len(ix.values))
	next := 0
	for vid, n := range counts {
		ix.valueReads[vid] = backing[next : next : next+int(n)]
		next += int(n)
	}
	get := func(k tp) *partIx {
		p := ix.byTP[k]
		if p == nil {
			p = &partIx{}
			ix.byTP[k] = p
		}
		return p
	}
	// Reads are walked a partition read at a time: one lookup each.
	for _, part := range ix.parts {
		p := get(part.tp)
		for i := part.firstRead; i < part.firstRead+len(part.pr.Records); i++ {
			p.reads = append(p.reads, int32(i))
			ix.valueReads[ix.reads[i].vid] = append(ix.valueReads[ix.reads[i].vid], int32(i))
		}
	}
	for _, s := range ix.sendList {
		if s.acked() {
			get(s.pos().tp()).acked = append(get(s.pos().tp()).acked, s)
		}
	}
	for k, p := range ix.byTP {
		slices.SortStableFunc(p.reads, func(a, b int32) int { return cmp.Compare(ix.reads[a].pos.Offset, ix.reads[b].pos.Offset) })
		slices.SortStableFunc(p.acked, func(a, b *sendRec) int { return cmp.Compare(a.send.Offset, b.send.Offset) })
		p.known = make([]int64, 0, len(p.reads)+len(p.acked))
		for _, r := range p.reads {
			p.known = append(p.known, ix.reads[r].pos.Offset)
		}
		for _, s := range p.acked {
			p.known = append(p.known, s.send.Offset)
		}
		slices.Sort(p.known)
		p.known = slices.Compact(p.known)
		ix.tpIdx = append(ix.tpIdx, k)
	}
	slices.SortFunc(ix.tpIdx, compareTP)
}

// knownBetween returns the first known offset of k strictly between lo and
// hi, if any.
func (ix *index) knownBetween(k tp, lo, hi int64) (int64, bool) {
	var known []int64
	if p := ix.byTP[k]; p != nil {
		known = p.known
	}
	i, _ := slices.BinarySearch(known, lo+1)
	if i == len(known) || known[i] >= hi {
		return 0, false
	}
	return known[i], true
}

// valuesAt returns the distinct values known at pos (acked there or read
// there), sorted, with the first op that shows each.
func (ix *index) valuesAt(pos Position) map[string]int64 {
	out := map[string]int64{}
	for _, i := range ix.at(pos) {
		r := ix.reads[i]
		if o, ok := out[r.value]; !ok || r.op < o {
			out[r.value] = r.op
		}
	}
	return out
}

// readAt reports whether value was read at pos.
func (ix *index) readAt(value string, pos Position) bool {
	for _, i := range ix.at(pos) {
		if ix.reads[i].value == value {
			return true
		}
	}
	return false
}

// finalReaderReadAt reports whether the final read of pos's topic read
// value at pos.
func (ix *index) finalReaderReadAt(f *finalRec, value string, pos Position) bool {
	for _, i := range ix.at(pos) {
		if r := ix.reads[i]; r.value == value && ix.byFinalReader(f, ix.parts[r.part]) {
			return true
		}
	}
	return false
}

// byFinalReader reports whether a partition read is one of f's polls: by
// its reader, invoked after f was.
func (ix *index) byFinalReader(f *finalRec, p partRead) bool {
	return p.process == f.reader && p.invoke > f.invoke && (f.op < 0 || p.op < f.op)
}

// times returns the time of each op in seconds since the run's start.
func (ix *index) times(ops []int64) []float64 {
	out := make([]float64, len(ops))
	for i, o := range ops {
		if o >= 0 && o < int64(len(ix.h)) {
			out[i] = history.Seconds(ix.h[o].Time)
		}
	}
	return out
}

// sendsOfType returns the sends of type t (Info includes never-completed
// invokes), in invoke order.
func (ix *index) sendsOfType(t history.Type) []*sendRec {
	var out []*sendRec
	for _, s := range ix.sendList {
		if s.typ == t {
			out = append(out, s)
		}
	}
	return out
}

func (ix *index) stats() Stats {
	s := Stats{Ops: len(ix.h), Polls: ix.polls, RecordsRead: len(ix.reads)}
	for _, rs := range ix.valueReads {
		if len(rs) > 0 {
			s.ValuesRead++
		}
	}
	s.SendsFail = len(ix.sendsOfType(history.Fail))
	s.SendsInfo = len(ix.sendsOfType(history.Info))
	for _, snd := range ix.sendsOfType(history.OK) {
		s.SendsOK++
		if ix.readAt(snd.send.Value, snd.pos()) {
			s.AckedRead++
		}
		if len(ix.valueReads[snd.vid]) == 0 && !ix.superseded(snd) {
			s.Unseen++
		}
		if _, judged := ix.finalCoverage(snd.pos().tp()); !judged {
			s.Unjudged++
		}
	}
	for _, k := range ix.expectedPartitions() {
		if _, ok := ix.finalCoverage(k); ok {
			s.FinalPartitions++
		} else {
			s.FinalIncomplete++
		}
	}
	return s
}

// expectedPartitions are the partitions a final read must cover: those the
// topic was created with, and any a send was acknowledged in or a poll read.
func (ix *index) expectedPartitions() []tp {
	set := map[tp]bool{}
	for _, f := range ix.finals {
		for p := range f.final.Partitions {
			set[tp{f.topic, p}] = true
		}
	}
	for _, s := range ix.sendList {
		if s.acked() {
			set[s.pos().tp()] = true
		}
	}
	for _, p := range ix.parts {
		set[p.tp] = true
	}
	return slices.SortedFunc(maps.Keys(set), compareTP)
}

// finalCoverage returns the final mark of k if the final read read k
// completely.
func (ix *index) finalCoverage(k tp) (history.FinalMark, bool) {
	f := ix.finals[k.topic]
	if f == nil || f.op < 0 {
		return history.FinalMark{}, false
	}
	m, ok := f.marks[k.partition]
	return m, ok && m.Complete
}

// uniqueSorted returns the sorted distinct elements of xs.
func uniqueSorted[T cmp.Ordered](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
