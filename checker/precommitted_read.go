package checker

import "fmt"

// precommittedReads is Jepsen's precommitted-read: a transaction that
// polls a value it sent itself, before committing. Kafka consumers never
// see uncommitted records. The queue workload sends no transactions yet
// (issue 13), so there is nothing to check; a history that has
// transactional ops is reported not checkable, never clean.
func precommittedReads(ix *index, _ *Opts) finding {
	return needsTransactions(ix, PrecommittedRead)
}

// needsTransactions is the finding of a checker of transactional anomalies
// that is not written yet.
func needsTransactions(ix *index, name string) finding {
	if ix.txns == 0 {
		return finding{notChecked: "needs transactional histories (issue 13): this history has no transactional txn ops"}
	}
	return finding{unknown: []Unjudged{{Reason: NotCheckable, Check: name,
		Detail: fmt.Sprintf("%d transactional txn ops, and %s is not checked yet", ix.txns, name)}}}
}
