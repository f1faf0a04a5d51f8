package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
)

// FinalProcess is the process id of FinalReads' ops. Run numbers its
// processes from 0 upward, far below it.
const FinalProcess = 1 << 30

// Run creates the topic if it does not exist, then runs the producers and
// consumers until cfg.Duration passes, ctx ends, or every producer sent
// cfg.SendsPerProducer records, recording every operation in rec. Every op
// it invokes is completed before it returns. The error is a harness error
// (bad configuration, the topic could not be created), never a client's
// failure: those are in the history.
func Run(ctx context.Context, cfg Config, rec *history.Recorder) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if err := CreateTopic(ctx, cfg); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	// Split the randomness before anything runs concurrently.
	stride := cfg.Producers + cfg.Consumers
	rngs := make([]*rand.Rand, stride)
	for i := range rngs {
		rngs[i] = child(cfg.Rand)
	}

	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	producersDone := make(chan struct{})
	var pwg sync.WaitGroup
	for i := range cfg.Producers {
		w := &worker{cfg: &cfg, rec: rec, rng: rngs[i], process: i, stride: stride}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			if err := w.produce(ctx); err != nil {
				fail(err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		pwg.Wait()
		close(producersDone)
	}()
	// Consumers poll until the run ends, or until the producers are done
	// and they had one more PollTimeout to catch up.
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-producersDone:
			t := time.NewTimer(cfg.PollTimeout)
			defer t.Stop()
			select {
			case <-t.C:
			case <-cctx.Done():
			}
			ccancel()
		case <-cctx.Done():
		}
	}()
	for i := range cfg.Consumers {
		w := &worker{cfg: &cfg, rec: rec, rng: rngs[cfg.Producers+i], process: cfg.Producers + i, stride: stride}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.consume(cctx, i%2 == 0); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// CreateTopic creates cfg's topic with its partitions and replication
// factor; a topic that already exists is fine.
func CreateTopic(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	cl, err := cfg.client()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Faults may be under way from the first moment (a crash, a failing
	// disk): keep trying until the topic exists or the run ends, as an
	// operator's tooling would.
	for {
		resp, err := adm.CreateTopic(ctx, cfg.Partitions, cfg.ReplicationFactor, nil, cfg.Topic)
		if err == nil {
			err = resp.Err
		}
		if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
			return nil
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("queue: create topic %s: %w (last error: %v)", cfg.Topic, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// worker is one producer or consumer. Its process id changes after an info
// (the old process is considered crashed) by stride, so ids stay unique.
type worker struct {
	cfg     *Config
	rec     *history.Recorder
	rng     *rand.Rand
	process int
	stride  int
}

func (w *worker) crashed() { w.process += w.stride }

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

type produced struct {
	r   *kgo.Record
	err error
}

func (w *worker) produce(ctx context.Context) error {
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	var interval time.Duration
	if w.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / w.cfg.Rate)
	}
	n := 0
	for sent := 0; w.cfg.SendsPerProducer == 0 || sent < w.cfg.SendsPerProducer; sent++ {
		// Exponential gaps: a Poisson process at Rate per producer.
		if interval > 0 && !sleep(ctx, time.Duration(w.rng.ExpFloat64()*float64(interval))) {
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if cl == nil {
			var err error
			if cl, err = w.cfg.client(); err != nil {
				return err
			}
		}
		s := history.Send{
			Topic:     w.cfg.Topic,
			Key:       fmt.Sprintf("k%d", w.rng.IntN(w.cfg.Keys)),
			Value:     fmt.Sprintf("p%d-%d", w.process, n),
			Partition: history.Unknown,
			Offset:    history.Unknown,
		}
		n++
		inv := s
		w.rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnSend, Send: &inv})

		done := make(chan produced, 1) // the promise may run after we stopped waiting
		cl.Produce(ctx, &kgo.Record{Topic: s.Topic, Key: []byte(s.Key), Value: []byte(s.Value)},
			func(r *kgo.Record, err error) { done <- produced{r, err} })
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
			// The record may still be buffered or in flight in this
			// client; a crashed process starts over with a new one.
			cl.Close()
			cl = nil
			w.crashed()
			n = 0
		}
	}
	return nil
}

// consume polls until ctx ends. It starts with subscribe if subscribe is
// set, else with assign, and before each poll may re-assign or re-subscribe.
func (w *worker) consume(ctx context.Context, subscribe bool) error {
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for ctx.Err() == nil {
		if cl == nil || w.rng.Float64() < w.cfg.ReassignChance {
			if cl != nil {
				cl.Close()
				subscribe = w.rng.IntN(2) == 0
			}
			var err error
			if cl, err = w.start(subscribe); err != nil {
				return err
			}
		}
		w.poll(ctx, cl)
	}
	return nil
}

// start records an assign or subscribe and returns the client doing it.
func (w *worker) start(subscribe bool) (*kgo.Client, error) {
	var op history.Op
	var opt kgo.Opt
	if subscribe {
		op = history.Op{F: history.FnSubscribe, Subscribe: &history.Subscribe{Topics: []string{w.cfg.Topic}}}
		opt = kgo.ConsumeTopics(w.cfg.Topic)
	} else {
		// A random non-empty subset of the partitions.
		var ps []int32
		for len(ps) == 0 {
			for p := range w.cfg.Partitions {
				if w.rng.IntN(2) == 0 {
					ps = append(ps, p)
				}
			}
		}
		op = history.Op{F: history.FnAssign, Assign: &history.Assign{Topic: w.cfg.Topic, Partitions: ps}}
		opt = assignOpt(w.cfg.Topic, ps)
	}
	inv := op
	inv.Process, inv.Type = w.process, history.Invoke
	w.rec.Record(inv)
	cl, err := w.cfg.client(opt, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	op.Process, op.Type = w.process, history.OK
	if err != nil {
		op.Type, op.Error = history.Fail, err.Error()
	}
	w.rec.Record(op)
	return cl, err
}

func assignOpt(topic string, ps []int32) kgo.Opt {
	m := make(map[int32]kgo.Offset, len(ps))
	for _, p := range ps {
		m[p] = kgo.NewOffset().AtStart()
	}
	return kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: m})
}

