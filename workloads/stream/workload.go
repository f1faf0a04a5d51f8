package stream

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Spec is a pipeline workload: producers feeding an input topic, and the
// processing application (Processor) that turns it into its outputs. The
// workloads (clickstream, payments, vitals) differ only in what they
// send, what their App does and how they are judged; Workload runs every
// one of them the same way.
type Spec struct {
	// Client creates the topics and makes every client.
	Client gen.ClientConfig
	// Topics are created by Run when they do not exist yet.
	Topics []gen.Topic
	// Duration is the safety phase's length.
	Duration time.Duration
	// Processor is the processing application's configuration, given the
	// run's process ids and client ids (shared with the producers).
	Processor func(procs *gen.Procs, ids *gen.Counter) Config
	// Producers feed the processor's input topic.
	Producers Producers
	// Barrier is the value of the attempt-th drain barrier of input
	// partition p (Drain.Barrier).
	Barrier func(p int32, attempt int) string
}

// Workload is one run of a pipeline workload: Run the safety phase, Finish
// once the cluster healed. Process ids and producer-client ids are the
// run's, shared by both phases.
type Workload struct {
	spec  Spec
	procs *gen.Procs
	ids   *gen.Counter
}

// NewWorkload returns a run of spec.
func NewWorkload(spec Spec) (*Workload, error) {
	if spec.Processor == nil || spec.Producers.NewClient == nil || spec.Barrier == nil {
		return nil, errors.New("stream: a workload needs Processor, Producers.NewClient and Barrier")
	}
	return &Workload{spec: spec, procs: &gen.Procs{}, ids: &gen.Counter{}}, nil
}

// Run creates the topics, then runs the producers and the processing
// application until the spec's Duration passes or ctx ends. The error is
// a harness error; what the clients saw is in the history.
func (w *Workload) Run(ctx context.Context, rec *history.Recorder) error {
	if err := gen.CreateTopics(ctx, w.spec.Client, w.spec.Topics...); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, w.spec.Duration)
	defer cancel()
	proc, err := New(w.spec.Processor(w.procs, w.ids), rec)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { proc.Run(ctx) })
	err = w.spec.Producers.Run(ctx, w.spec.Client, rec, w.procs, w.ids)
	cancel()
	wg.Wait()
	return err
}

// Finish ends the run once the cluster healed: a barrier to every input
// partition, the processing until it answered them, then the final reads
// of the input and (read_committed when the processor is transactional)
// of every output.
func (w *Workload) Finish(ctx context.Context, rec *history.Recorder) error {
	cfg := w.spec.Processor(w.procs, w.ids)
	finals := []gen.FinalTarget{{Topic: cfg.Input, Partitions: cfg.Partitions}}
	for _, out := range cfg.Outputs {
		finals = append(finals, gen.FinalTarget{Topic: out, Partitions: cfg.Partitions, ReadCommitted: cfg.Transactional})
	}
	return Drain{Processor: cfg, Barrier: w.spec.Barrier, Finals: finals}.Run(ctx, rec)
}

// Producers are a pipeline's input side: Clients producer clients
// (idempotent, acks=all, 2ms linger), each paced at Rate sends per second
// and shared by InFlight processes (lanes) that each keep one send open.
type Producers struct {
	Topic    string
	Clients  int
	InFlight int
	Rate     float64
	// NewClient prepares producer client i and returns how to make its
	// lanes, one per process. Both are called in a fixed order (client by
	// client, then lane by lane) before any send, so the random sources
	// they draw are the same run after run.
	NewClient func(i int) func(proc *gen.Process) Lane
}

// Lane is one producing process.
type Lane struct {
	// Rand paces the lane's sends.
	Rand *rand.Rand
	// Next returns the key and value of the lane's next record, now being
	// the history time (nanoseconds since the run began). It runs under
	// the client's lock, so the records of one client are drawn in the
	// order the client sends them (gen.Build).
	Next func(now int64) (key, value string)
}

// Run runs the producer clients until ctx ends. The error is a harness
// error (no client could be made).
func (p Producers) Run(ctx context.Context, cc gen.ClientConfig, rec *history.Recorder, procs *gen.Procs, ids *gen.Counter) error {
	g := gen.NewGroup(ctx)
	for i := range p.Clients {
		s := gen.NewSender(cc, ids, 0, p.Rate, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond))
		newLane := p.NewClient(i)
		var lanes []func(context.Context) error
		for range p.InFlight {
			proc := procs.New()
			l := newLane(proc)
			lanes = append(lanes, func(ctx context.Context) error { return p.lane(ctx, rec, s, proc, l) })
		}
		g.GoAll(lanes, s.Close)
	}
	return g.Wait()
}

// lane sends the lane's records, paced, until ctx ends.
func (p Producers) lane(ctx context.Context, rec *history.Recorder, s *gen.Sender, proc *gen.Process, l Lane) error {
	for ctx.Err() == nil {
		if !s.Pacer.Wait(ctx, l.Rand) {
			return nil
		}
		_, err := s.Send(ctx, rec, proc, func(int) (history.Send, *kgo.Record) {
			key, value := l.Next(rec.Now())
			return history.Send{Topic: p.Topic, Key: key, Value: value}, &kgo.Record{Topic: p.Topic, Key: []byte(key), Value: []byte(value)}
		})
		if err != nil {
			return err
		}
	}
	return nil
}
