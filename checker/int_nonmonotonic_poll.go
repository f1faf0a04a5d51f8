package checker

// intNonmonotonicPolls finds one poll whose records of a partition go
// backwards or repeat an offset (Jepsen's int-nonmonotonic-poll).
func intNonmonotonicPolls(ix *index, _ *Opts) finding {
	return finding{witnesses: backwards(ix, true)}
}
