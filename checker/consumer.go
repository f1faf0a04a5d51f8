package checker

// consumerReads walks each consumer session's reads of each partition in
// the order the client returned them, calling fn for every successive pair
// with whether both came in the same op. A session is one client: an assign
// or subscribe starts a new one, which reads from the log start again.
func consumerReads(ix *index, fn func(prev, cur read, sameOp bool)) {
	type key struct {
		session, process int
		tp               tp
	}
	last := map[key]int{} // index in reads of the last record read
	for _, p := range ix.parts {
		n := len(p.pr.Records)
		if n == 0 {
			continue
		}
		k := key{p.session, p.process, p.tp}
		prev, ok := last[k]
		for i := p.firstRead; i < p.firstRead+n; i++ {
			if ok {
				fn(ix.reads[prev], ix.reads[i], ix.reads[prev].op == ix.reads[i].op)
			}
			prev, ok = i, true
		}
		last[k] = prev
	}
}
