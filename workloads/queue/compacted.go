package queue

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// The compacted mode (Config.Compacted): besides the queue's topic, a
// topic with cleanup.policy=compact that a producer client of its own
// writes keyed records to, overwriting a few keys again and again and
// deleting some (tombstones: a null value, the unique history value in the
// history.TombstoneHeader header), and that a consumer of its own reads
// from the start again and again, so that its reads cross the gaps the log
// cleaner leaves. The final read reads it too, marked compacted
// (history.Final.Compacted): the checkers judge it by the last record of
// each key (checker/compaction_lost_key.go), the contract Kafka's log
// compaction keeps.

// CompactedConfig is the compacted mode. Zero fields take the defaults
// noted.
type CompactedConfig struct {
	// Topic is the compacted topic's name; default the queue's topic with
	// "-kv" appended.
	Topic      string
	Partitions int32 // default 1
	// TopicConfigs are the topic's configs at creation besides
	// cleanup.policy=compact (segment.bytes, min.cleanable.dirty.ratio,
	// delete.retention.ms, say); the queue's min.insync.replicas unless
	// they set one.
	TopicConfigs map[string]string
	// Processes share the mode's producer client, each with one send open;
	// default 4. Rate is the client's sends per second (Poisson), default
	// 20.
	Processes int
	Rate      float64
	// Keys is how many keys the records overwrite, default 20, drawn with
	// Zipf's law (s=1.1): a few hot keys are overwritten again and again,
	// so most records are superseded and the cleaner has work, while the
	// cold ones are written rarely, so their last record often sits in a
	// segment the cleaner rewrites (where a cleaner that keeps the wrong
	// record shows).
	Keys int
	// TombstoneShare is the share of sends that are tombstones, default
	// 0.15; negative: none.
	TombstoneShare float64
	// ReassignChance is the chance, before each poll, that the mode's
	// consumer starts reading from the log start again; default 0.05.
	ReassignChance float64
}

// The client hosts of the compacted mode (Config.ClientHosts).
const (
	compactedProducerHost = "kv-producer"
	compactedConsumerHost = "kv-consumer"
)

func (c *CompactedConfig) withDefaults(queueTopic string, queueConfigs map[string]string) {
	gen.Default(&c.Topic, queueTopic+"-kv")
	gen.Default(&c.Partitions, 1)
	gen.Default(&c.Processes, 4)
	gen.Default(&c.Rate, 20)
	gen.Default(&c.Keys, 20)
	gen.Default(&c.TombstoneShare, 0.15)
	gen.Default(&c.ReassignChance, 0.05)
	configs := map[string]string{}
	if v, ok := queueConfigs["min.insync.replicas"]; ok {
		configs["min.insync.replicas"] = v
	}
	maps.Copy(configs, c.TopicConfigs)
	configs["cleanup.policy"] = "compact"
	c.TopicConfigs = configs
}

// compactedTopic is the compacted topic to create, or nil.
func (c *Config) compactedTopic() *gen.Topic {
	if c.Compacted == nil {
		return nil
	}
	configs := map[string]*string{}
	for _, k := range slices.Sorted(maps.Keys(c.Compacted.TopicConfigs)) {
		v := c.Compacted.TopicConfigs[k]
		configs[k] = &v
	}
	return &gen.Topic{Name: c.Compacted.Topic, Partitions: c.Compacted.Partitions, ReplicationFactor: c.ReplicationFactor, Configs: configs}
}

// compactedWorkers are the compacted mode's processes: the producer
// client's, then the consumer. Made before anything runs, after the
// queue's own, so that the queue's processes and randomness stay what
// they were without the mode.
type compactedWorkers struct {
	producers []*worker
	consumer  *worker
}

func newCompactedWorkers(cfg *Config, rec *history.Recorder, procs *gen.Procs) *compactedWorkers {
	if cfg.Compacted == nil {
		return nil
	}
	kw := &compactedWorkers{}
	for range cfg.Compacted.Processes {
		kw.producers = append(kw.producers, &worker{cfg: cfg, rec: rec, rng: gen.Child(cfg.Rand), proc: procs.New()})
	}
	kw.consumer = &worker{cfg: cfg, rec: rec, rng: gen.Child(cfg.Rand), proc: procs.New(), host: compactedConsumerHost}
	return kw
}

