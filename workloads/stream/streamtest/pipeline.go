package streamtest

import (
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/stream"
)

// Config is the processing application a Pipeline runs: the fields of
// stream.Config that decide what a member does.
type Config struct {
	Input         string
	Partitions    int32
	Outputs       []string
	Transactional bool
	NewApp        func() stream.App
	stream.Defects
}

// Pipeline is a processing application's group on a Cluster: the
// committed input offsets, shared by its members.
type Pipeline struct {
	c         *Cluster
	cfg       Config
	committed map[int32]int64
}

// NewPipeline returns a group with nothing committed.
func NewPipeline(c *Cluster, cfg Config) *Pipeline {
	return &Pipeline{c: c, cfg: cfg, committed: map[int32]int64{}}
}

// Committed is the committed offset of input partition p (0 if none).
func (pl *Pipeline) Committed(p int32) int64 { return pl.committed[p] }

// Member is one member incarnation: one history process, one client, one
// App. It holds every partition it is asked to process; the test decides
// who holds what (two live members on one partition is a zombie, which
// a transactional group fences and the test should not script).
type Member struct {
	pl       *Pipeline
	app      stream.App
	process  int
	client   int
	batches  int
	restored map[int32]bool
	next     map[int32]int64
	dead     bool
}

// Member starts a new incarnation. It restores a partition's state from
// the outputs before its first batch of that partition.
func (pl *Pipeline) Member() *Member {
	return &Member{pl: pl, app: pl.cfg.NewApp(), process: pl.c.newProcess(), client: pl.c.newClient(),
		restored: map[int32]bool{}, next: map[int32]int64{}}
}

// End is how a batch ends.
type End int

const (
	Commit            End = iota // write, then commit (the offsets in the transaction, or after the writes)
	Abort                        // transactional: write, then abort on purpose (the session rewinds)
	CrashBeforeWrite             // crash after processing, before anything is written
	CrashBeforeCommit            // crash after writing, before committing (the transaction stays open until a read_committed reader waits out its timeout)
)

// Revoke takes partition p from the member: it forgets p.
func (m *Member) Revoke(p int32) {
	m.app.Drop(p)
	delete(m.restored, p)
	delete(m.next, p)
}

// Batch processes up to n input records of partition p from where the
// member is (the committed offset after a restore) and ends the batch as
// end says, recording it as package stream does: a txn op with the
// outputs as sends (none when the batch emitted nothing), ok when
// committed, fail when aborted, info when the member crashed. It returns
// how many input records the batch held. A crashed member does nothing
// more.
func (m *Member) Batch(p int32, n int, end End) int {
	if m.dead {
		return 0
	}
	cfg := &m.pl.cfg
	m.restore(p)
	from, ok := m.next[p]
	if !ok {
		from = m.pl.committed[p]
	}
	rs := m.pl.c.read(cfg.Input, p, from, cfg.Transactional)
	rs = rs[:min(n, len(rs))]
	if len(rs) == 0 {
		return 0
	}
	m.batches++
	b := stream.NewBatch(fmt.Sprintf("c%d.%d", m.client, m.batches))
	m.app.Process(b, rs)
	next := rs[len(rs)-1].Offset + 1
	m.next[p] = next
	outs := b.Outputs()
	var t *history.Txn
	if len(outs) > 0 {
		t = m.invoke(outs)
	}
	commitOffset := next
	if !cfg.Transactional {
		commitOffset = m.app.Committable(p, next)
	}
	if cfg.CommitBeforeWrite {
		m.pl.committed[p] = next // planted: commit what was consumed before writing
	}
	if end == CrashBeforeWrite {
		m.complete(t, history.Info, "crashed before writing")
		m.dead = true
		return len(rs)
	}
	state := m.write(outs, t)
	switch {
	case end == CrashBeforeCommit:
		if t != nil {
			for i := range t.Mops {
				t.Mops[i].Send.Partition, t.Mops[i].Send.Offset = history.Unknown, history.Unknown
			}
		}
		m.complete(t, history.Info, "crashed before committing")
		m.dead = true
		// The transaction stays open until its timeout: the next
		// read_committed reader waits it out (a read_uncommitted one sees
		// its records).
		m.pl.c.open = append(m.pl.c.open, state)
	case end == Abort && cfg.Transactional:
		*state = txnAborted
		m.complete(t, history.Fail, "aborted on purpose")
		delete(m.next, p)
		if !cfg.KeepStateOnAbort {
			delete(m.restored, p)
		}
	default:
		if t != nil && cfg.Transactional {
			t.CommitTime = m.pl.c.Rec.Now()
		}
		*state = txnCommitted
		if !cfg.CommitBeforeWrite {
			m.pl.committed[p] = commitOffset
		}
		m.complete(t, history.OK, "")
	}
	return len(rs)
}

