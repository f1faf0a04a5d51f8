package checker

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/weir-dev/weir/history"
)

// CompactionLostKey is the anomaly of a compacted topic whose complete
// final read does not end a key where the history says it ends.
const CompactionLostKey = "compaction-lost-key"

// Kafka's log compaction contract, for a topic with cleanup.policy=compact
// (history.Final.Compacted): the log cleaner may remove a record only when
// a later record of the same key is in the log (below the high watermark:
// it never cleans the active segment or above it), and a tombstone (a null
// value) when its delete.retention.ms has passed; it never moves a record
// to another offset, and keeps records without a key. So a complete read
// from the log start shows, for every key, the last record of it ever
// written at or below the high watermark, or, when that record is a
// tombstone, either it or nothing of the key.
//
// compactionLostKeys judges that on each partition of a compacted topic
// that the final read read completely: per key, the last known record
// (the highest offset at which a record of the key was read by any poll
// or acknowledged to a send, below the final high watermark) must be the
// key's last record in the final read; the final read may have nothing of
// the key only when that record is a tombstone or a send of the key whose
// outcome is unknown (info, or never completed) was a tombstone, which
// may have landed later and expired. An older value of the key in its
// place is never allowed: nothing later can bring it back.
//
// The other checkers leave compaction's removals alone on compacted
// topics, and only them (superseded, removableBefore): lost-write and
// unseen judge only the sends no later record of their key can explain
// away; poll-skip and int-poll-skip allow a consumer to jump over a
// record once a later record of its key below the high watermark the poll
// saw had been sent (invoked) before the poll returned, or over a
// tombstone (the cleaner reads nothing above the high watermark, which
// never goes back); nonlinearizable does not check
// compacted partitions (a read legitimately misses records inside its
// range). Offsets that stay put and records that are never moved are
// still judged by duplicate, inconsistent-offsets and the monotonic
// checks, as on any topic.
//
// What is not judged: when a tombstone goes (only that it goes with every
// older record of its key; delete.retention.ms runs on the brokers' wall
// clocks, which clock faults move), and records without a key (Weir's
// cleaner keeps them, and the compacted mode sends none).
func compactionLostKeys(ix *index, _ *Opts) finding {
	var f finding
	if len(ix.compactedTopics()) == 0 {
		f.notChecked = "no compacted topic in the history"
		return f
	}
	kx := ix.keys()
	for _, k := range ix.expectedPartitions() {
		if !ix.isCompacted(k.topic) {
			continue
		}
		mark, ok := ix.finalCoverage(k)
		if !ok {
			continue // lost-write reports the incomplete final read
		}
		fin := ix.finals[k.topic]
		finalLast := ix.finalLastPerKey(k, fin)
		for _, key := range kx.keysOf(k) {
			last, ok := kx.lastBelow(k, key, mark.HighWatermark)
			if !ok || last.offset < mark.LogStartOffset {
				continue
			}
			got, has := finalLast[key]
			if has && got.pos.Offset == last.offset {
				continue
			}
			if !has && (last.tombstone || kx.unknownTombstone(k.topic, key)) {
				continue
			}
			f.witnesses = append(f.witnesses, ix.lostKeyWitness(k, key, last, got, has, fin))
		}
	}
	slices.SortStableFunc(f.witnesses, func(a, b Witness) int { return comparePositions(a.Positions[0], b.Positions[0]) })
	return f
}

// lostKeyWitness describes a key whose last known record the final read
// does not end with.
func (ix *index) lostKeyWitness(k tp, key string, last keyRecord, got read, has bool, fin *finalRec) Witness {
	pos := k.at(last.offset)
	w := Witness{Positions: []Position{pos}, Values: []string{last.value}, Ops: []int64{last.op, fin.op}}
	what := "value"
	if last.tombstone {
		what = "tombstone"
	}
	w.Detail = fmt.Sprintf("key %s of compacted %s/%d: its last known record is %s %s at %s (op %d), ", key, k.topic, k.partition, what, last.value, pos, last.op)
	if has {
		w.Positions = append(w.Positions, got.pos)
		w.Values = append(w.Values, got.value)
		w.Ops = append(w.Ops, got.op)
		w.Detail += fmt.Sprintf("but the complete final read (op %d) ends the key with the older %s at %s", fin.op, got.value, got.pos)
	} else {
		w.Detail += fmt.Sprintf("but the complete final read (op %d) has nothing of the key", fin.op)
	}
	w.Ops = uniqueSorted(w.Ops)
	return w
}