// start runs the mode's producers (until ctx ends or the queue's quota is
// spent) under pwg and its consumer (until cctx ends) under wg; fail gets
// a harness error.
func (kw *compactedWorkers) start(ctx, cctx context.Context, cfg *Config, ids *gen.Counter, pwg, wg *sync.WaitGroup, fail func(error)) {
	if kw == nil {
		return
	}
	kc := cfg.Compacted
	s := gen.NewSender(cfg.clientConfig(compactedProducerHost), ids, cfg.SendsPerProducer, kc.Rate, cfg.producerOpts()...)
	var lanes []func() error
	for _, w := range kw.producers {
		lanes = append(lanes, func() error { return w.produceCompacted(ctx, s) })
	}
	startLanes(s, pwg, fail, lanes)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := kw.consumer.consumeCompacted(cctx); err != nil {
			fail(err)
		}
	}()
}

// produceCompacted sends keyed records and tombstones to the compacted
// topic through s until ctx ends or s's quota is spent. Values are
// "kv<process>-<n>", unique like the queue's.
func (w *worker) produceCompacted(ctx context.Context, s *gen.Sender) error {
	kc := w.cfg.Compacted
	keys := rand.NewZipf(w.rng, 1.1, 1, uint64(max(kc.Keys, 1)-1))
	n := 0
	for s.Take() {
		if !s.Pacer.Wait(ctx, w.rng) {
			return nil
		}
		key := fmt.Sprintf("k%d", keys.Uint64())
		tombstone := w.rng.Float64() < kc.TombstoneShare
		value := fmt.Sprintf("kv%d-%d", w.proc.ID, n)
		n++
		before := w.proc.ID
		_, err := s.Send(ctx, w.rec, w.proc, func(int) (history.Send, *kgo.Record) {
			return compactedRecord(kc.Topic, key, value, tombstone)
		})
		if err != nil {
			return err
		}
		if w.proc.ID != before {
			n = 0
		}
	}
	return nil
}

// compactedRecord is one send to the compacted topic and its record: a
// tombstone has a null value and carries value in its header.
func compactedRecord(topic, key, value string, tombstone bool) (history.Send, *kgo.Record) {
	snd := history.Send{Topic: topic, Key: key, Value: value, Tombstone: tombstone}
	r := &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}
	if tombstone {
		r.Value = nil
		r.Headers = []kgo.RecordHeader{{Key: history.TombstoneHeader, Value: []byte(value)}}
	}
	return snd, r
}

// consumeCompacted reads the compacted topic, subscribed without a group,
// from its start, starting again from the start before a poll with
// CompactedConfig.ReassignChance, until ctx ends.
func (w *worker) consumeCompacted(ctx context.Context) error {
	var cl *kgo.Client
	defer func() {
		if cl != nil {
			cl.Close()
		}
	}()
	for ctx.Err() == nil {
		if cl == nil || w.rng.Float64() < w.cfg.Compacted.ReassignChance {
			if cl != nil {
				cl.Close()
			}
			var err error
			if cl, err = w.subscribe(w.cfg.Compacted.Topic); err != nil {
				return err
			}
		}
		w.poll(ctx, cl)
		gen.Sleep(ctx, w.cfg.PollInterval)
	}
	return nil
}

// subscribe records a subscribe to topic from its start and returns the
// client doing it.
func (w *worker) subscribe(topic string) (*kgo.Client, error) {
	op := history.Op{F: history.FnSubscribe, Subscribe: &history.Subscribe{Topics: []string{topic}}}
	inv := op
	inv.Process, inv.Type = w.proc.ID, history.Invoke
	w.rec.Record(inv)
	cl, err := w.cfg.client(w.host, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	op.Process, op.Type = w.proc.ID, history.OK
	if err != nil {
		op.Type, op.Error = history.Fail, err.Error()
	}
	w.rec.Record(op)
	return cl, err
}

// compactedFinal is the final read of the compacted topic (the run's
// second), if the mode is on.
func compactedFinal(ctx context.Context, cfg *Config, rec *history.Recorder) error {
	if cfg.Compacted == nil {
		return nil
	}
	kc := cfg.Compacted
	return gen.FinalRead(ctx, cfg.clientConfig(finalHost), rec, 1, gen.FinalTarget{Topic: kc.Topic, Partitions: kc.Partitions, Compacted: true})
}
