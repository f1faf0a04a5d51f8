package main

// The selftest scenario is the HARNESS SELF-TEST, not a simulation of Weir:
// a small message-passing system that uses what the real world uses
// (goroutines, timers, time.AfterFunc, select over several ready channels,
// map iteration, buffered and unbuffered channels, the runtime's random
// numbers) so that sim/host's determinism can be checked end to end: the
// same seed must give the same trace.log, another seed another one.
//
// Model: W workers, each with a buffered inbox. A producer per worker sends
// messages to random workers for the safety phase (--duration). A worker
// that takes a message from its inbox acknowledges it after a random delay.
// Then a liveness phase gives the system a bound to deliver everything that
// was accepted into an inbox. The checker then says:
//   - invalid (1): a message was received twice, or was accepted and then
//     vanished (neither received nor still in an inbox): a lost write;
//   - liveness (2): accepted messages still sit in an inbox after the bound;
//   - valid (0) otherwise.
// The two selftest defects make a worker lose a message or stall, so that
// sweeps and failing-seed tables can be tested too.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

type selftestParams struct {
	Workers          int   `json:"workers"`
	InboxCap         int   `json:"inbox_cap"`
	SendGapUsMin     int64 `json:"send_gap_us_min"`
	SendGapUsMax     int64 `json:"send_gap_us_max"`
	AckDelayUsMax    int64 `json:"ack_delay_us_max"`
	HeartbeatMs      int64 `json:"heartbeat_ms"`
	LivenessBoundMs  int64 `json:"liveness_bound_ms"`
	DefectActive     bool  `json:"defect_active"`      // the --defect fires on this seed
	DefectAfterRecvs int   `json:"defect_after_recvs"` // ...after this many receives by worker 0
}

func selftestParamsFromSeed(p *params, rng *rand.Rand) {
	sp := &selftestParams{
		Workers:         2 + rng.IntN(7),
		InboxCap:        1 + rng.IntN(4),
		SendGapUsMin:    20_000 + rng.Int64N(30_000),
		AckDelayUsMax:   1 + rng.Int64N(20_000),
		HeartbeatMs:     100 + rng.Int64N(400),
		LivenessBoundMs: 5_000,
	}
	sp.SendGapUsMax = sp.SendGapUsMin + 1 + rng.Int64N(200_000)
	sp.DefectActive = p.Defect != "" && rng.IntN(2) == 0
	sp.DefectAfterRecvs = 1 + rng.IntN(50)
	p.Selftest = sp
}

// stOp is a line of history.jsonl.
type stOp struct {
	Type    string `json:"type"` // invoke, ok, fail
	F       string `json:"f"`
	Process int    `json:"process"`
	Value   uint64 `json:"value"`
}

type stMsg struct {
	ID       uint64
	From, To int
}

// stState is what the checker reads; workers and producers update it under mu.
type stState struct {
	mu       sync.Mutex
	accepted map[uint64]stMsg // in an inbox, acknowledged to the producer
	received map[uint64]int   // times taken out of an inbox by the addressee
	acked    int
	inboxes  []chan stMsg
}

func runSelftest(ctx context.Context, p params, out *output) int {
	sp := p.Selftest
	st := &stState{accepted: map[uint64]stMsg{}, received: map[uint64]int{}}
	for range sp.Workers {
		st.inboxes = append(st.inboxes, make(chan stMsg, sp.InboxCap))
	}
	out.Tracef("sim", "selftest start workers=%d inbox_cap=%d", sp.Workers, sp.InboxCap)

	safety, endSafety := context.WithTimeout(ctx, time.Duration(p.DurationNs))
	defer endSafety()
	workersCtx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()

	var producers, workers sync.WaitGroup
	for w := range sp.Workers {
		producers.Add(1)
		go func() {
			defer producers.Done()
			stProduce(safety, p, w, st, out)
		}()
		workers.Add(1)
		go func() {
			defer workers.Done()
			stWork(workersCtx, p, w, st, out)
		}()
	}
	producers.Wait()
	out.Tracef("sim", "safety phase over, liveness bound %dms", sp.LivenessBoundMs)

	// Liveness: everything accepted must be received within the bound. Wait
	// on a timer, never spin.
	bound := time.NewTimer(time.Duration(sp.LivenessBoundMs) * time.Millisecond)
	defer bound.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		st.mu.Lock()
		converged := len(st.received) >= len(st.accepted)
		st.mu.Unlock()
		if converged {
			break
		}
		select {
		case <-tick.C:
		case <-bound.C:
			break wait
		case <-ctx.Done():
			return exitHarness
		}
	}
	stopWorkers()
	workers.Wait()

	st.mu.Lock()
	defer st.mu.Unlock()
	queued := map[uint64]bool{}
	for _, in := range st.inboxes {
		for len(in) > 0 {
			queued[(<-in).ID] = true
		}
	}
	var dups, lost, stuck []uint64
	for id, n := range st.received {
		if n > 1 {
			dups = append(dups, id)
		}
	}
	for id := range st.accepted {
		if st.received[id] == 0 {
			if queued[id] {
				stuck = append(stuck, id)
			} else {
				lost = append(lost, id)
			}
		}
	}
	details := map[string]any{"accepted": len(st.accepted), "received": len(st.received), "acked": st.acked,
		"duplicated": len(dups), "lost": len(lost), "stuck": len(stuck)}
	out.Tracef("sim", "judge accepted=%d received=%d lost=%d dup=%d stuck=%d", len(st.accepted), len(st.received), len(lost), len(dups), len(stuck))
	switch {
	case len(dups) > 0 || len(lost) > 0:
		out.Verdict(exitInvalid, fmt.Sprintf("%d message(s) lost, %d duplicated", len(lost), len(dups)), details)
		return exitInvalid
	case len(stuck) > 0:
		out.Verdict(exitLiveness, fmt.Sprintf("%d accepted message(s) not delivered within %dms", len(stuck), sp.LivenessBoundMs), details)
		return exitLiveness
	}
	out.Verdict(exitValid, fmt.Sprintf("%d messages accepted, all delivered once", len(st.accepted)), details)
	return exitValid
}

