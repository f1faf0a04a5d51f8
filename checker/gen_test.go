package checker

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/weir-dev/weir/history"
)

// genConfig shapes a generated history.
type genConfig struct {
	ops        int // about this many ops, the final read's included
	partitions int
	producers  int // processes sending, pipelined: perClient share a client
	perClient  int
	consumers  int
	seed       uint64
}

// genHistory simulates a correct broker under a queue workload: pipelined
// producers whose sends to a partition take effect in invoke order per
// client, each at an instant between its invoke and its ack; consumers
// whose polls return a partition's records from their position up to the
// high watermark at the instant they were answered; then a final read. The
// history it records is linearizable and has no anomaly.
func genHistory(c genConfig) []history.Op {
	g := &gen{c: c, rng: rand.New(rand.NewPCG(c.seed, 7)), logs: make([][]history.Record, c.partitions),
		lastApply: map[[2]int]int64{}, pos: map[int][]int64{}}
	for p := range c.producers {
		g.at(int64(1+g.rng.IntN(100)), func() { g.send(p) })
	}
	for i := range c.consumers {
		proc := c.producers + i
		g.at(int64(1+g.rng.IntN(100)), func() { g.assign(proc) })
	}
	for g.events.Len() > 0 && len(g.ops) < c.ops-6 {
		e := heap.Pop(&g.events).(event)
		g.now = e.t
		e.fn()
	}
	g.stopping = true
	for g.events.Len() > 0 {
		e := heap.Pop(&g.events).(event)
		g.now = e.t
		e.fn()
	}
	g.final()
	return g.ops
}

type gen struct {
	c         genConfig
	rng       *rand.Rand
	now       int64
	events    events
	seq       int
	ops       []history.Op
	logs      [][]history.Record
	lastApply map[[2]int]int64 // (client, partition) -> when its last record took effect
	pos       map[int][]int64  // consumer -> next offset per partition
	sent      int
	stopping  bool
}

func (g *gen) at(t int64, fn func()) {
	g.seq++
	heap.Push(&g.events, event{t: max(t, g.now), seq: g.seq, fn: fn})
}

func (g *gen) record(op history.Op) {
	op.Index, op.Time = int64(len(g.ops)), g.now
	g.ops = append(g.ops, op)
}

func (g *gen) send(proc int) {
	if g.stopping {
		return
	}
	client := proc/g.c.perClient + 1
	key := fmt.Sprintf("k%d", g.rng.IntN(16))
	p := int(g.rng.Uint32() % uint32(g.c.partitions))
	v := fmt.Sprintf("v%d", g.sent)
	g.sent++
	g.record(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend,
		Send: &history.Send{Client: client, Topic: "t", Key: key, Value: v, Partition: -1, Offset: -1}})
	apply := max(g.now+int64(1+g.rng.IntN(2000)), g.lastApply[[2]int{client, p}]+1)
	g.lastApply[[2]int{client, p}] = apply
	g.at(apply, func() {
		off := int64(len(g.logs[p]))
		g.logs[p] = append(g.logs[p], history.Record{Offset: off, Key: key, Value: v})
		g.at(g.now+int64(g.rng.IntN(2000)), func() {
			g.record(history.Op{Process: proc, Type: history.OK, F: history.FnSend,
				Send: &history.Send{Client: client, Topic: "t", Key: key, Value: v, Partition: int32(p), Offset: off}})
			g.at(g.now+int64(g.rng.IntN(300)), func() { g.send(proc) })
		})
	})
}

func (g *gen) assign(proc int) {
	ps := make([]int32, g.c.partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	a := &history.Assign{Topic: "t", Partitions: ps}
	g.record(history.Op{Process: proc, Type: history.Invoke, F: history.FnAssign, Assign: a})
	g.record(history.Op{Process: proc, Type: history.OK, F: history.FnAssign, Assign: a})
	g.pos[proc] = make([]int64, g.c.partitions)
	g.at(g.now+1, func() { g.poll(proc) })
}

// poll answers at a random instant of its interval with up to 50 records
// of each partition from the consumer's position up to the high watermark.
func (g *gen) poll(proc int) {
	if g.stopping {
		return
	}
	g.record(history.Op{Process: proc, Type: history.Invoke, F: history.FnPoll})
	g.at(g.now+int64(g.rng.IntN(3000)), func() {
		p := g.read(proc, 50)
		g.at(g.now+int64(g.rng.IntN(1000)), func() {
			g.record(history.Op{Process: proc, Type: history.OK, F: history.FnPoll, Poll: p})
			g.at(g.now+int64(1+g.rng.IntN(1000)), func() { g.poll(proc) })
		})
	})
}

func (g *gen) read(proc, most int) *history.Poll {
	var p history.Poll
	for part := range g.c.partitions {
		log := g.logs[part]
		from := g.pos[proc][part]
		to := min(from+int64(most), int64(len(log)))
		p.Reads = append(p.Reads, history.PartitionRead{Topic: "t", Partition: int32(part), HighWatermark: int64(len(log)),
			LogStartOffset: 0, Records: slices.Clone(log[from:to])})
		g.pos[proc][part] = to
	}
	return &p
}

func (g *gen) final() {
	const fp, rp = 1 << 30, 1<<30 + 1
	g.now++
	g.record(history.Op{Process: fp, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: int32(g.c.partitions), Reader: rp}})
	g.assign(rp)
	for {
		g.now++
		g.record(history.Op{Process: rp, Type: history.Invoke, F: history.FnPoll})
		p := g.read(rp, 1000)
		g.now++
		g.record(history.Op{Process: rp, Type: history.OK, F: history.FnPoll, Poll: p})
		done := true
		for part := range g.c.partitions {
			done = done && g.pos[rp][part] == int64(len(g.logs[part]))
		}
		if done {
			break
		}
	}
	f := &history.Final{Topic: "t", Partitions: int32(g.c.partitions), Reader: rp}
	for part := range g.c.partitions {
		n := int64(len(g.logs[part]))
		f.Marks = append(f.Marks, history.FinalMark{Partition: int32(part), HighWatermark: n, ReadTo: n, Complete: true})
	}
	g.now++
	g.record(history.Op{Process: fp, Type: history.OK, F: history.FnFinal, Final: f})
}

type event struct {
	t   int64
	seq int
	fn  func()
}

type events []event

func (h events) Len() int { return len(h) }
func (h events) Less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}
func (h events) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *events) Push(x any)   { *h = append(*h, x.(event)) }
func (h *events) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
