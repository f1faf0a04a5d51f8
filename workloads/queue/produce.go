package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// producerClient is one producer client shared by InFlight processes. It
// is replaced by a new incarnation, with a new id, when one of its sends
// ends info: the record may still be buffered or in flight in it, so the
// client is considered crashed with it, and so are the processes that had
// a send open in it (their sends end info as the client closes).
type producerClient struct {
	cfg  *Config
	host string // Config.HostDialer's
	ids  *counter

	mu    sync.Mutex
	cl    *kgo.Client
	id    int
	quota int // sends left when SendsPerProducer is set
	used  int
	next  time.Time // when the client's next send is due, with Rate
}

// due returns when the caller's next send is due: the client's sends are
// Poisson arrivals at Rate, whichever of its processes is free to make
// them, so a client reaches its rate as long as some process is free.
func (p *producerClient) due(rng *rand.Rand) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	p.next = p.next.Add(time.Duration(rng.ExpFloat64() * float64(time.Second) / p.cfg.Rate))
	return p.next
}

// take reports whether the client may send another record.
func (p *producerClient) take() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.quota > 0 && p.used >= p.quota {
		return false
	}
	p.used++
	return true
}

// send records the invoke of s by process and hands r to the live client
// (a new one if there is none) in one step, so that invokes are recorded
// in the order the client receives its records: that order is the one its
// acknowledged offsets must follow per partition. It returns the client's
// id, also stored in s.
func (p *producerClient) send(ctx context.Context, rec *history.Recorder, process int, s *history.Send, r *kgo.Record, promise func(*kgo.Record, error)) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cl == nil {
		cl, err := p.cfg.client(p.host)
		if err != nil {
			return 0, err
		}
		p.cl, p.id = cl, p.ids.next()
	}
	s.Client = p.id
	inv := *s
	rec.Record(history.Op{Process: process, Type: history.Invoke, F: history.FnSend, Send: &inv})
	p.cl.Produce(ctx, r, promise)
	return p.id, nil
}

// crash closes incarnation id if it is still the live one.
func (p *producerClient) crash(id int) {
	p.mu.Lock()
	cl := p.cl
	if p.id != id || cl == nil {
		p.mu.Unlock()
		return
	}
	p.cl = nil
	p.mu.Unlock()
	cl.Close() // fails its buffered records: their sends end info
}

func (p *producerClient) close() {
	p.mu.Lock()
	cl := p.cl
	p.cl = nil
	p.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

type produced struct {
	r   *kgo.Record
	err error
}

// produce sends records through pc, one at a time, until ctx ends or pc's
// quota is spent.
func (w *worker) produce(ctx context.Context, pc *producerClient) error {
	n := 0
	for pc.take() {
		if w.cfg.Rate > 0 && !sleep(ctx, time.Until(pc.due(w.rng))) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		s := history.Send{Topic: w.cfg.Topic, Value: fmt.Sprintf("p%d-%d", w.process, n), Partition: history.Unknown, Offset: history.Unknown}
		r := &kgo.Record{Topic: s.Topic, Value: []byte(s.Value)}
		if w.rng.Float64() >= w.cfg.UnkeyedShare {
			s.Key = fmt.Sprintf("k%d", w.rng.IntN(w.cfg.Keys))
			r.Key = []byte(s.Key)
		}
		n++
		done := make(chan produced, 1) // the promise may run after we stopped waiting
		client, err := pc.send(ctx, w.rec, w.process, &s, r, func(r *kgo.Record, err error) { done <- produced{r, err} })
		if err != nil {
			return err
		}
		t := time.NewTimer(w.cfg.OpTimeout)
		var res produced
		select {
		case res = <-done:
		case <-t.C:
			res.err = errors.New("no answer within the op timeout")
		case <-ctx.Done():
			res.err = fmt.Errorf("run ended: %w", ctx.Err())
		}
		t.Stop()

		switch {
		case res.err == nil && res.r != nil:
			s.Partition, s.Offset = res.r.Partition, res.r.Offset
			w.rec.Record(history.Op{Process: w.process, Type: history.OK, F: history.FnSend, Send: &s})
		case definiteFailure(res.err):
			w.rec.Record(history.Op{Process: w.process, Type: history.Fail, F: history.FnSend, Send: &s, Error: res.err.Error()})
		default:
			w.rec.Record(history.Op{Process: w.process, Type: history.Info, F: history.FnSend, Send: &s, Error: res.err.Error()})
			pc.crash(client)
			w.crashed()
			n = 0
		}
	}
	return nil
}
