package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/history"
)

// Process ids of FinalReads: the final op, and the final reader's assign
// and polls. Run numbers its processes from 0 upward, far below them.
const (
	FinalProcess = 1 << 30
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

	// Split the randomness before anything runs concurrently.
	lanes := cfg.Producers * cfg.InFlight
	stride := lanes + cfg.Consumers
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
	ids := &counter{}
	producersDone := make(chan struct{})
	var pwg sync.WaitGroup
	for i := range cfg.Producers {
		pc := &producerClient{cfg: &cfg, host: producerHost(i), ids: ids, quota: cfg.SendsPerProducer}
		var lwg sync.WaitGroup
		for j := range cfg.InFlight {
			lane := i*cfg.InFlight + j
			w := &worker{cfg: &cfg, rec: rec, rng: rngs[lane], process: lane, stride: stride}
			lwg.Add(1)
			go func() {
				defer lwg.Done()
				if err := w.produce(ctx, pc); err != nil {
					fail(err)
				}
			}()
		}
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			lwg.Wait()
			pc.close()
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
		w := &worker{cfg: &cfg, host: consumerHost(i), rec: rec, rng: rngs[lanes+i], process: lanes + i, stride: stride}
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
	cl, err := cfg.client(adminHost)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Faults may be under way from the first moment (a crash, a failing
	// disk): keep trying until the topic exists or the run ends, as an
	// operator's tooling would.
	for {
		configs := map[string]*string{}
		for k, v := range cfg.TopicConfigs {
			configs[k] = &v
		}
		resp, err := adm.CreateTopic(ctx, cfg.Partitions, cfg.ReplicationFactor, configs, cfg.Topic)
		if err == nil {
			err = resp.Err
		}
		if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
			return nil
		}
		if !sleep(ctx, 500*time.Millisecond) {
			return fmt.Errorf("queue: create topic %s: %w (last error: %v)", cfg.Topic, ctx.Err(), err)
		}
	}
}

// worker is one logical process: a producer lane or a consumer. Its process
// id changes after an info (the old process is considered crashed) by
// stride, so ids stay unique.
type worker struct {
	cfg     *Config
	host    string // a consumer's host (Config.HostDialer)
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

// counter hands out client ids 1, 2, 3, ...
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.n
}