// poll records one PollFetches of cl, bounded by PollTimeout.
func (w *worker) poll(ctx context.Context, cl *kgo.Client) history.Poll {
	w.rec.Record(history.Op{Process: w.process, Type: history.Invoke, F: history.FnPoll})
	pctx, cancel := context.WithTimeout(ctx, w.cfg.PollTimeout)
	fs := cl.PollFetches(pctx)
	cancel()
	p, errs := pollValue(fs)
	op := history.Op{Process: w.process, Type: history.OK, F: history.FnPoll, Poll: &p}
	if len(errs) > 0 {
		op.Error = errs
		if len(p.Reads) == 0 {
			op.Type = history.Fail
		}
	}
	w.rec.Record(op)
	return p
}

// pollValue turns fetches into a poll value, partitions sorted, plus the
// errors other than the poll's own deadline.
func pollValue(fs kgo.Fetches) (history.Poll, string) {
	var p history.Poll
	fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
		if len(ftp.Records) == 0 {
			return
		}
		rs := make([]history.Record, len(ftp.Records))
		for i, r := range ftp.Records {
			rs[i] = history.Record{Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)}
		}
		p.Reads = append(p.Reads, history.PartitionRead{Topic: ftp.Topic, Partition: ftp.Partition, Records: rs})
	})
	// One fetch per broker, so a partition appears once; the stable sort
	// keeps the client's order if it ever appears twice.
	slices.SortStableFunc(p.Reads, func(a, b history.PartitionRead) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition) - int(b.Partition)
	})
	var errs string
	for _, fe := range fs.Errors() {
		if errors.Is(fe.Err, context.DeadlineExceeded) || errors.Is(fe.Err, context.Canceled) {
			continue
		}
		if errs != "" {
			errs += "; "
		}
		errs += fmt.Sprintf("%s/%d: %v", fe.Topic, fe.Partition, fe.Err)
	}
	return p, errs
}