// Drain processes everything left in partition p, committing.
func (m *Member) Drain(p int32, batch int) {
	for m.Batch(p, batch, Commit) > 0 {
	}
}

// restore rebuilds p's state from the outputs, once per holding.
func (m *Member) restore(p int32) {
	if m.restored[p] {
		return
	}
	cfg := &m.pl.cfg
	m.app.Drop(p)
	delete(m.next, p)
	m.restored[p] = true
	if cfg.SkipRestore {
		return
	}
	outs := map[string][]*kgo.Record{}
	for _, topic := range cfg.Outputs {
		outs[topic] = m.pl.c.readPartition(m.process, topic, p, cfg.Transactional, cfg.Transactional && !cfg.ReadUncommitted)
	}
	m.app.Restore(p, outs)
}

func (m *Member) invoke(outs []*kgo.Record) *history.Txn {
	transactional := m.pl.cfg.Transactional
	inv := &history.Txn{Transactional: transactional}
	done := &history.Txn{Transactional: transactional}
	for _, r := range outs {
		s := history.Send{Client: m.client, Topic: r.Topic, Key: string(r.Key), Value: string(r.Value), Partition: history.Unknown, Offset: history.Unknown}
		si, sd := s, s
		inv.Mops = append(inv.Mops, history.Mop{F: history.FnSend, Send: &si})
		done.Mops = append(done.Mops, history.Mop{F: history.FnSend, Send: &sd})
	}
	m.pl.c.Rec.Record(history.Op{Process: m.process, Type: history.Invoke, F: history.FnTxn, Txn: inv})
	return done
}

// write appends the outputs, in one open transaction when the pipeline is
// transactional (and the planted NoTransaction is off), and fills in
// their positions in t. The returned state is the transaction's.
func (m *Member) write(outs []*kgo.Record, t *history.Txn) *txnState {
	state := new(txnState)
	in := m.pl.cfg.Transactional && !m.pl.cfg.NoTransaction
	for i, r := range outs {
		s := &stored{key: string(r.Key), value: string(r.Value)}
		if in {
			s.txn = state
		}
		o := m.pl.c.append(r.Topic, r.Partition, s)
		t.Mops[i].Send.Partition, t.Mops[i].Send.Offset = r.Partition, o
	}
	return state
}

func (m *Member) complete(t *history.Txn, typ history.Type, err string) {
	if t == nil {
		return
	}
	m.pl.c.Rec.Record(history.Op{Process: m.process, Type: typ, F: history.FnTxn, Txn: t, Error: err})
}

// Finish is a workload's end as stream.Drain does it: a barrier (its
// attempt-0 value) to every input partition, a new member that processes
// every partition to its end, then the final reads of the input
// (read_uncommitted) and of every output (read_committed when
// transactional).
func (pl *Pipeline) Finish(barrier func(p int32, attempt int) string) {
	pl.FinishWith(pl.Member(), barrier)
}

// FinishWith is Finish with m, a member still alive, doing the draining
// (it keeps the state it has).
func (pl *Pipeline) FinishWith(m *Member, barrier func(p int32, attempt int) string) {
	pr := pl.c.Producer()
	for p := range pl.cfg.Partitions {
		pr.Send(pl.cfg.Input, p, "", barrier(p, 0))
	}
	for p := range pl.cfg.Partitions {
		m.Drain(p, 50)
	}
	pl.c.Final(0, pl.cfg.Input, pl.cfg.Partitions, false)
	for i, topic := range slices.Clone(pl.cfg.Outputs) {
		pl.c.Final(i+1, topic, pl.cfg.Partitions, pl.cfg.Transactional)
	}
}

// From takes a Pipeline's Config from a stream configuration.
func From(sc stream.Config) Config {
	return Config{Input: sc.Input, Partitions: sc.Partitions, Outputs: sc.Outputs, Transactional: sc.Transactional,
		NewApp: sc.NewApp, Defects: sc.Defects}
}
