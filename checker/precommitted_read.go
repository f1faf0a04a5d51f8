package checker

import (
	"fmt"

	"github.com/weir-dev/weir/history"
)

// precommittedReads finds records of a transaction that a reader saw
// before the transaction committed. In Kafka's model a transaction's
// records are invisible to every read_committed reader until its producer
// asked to commit and the markers were written, so
//   - a transactional txn op never reads a value it sent itself (Jepsen's
//     precommitted-read);
//   - a read_committed poll that completed before the writing transaction
//     asked to commit (history.Txn.CommitTime) read it too early;
//   - a read_committed read of a transaction that ended info without ever
//     asking to commit (its producer crashed or gave up first) saw records
//     that can only be aborted.
//
// A failed (aborted) transaction's records read are aborted-read, not
// this. Reads of read_uncommitted readers are not judged.
func precommittedReads(ix *index, _ *Opts) finding {
	if ix.txns == 0 {
		return finding{notChecked: noTransactions}
	}
	var f finding
	f.witnesses = append(f.witnesses, ownWrites(ix)...)
	for vid, rs := range ix.valueReads {
		s := ix.sendOf[vid]
		if s == nil || !s.txn || s.typ == history.Fail {
			continue
		}
		commit := ix.commitTime(s)
		for _, i := range rs {
			r := ix.reads[i]
			part := ix.parts[r.part]
			if !part.readCommitted || part.op == s.op {
				continue
			}
			readNs := ix.h[r.op].Time
			var why string
			switch {
			case commit == 0 && s.typ == history.Info:
				why = fmt.Sprintf("its transaction (op %d) ended info without asking to commit (%s)", s.op, ix.h[s.op].Error)
			case commit > 0 && readNs < commit:
				why = fmt.Sprintf("its transaction (op %d) asked to commit only at %.3fs", s.op, history.Seconds(commit))
			default:
				continue
			}
			f.witnesses = append(f.witnesses, Witness{
				Positions: []Position{r.pos},
				Values:    []string{s.send.Value},
				Ops:       uniqueSorted([]int64{s.op, r.op}),
				Detail:    fmt.Sprintf("read_committed op %d read %s at %s by %.3fs, but %s", r.op, s.send.Value, r.pos, history.Seconds(readNs), why),
			})
			break
		}
	}
	return f
}

// ownWrites finds transactional txn ops whose polls returned a value the
// same op sent.
func ownWrites(ix *index) []Witness {
	var out []Witness
	for i := range ix.h {
		op := &ix.h[i]
		if op.Txn == nil || !op.Txn.Transactional || op.Type == history.Invoke {
			continue
		}
		if w, ok := ownWrite(op); ok {
			out = append(out, w)
		}
	}
	return out
}

// ownWrite returns the first value op both sent and read.
func ownWrite(op *history.Op) (Witness, bool) {
	sent := map[string]bool{}
	for _, s := range op.Sends() {
		sent[s.Value] = true
	}
	for _, pr := range op.Reads() {
		for _, r := range pr.Records {
			if sent[r.Value] {
				pos := Position{pr.Topic, pr.Partition, r.Offset}
				return Witness{Positions: []Position{pos}, Values: []string{r.Value}, Ops: []int64{op.Index},
					Detail: fmt.Sprintf("transaction op %d read its own uncommitted write %s at %s", op.Index, r.Value, pos)}, true
			}
		}
	}
	return Witness{}, false
}

// commitTime is when the transaction that sent s asked to commit, 0 if
// it never did (or s was not sent in a transaction).
func (ix *index) commitTime(s *sendRec) int64 {
	if t := ix.h[s.op].Txn; t != nil && s.txn {
		return t.CommitTime
	}
	return 0
}

// noTransactions is the note of a transactional checker on a history
// without transactions.
const noTransactions = "this history has no transactional txn ops"
