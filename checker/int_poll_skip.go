package checker

// intPollSkips finds one poll whose successive records of a partition jump
// over an offset known to hold a record (Jepsen's int-poll-skip): a fetch
// returns a partition's records from its position on, with no holes but
// those no record is known in.
func intPollSkips(ix *index, _ *Opts) finding {
	return finding{witnesses: skips(ix, true)}
}
