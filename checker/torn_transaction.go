package checker

// tornTransactions will find a committed transaction only part of whose
// sends are visible (or an aborted one partly visible beyond aborted-read).
// It needs transactional histories (issue 13): until then it checks
// nothing and says so, and a history with transactional ops is not
// checkable.
func tornTransactions(ix *index, _ *Opts) finding {
	return needsTransactions(ix, TornTransaction)
}