// stProduce sends messages from worker w until ctx ends. Its gaps come from
// a stream of the seed; the target also mixes in the runtime's random
// numbers (seeded by the host), so both sources reach the trace.
func stProduce(ctx context.Context, p params, w int, st *stState, out *output) {
	sp := p.Selftest
	rng := rand.New(rand.NewPCG(p.Seed, uint64(w)))
	for n := uint64(0); ; n++ {
		gap := time.Duration(sp.SendGapUsMin+rng.Int64N(sp.SendGapUsMax-sp.SendGapUsMin)) * time.Microsecond
		select {
		case <-time.After(gap):
		case <-ctx.Done():
			return
		}
		m := stMsg{ID: uint64(w)<<32 | n, From: w, To: (rng.IntN(sp.Workers) + rand.IntN(2)) % sp.Workers}
		out.History(stOp{"invoke", "send", w, m.ID})
		select {
		case st.inboxes[m.To] <- m:
			st.mu.Lock()
			st.accepted[m.ID] = m
			st.mu.Unlock()
			out.Tracef(fmt.Sprintf("w%d", w), "send %x -> w%d", m.ID, m.To)
			out.History(stOp{"ok", "send", w, m.ID})
		case <-ctx.Done():
			out.History(stOp{"fail", "send", w, m.ID})
			return
		}
	}
}

// stWork receives worker w's messages until ctx ends, acknowledging each
// after a random delay, and traces a heartbeat with its per-sender counts
// in map order (randomized by the runtime, hence by the host's seed).
func stWork(ctx context.Context, p params, w int, st *stState, out *output) {
	sp := p.Selftest
	node := fmt.Sprintf("w%d", w)
	perSender := map[int]int{}
	hb := time.NewTicker(time.Duration(sp.HeartbeatMs) * time.Millisecond)
	defer hb.Stop()
	var pendingAcks sync.WaitGroup
	defer pendingAcks.Wait()
	recvs := 0
	faulty := w == 0 && sp.DefectActive
	for {
		if faulty && p.Defect == "selftest-stall" && recvs >= sp.DefectAfterRecvs {
			out.Tracef(node, "defect: stall")
			<-ctx.Done()
			return
		}
		select {
		case m := <-st.inboxes[w]:
			recvs++
			if faulty && p.Defect == "selftest-lose-message" && recvs == sp.DefectAfterRecvs {
				out.Tracef(node, "defect: drop %x", m.ID)
				continue
			}
			perSender[m.From]++
			st.mu.Lock()
			st.received[m.ID]++
			st.mu.Unlock()
			out.Tracef(node, "recv %x from w%d", m.ID, m.From)
			pendingAcks.Add(1)
			time.AfterFunc(time.Duration(rand.Int64N(sp.AckDelayUsMax))*time.Microsecond, func() {
				defer pendingAcks.Done()
				st.mu.Lock()
				st.acked++
				st.mu.Unlock()
			})
		case <-hb.C:
			line := ""
			for from, n := range perSender {
				line += fmt.Sprintf(" w%d:%d", from, n)
			}
			out.Tracef(node, "heartbeat%s", line)
		case <-ctx.Done():
			return
		}
	}
}