// finalLastPerKey is, per key, the record of the highest offset the final
// read of k returned.
func (ix *index) finalLastPerKey(k tp, fin *finalRec) map[string]read {
	out := map[string]read{}
	p := ix.byTP[k]
	if p == nil {
		return out
	}
	for _, i := range p.reads {
		r := ix.reads[i]
		if r.key == "" || !ix.byFinalReader(fin, ix.parts[r.part]) {
			continue
		}
		if o, ok := out[r.key]; !ok || r.pos.Offset > o.pos.Offset {
			out[r.key] = r
		}
	}
	return out
}

// compactedTopics are the topics a final op marks compacted.
func (ix *index) compactedTopics() []string {
	var out []string
	for t, f := range ix.finals {
		if f.compacted {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func (ix *index) isCompacted(topic string) bool {
	f := ix.finals[topic]
	return f != nil && f.compacted
}

// superseded reports whether the cleaner of a compacted topic may have
// removed the record s acknowledged: s is a tombstone, or a later record
// of its key is known, or a send of its key has an unknown outcome.
func (ix *index) superseded(s *sendRec) bool {
	pos := s.pos()
	if !ix.isCompacted(pos.Topic) {
		return false
	}
	return ix.removableBefore(pos, s.send.Key, s.send.Value, s.send.Tombstone, math.MaxInt64, math.MaxInt64)
}

// removableBefore reports whether the record at pos of a compacted topic,
// with key and tombstone as known, may have been removed by the cleaner
// before time t (ns since the run's start) while the high watermark was
// at most hw: it is a tombstone, or a later record of its key (another
// value: the same value later is a moved record, which duplicate reports)
// below hw, or a send of its key whose outcome is unknown, was invoked
// before t (nothing can be removed for a record not yet sent, nor for one
// above the high watermark, which the cleaner never reads). A record
// without a key is never removed.
func (ix *index) removableBefore(pos Position, key, value string, tombstone bool, t, hw int64) bool {
	if key == "" {
		return false
	}
	if tombstone {
		return true
	}
	kx := ix.keys()
	return kx.laterInvokedBefore(pos.tp(), key, pos.Offset, value, t, hw) || kx.unknownInvokedBefore(pos.Topic, key, t)
}

// removableSkip reports whether a consumer's jump over the known offset
// off of k, seen by cur, may be compaction's: the poll completed at t and
// saw the high watermark hw (which never goes back, so the cleaner worked
// below it).
func (ix *index) removableSkip(k tp, off int64, cur read) bool {
	if !ix.isCompacted(k.topic) {
		return false
	}
	t, hw := ix.h[cur.op].Time, ix.parts[cur.part].pr.HighWatermark
	if hw < 0 {
		hw = math.MaxInt64 // an answer without one
	}
	key, value, tombstone, ok := ix.keyAt(k.at(off))
	return ok && ix.removableBefore(k.at(off), key, value, tombstone, t, hw)
}

// keyAt returns the key and value of a record known at pos and whether it
// is a tombstone.
func (ix *index) keyAt(pos Position) (key, value string, tombstone, ok bool) {
	for _, i := range ix.at(pos) {
		r := ix.reads[i]
		s := ix.sendOf[r.vid]
		return r.key, r.value, s != nil && s.send.Tombstone, true
	}
	for _, s := range ix.ackedAt(pos) {
		return s.send.Key, s.send.Value, s.send.Tombstone, true
	}
	return "", "", false, false
}

// keyRecord is one known record of a key of a compacted topic.
type keyRecord struct {
	offset    int64
	value     string
	tombstone bool
	op        int64 // the first op that shows it
	invokeNs  int64 // when its send was invoked (math.MaxInt64 if no send is known)
}

// keyIndex is what the history says about each key of the compacted
// topics: the known records of each partition's keys by offset, with the
// earliest invoke among each suffix, and the unknown-outcome sends of
// each topic's keys.
type keyIndex struct {
	records map[tp]map[string][]keyRecord
	// suffixMinInvoke[tp][key][i] is the earliest invokeNs of records[i:].
	suffixMinInvoke map[tp]map[string][]int64
	// unknown[topic][key]: the earliest invoke of a send of the key with
	// an unknown outcome, and whether any of them is a tombstone.
	unknown map[string]map[string]unknownSends
}

type unknownSends struct {
	firstInvokeNs int64
	tombstone     bool
}

// keys builds the key index of the compacted topics once.
func (ix *index) keys() *keyIndex {
	if ix.keyIx != nil {
		return ix.keyIx
	}
	kx := &keyIndex{records: map[tp]map[string][]keyRecord{}, suffixMinInvoke: map[tp]map[string][]int64{}, unknown: map[string]map[string]unknownSends{}}
	ix.keyIx = kx
	add := func(k tp, key string, r keyRecord) {
		if kx.records[k] == nil {
			kx.records[k] = map[string][]keyRecord{}
		}
		kx.records[k][key] = append(kx.records[k][key], r)
	}
	for _, k := range ix.tpIdx {
		if !ix.isCompacted(k.topic) {
			continue
		}
		p := ix.byTP[k]
		for _, i := range p.reads {
			r := ix.reads[i]
			if r.key == "" {
				continue
			}
			kr := keyRecord{offset: r.pos.Offset, value: r.value, op: r.op, invokeNs: math.MaxInt64}
			if s := ix.sendOf[r.vid]; s != nil {
				kr.tombstone, kr.invokeNs = s.send.Tombstone, ix.h[s.invoke].Time
			}
			add(k, r.key, kr)
		}
		for _, s := range p.acked {
			if s.send.Key != "" {
				add(k, s.send.Key, keyRecord{offset: s.send.Offset, value: s.send.Value, tombstone: s.send.Tombstone, op: s.op, invokeNs: ix.h[s.invoke].Time})
			}
		}
	}
	for k, byKey := range kx.records {
		kx.suffixMinInvoke[k] = map[string][]int64{}
		for key, rs := range byKey {
			slices.SortStableFunc(rs, func(a, b keyRecord) int { return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.op, b.op)) })
			mins := make([]int64, len(rs))
			m := int64(math.MaxInt64)
			for i := len(rs) - 1; i >= 0; i-- {
				m = min(m, rs[i].invokeNs)
				mins[i] = m
			}
			kx.suffixMinInvoke[k][key] = mins
		}
	}
	for _, s := range ix.sendList {
		unknownOutcome := s.typ == history.Info || (s.typ == history.OK && !s.send.Acked())
		if !unknownOutcome || s.send.Key == "" || !ix.isCompacted(s.send.Topic) {
			continue
		}
		if kx.unknown[s.send.Topic] == nil {
			kx.unknown[s.send.Topic] = map[string]unknownSends{}
		}
		u, seen := kx.unknown[s.send.Topic][s.send.Key]
		t := ix.h[s.invoke].Time
		if !seen || t < u.firstInvokeNs {
			u.firstInvokeNs = t
		}
		u.tombstone = u.tombstone || s.send.Tombstone
		kx.unknown[s.send.Topic][s.send.Key] = u
	}
	return kx
}

// keysOf returns the keys known in k, sorted.
func (kx *keyIndex) keysOf(k tp) []string {
	var out []string
	for key := range kx.records[k] {
		out = append(out, key)
	}
	slices.Sort(out)
	return out
}

// lastBelow returns the key's known record of the highest offset below hw.
func (kx *keyIndex) lastBelow(k tp, key string, hw int64) (keyRecord, bool) {
	rs := kx.records[k][key]
	i, _ := slices.BinarySearchFunc(rs, hw, func(r keyRecord, o int64) int { return cmp.Compare(r.offset, o) })
	if i == 0 {
		return keyRecord{}, false
	}
	return rs[i-1], true
}

// laterInvokedBefore reports whether a record of key known above offset
// and below hw in k, with another value than value, was sent (invoked)
// before t.
func (kx *keyIndex) laterInvokedBefore(k tp, key string, offset int64, value string, t, hw int64) bool {
	rs := kx.records[k][key]
	i, _ := slices.BinarySearchFunc(rs, offset+1, func(r keyRecord, o int64) int { return cmp.Compare(r.offset, o) })
	mins := kx.suffixMinInvoke[k][key]
	for ; i < len(rs) && rs[i].offset < hw && mins[i] < t; i++ {
		if rs[i].invokeNs < t && rs[i].value != value {
			return true
		}
	}
	return false
}

// unknownInvokedBefore reports whether a send of key to topic with an
// unknown outcome was invoked before t.
func (kx *keyIndex) unknownInvokedBefore(topic, key string, t int64) bool {
	u, ok := kx.unknown[topic][key]
	return ok && u.firstInvokeNs < t
}

// unknownTombstone reports whether a send of key to topic with an unknown
// outcome was a tombstone.
func (kx *keyIndex) unknownTombstone(topic, key string) bool {
	return kx.unknown[topic][key].tombstone
}
