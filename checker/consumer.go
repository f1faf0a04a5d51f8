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
	last := map[key]read{}
	for _, p := range ix.parts {
		k := key{p.session, p.process, p.tp}
		for i := range p.pr.Records {
			cur := ix.reads[p.firstRead+i]
			if prev, ok := last[k]; ok {
				fn(prev, cur, prev.op == cur.op)
			}
			last[k] = cur
		}
	}
}
