package gen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// Sender is one producer client shared by several processes, each with one
// send open. It is replaced by a new incarnation, with a new id, when one
// of its sends ends info: the record may still be buffered or in flight in
// it, so the client is considered crashed with it, and so are the processes
// that had a send open in it (their sends end info as the client closes).
type Sender struct {
	cc      ClientConfig
	opts    []kgo.Opt
	ids     *Counter
	timeout time.Duration
	// Pacer spreads the client's sends (Poisson arrivals at its Rate).
	Pacer Pacer

	mu    sync.Mutex
	cl    *kgo.Client
	id    int
	quota int // sends left when positive
	used  int
}

// NewSender returns a Sender whose client incarnations are built from cc
// and opts (acks, linger, idempotence...) and numbered by ids. quota ends
// it after that many sends (0: no end); rate paces its sends (0: back to
// back).
func NewSender(cc ClientConfig, ids *Counter, quota int, rate float64, opts ...kgo.Opt) *Sender {
	op, _ := cc.Timeouts()
	return &Sender{cc: cc, opts: opts, ids: ids, quota: quota, timeout: op, Pacer: Pacer{Rate: rate}}
}

// Take reports whether the client may send another record (its quota).
func (s *Sender) Take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quota > 0 && s.used >= s.quota {
		return false
	}
	s.used++
	return true
}

// Build makes one send: given the id of the client incarnation that will
// carry it, the history value (Partition and Offset Unknown) and the
// record. It runs under the Sender's lock, so values that must follow the
// client's order (a per-key sequence number) are drawn in that order.
type Build func(client int) (history.Send, *kgo.Record)

// Send issues one send for process p and waits for its outcome, bounded by
// the op timeout and ctx, recording the invoke and the completion in rec:
// ok with the acknowledged position, fail for a definite failure, info
// otherwise (then p crashes and so does the client incarnation). It
// returns the completion. The error is a harness error (no client could be
// made), never the send's: that is in the history.
func (s *Sender) Send(ctx context.Context, rec *history.Recorder, p *Process, build Build) (history.Op, error) {
	type produced struct {
		r   *kgo.Record
		err error
	}
	done := make(chan produced, 1) // the promise may run after we stopped waiting
	snd, client, err := s.invoke(ctx, rec, p.ID, build, func(r *kgo.Record, err error) { done <- produced{r, err} })
	if err != nil {
		return history.Op{}, err
	}
	t := time.NewTimer(s.timeout)
	var res produced
	select {
	case res = <-done:
	case <-t.C:
		res.err = errors.New("no answer within the op timeout")
	case <-ctx.Done():
		res.err = fmt.Errorf("run ended: %w", ctx.Err())
	}
	t.Stop()
	var op history.Op
	switch {
	case res.err == nil && res.r != nil:
		snd.Partition, snd.Offset = res.r.Partition, res.r.Offset
		op = rec.Record(history.Op{Process: p.ID, Type: history.OK, F: history.FnSend, Send: &snd})
	case DefiniteFailure(res.err):
		op = rec.Record(history.Op{Process: p.ID, Type: history.Fail, F: history.FnSend, Send: &snd, Error: res.err.Error()})
	default:
		op = rec.Record(history.Op{Process: p.ID, Type: history.Info, F: history.FnSend, Send: &snd, Error: res.err.Error()})
		s.crash(client)
		p.Crash()
	}
	return op, nil
}

// invoke records the invoke of the send build makes and hands its record
// to the live client (a new one if there is none) in one step, so that
// invokes are recorded in the order the client receives its records.
func (s *Sender) invoke(ctx context.Context, rec *history.Recorder, process int, build Build, promise func(*kgo.Record, error)) (history.Send, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		cl, err := s.cc.New(s.opts...)
		if err != nil {
			return history.Send{}, 0, err
		}
		s.cl, s.id = cl, s.ids.Next()
	}
	snd, r := build(s.id)
	snd.Client, snd.Partition, snd.Offset = s.id, history.Unknown, history.Unknown
	inv := snd
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnSend, Send: &inv})
	s.cl.Produce(ctx, r, promise)
	return snd, s.id, nil
}

// crash closes incarnation id if it is still the live one.
func (s *Sender) crash(id int) {
	s.mu.Lock()
	cl := s.cl
	if s.id != id || cl == nil {
		s.mu.Unlock()
		return
	}
	s.cl = nil
	s.mu.Unlock()
	cl.Close() // fails its buffered records: their sends end info
}

// Close closes the live client.
func (s *Sender) Close() {
	s.mu.Lock()
	cl := s.cl
	s.cl = nil
	s.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}
