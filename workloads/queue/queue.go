package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Process ids of FinalReads: the final op, and the final reader's assign
// and polls. Run numbers its processes from 0 upward, far below them.
const (
	FinalProcess = gen.FinalProcess
	FinalReader  = FinalProcess + 1
)

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

	// Split the randomness, and number the processes, before anything
	// runs concurrently.
	per := cfg.lanesPerProducer()
	lanes := cfg.Producers * per
	procs := &gen.Procs{}
	workers := make([]*worker, lanes+cfg.Consumers)
	for i := range workers {
		workers[i] = &worker{cfg: &cfg, rec: rec, rng: gen.Child(cfg.Rand), proc: procs.New()}
	}
	compacted := newCompactedWorkers(&cfg, rec, procs)

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
	ids := &gen.Counter{}
	producersDone := make(chan struct{})
	var pwg sync.WaitGroup
	for i := range cfg.Producers {
		if cfg.Txn != nil {
			h := newTxnHost(&cfg, producerHost(i), ids)
			for j := range per {
				w := workers[i*per+j]
				pwg.Add(1)
				go func() {
					defer pwg.Done()
					if err := w.produceTxns(ctx, h, fmt.Sprintf("%s-txn-%d-%d", cfg.Topic, i, j)); err != nil {
						fail(err)
					}
				}()
			}
			continue
		}
		s := gen.NewSender(cfg.clientConfig(producerHost(i)), ids, cfg.SendsPerProducer, cfg.Rate, cfg.producerOpts()...)
		var lanes []func() error
		for _, w := range workers[i*cfg.InFlight : (i+1)*cfg.InFlight] {
			lanes = append(lanes, func() error { return w.produce(ctx, s) })
		}
		startLanes(s, &pwg, fail, lanes)
	}
	// Consumers poll until the run ends, or until the producers are done
	// and they had one more PollTimeout to catch up.
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	compacted.start(ctx, cctx, &cfg, ids, &pwg, &wg, fail)
	wg.Add(1)
	go func() {
		defer wg.Done()
		pwg.Wait()
		close(producersDone)
	}()
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
	if cfg.Group.Name != "" && cfg.Group.RestartEvery > 0 {
		// Drawn from a generator split off after the workers', so that
		// theirs stay what they were.
		slots := make([]chan struct{}, cfg.Consumers)
		for i := range slots {
			slots[i] = make(chan struct{})
			workers[lanes+i].restart = slots[i]
		}
		rng := gen.Child(cfg.Rand)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rollingRestarts(cctx, &cfg.Group, rng, slots)
		}()
	}
	for i := range cfg.Consumers {
		w := workers[lanes+i]
		w.host = consumerHost(i)
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
// factor (and, in the compacted mode, the compacted topic); a topic that
// already exists is fine.
func CreateTopic(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	configs := map[string]*string{}
	for k, v := range cfg.TopicConfigs {
		configs[k] = &v
	}
	topics := []gen.Topic{{Name: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor, Configs: configs}}
	if t := cfg.compactedTopic(); t != nil {
		topics = append(topics, *t)
	}
	if err := gen.CreateTopics(ctx, cfg.clientConfig(adminHost), topics...); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	return nil
}

// worker is one logical process: a producer lane or a consumer. Its process
// id changes after an info (the old process is considered crashed).
type worker struct {
	cfg  *Config
	rec  *history.Recorder
	rng  *rand.Rand
	proc *gen.Process
	host string // a consumer's, for Config.HostDialer
	// restart, for a group member's slot, receives the rolling restarts
	// (GroupConfig.RestartEvery) that end its incarnation.
	restart chan struct{}
	txns    int // a transactional producer's transactions so far (txn.go)
}

// startLanes runs each lane of one producer client's sender on a goroutine
// of its own and closes s once every lane is done, all under pwg; a lane's
// error goes to fail.
func startLanes(s *gen.Sender, pwg *sync.WaitGroup, fail func(error), lanes []func() error) {
	var lwg sync.WaitGroup
	for _, lane := range lanes {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			if err := lane(); err != nil {
				fail(err)
			}
		}()
	}
	pwg.Add(1)
	go func() {
		defer pwg.Done()
		lwg.Wait()
		s.Close()
	}()
}
