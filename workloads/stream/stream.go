package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// App is a processing application's logic. A member makes a new App for
// each incarnation (NewApp) and calls it from one goroutine.
type App interface {
	// Restore rebuilds input partition p's state from what the output
	// topics hold in partition p, by topic, in offset order.
	Restore(p int32, outputs map[string][]*kgo.Record)
	// Process handles a batch's input records, in the order polled (per
	// partition, offset order), and emits what comes out through b.
	Process(b *Batch, rs []*kgo.Record)
	// Committable is the offset to commit for partition p (at-least-once
	// only): the first input offset whose effects may still be needed,
	// at most next (one past the last record processed).
	Committable(p int32, next int64) int64
	// Drop forgets partition p.
	Drop(p int32)
}

// Batch collects one batch's output records.
type Batch struct {
	tag     string
	n       int
	outputs []*kgo.Record
}

// Unique returns a string no other output of the run gets: the member
// incarnation, batch and output number. Put it into every output value,
// so that each value names the write that carried it.
func (b *Batch) Unique() string {
	b.n++
	return fmt.Sprintf("%s.%d", b.tag, b.n)
}

// NewBatch returns an empty batch whose Unique values start with tag, for
// a harness that runs an App outside a Processor (package streamtest).
func NewBatch(tag string) *Batch { return &Batch{tag: tag} }

// Outputs returns the records emitted so far, in the order emitted.
func (b *Batch) Outputs() []*kgo.Record { return b.outputs }

// Emit writes value with key to partition p of topic.
func (b *Batch) Emit(topic string, p int32, key, value string) {
	b.outputs = append(b.outputs, &kgo.Record{Topic: topic, Partition: p, Key: []byte(key), Value: []byte(value)})
}

// Defects are planted bugs of the processing application (see doc.go);
// none is ever on by default.
type Defects struct {
	CommitBeforeWrite bool
	SkipRestore       bool
	NoTransaction     bool
	KeepStateOnAbort  bool
	ReadUncommitted   bool
}

// The group protocols of GroupMode.Protocol.
const (
	// ProtocolClassic is JoinGroup and SyncGroup, the members' assignor
	// (kgo's default, cooperative-sticky) choosing the assignment.
	ProtocolClassic = "classic"
	// ProtocolConsumer is KIP-848: ConsumerGroupHeartbeat, the
	// coordinator assigning (its "uniform" assignor, which kgo asks for
	// with cooperative-sticky) and moving partitions incrementally.
	ProtocolConsumer = history.ProtocolConsumer
)

// GroupMode is how a processor's members take part in their consumer
// group; the zero value is the classic protocol with dynamic members. A
// workload's Config embeds it, so its parameters record it.
type GroupMode struct {
	// Protocol is ProtocolClassic (or empty) or ProtocolConsumer.
	Protocol string `json:"group_protocol,omitempty"`
	// Static gives each member slot a group.instance.id of its own
	// (KIP-345), "<Group>-<slot>": every incarnation of the slot,
	// the drain's included, joins as that instance, so a restarted
	// member takes the place (and the assignment) of the one before
	// without a rebalance, and a static member that leaves cleanly sends
	// no LeaveGroup (classic) or leaves with epoch -2 (consumer): its
	// partitions wait for its next incarnation or its session's end.
	Static bool `json:"group_static,omitempty"`
}

// Consumer reports whether the members speak the consumer protocol.
func (g GroupMode) Consumer() bool { return g.Protocol == ProtocolConsumer }

// Name is the mode as `weir sim --group` names it: "classic,dynamic",
// "consumer,static", ... (not String: a Config embedding GroupMode would
// print as its mode alone).
func (g GroupMode) Name() string {
	p, m := ProtocolClassic, "dynamic"
	if g.Consumer() {
		p = ProtocolConsumer
	}
	if g.Static {
		m = "static"
	}
	return p + "," + m
}

// CheckGroupMode refuses a protocol that is neither classic nor consumer
// (a workload's WithDefaults calls it, so a bad parameter is refused
// when the workload is built, not when its processor starts).
func CheckGroupMode(g GroupMode) error {
	if g.Protocol != "" && g.Protocol != ProtocolClassic && g.Protocol != ProtocolConsumer {
		return fmt.Errorf("stream: unknown group protocol %q (known: %s, %s)", g.Protocol, ProtocolClassic, ProtocolConsumer)
	}
	return nil
}

// Config is one processing application.
type Config struct {
	Group      string   // the consumer group; required
	Input      string   // the input topic; required
	Partitions int32    // the input's partitions (every output has as many)
	Outputs    []string // the output topics
	// Transactional runs each batch in a Kafka transaction
	// (GroupTransactSession, read_committed); else at-least-once.
	Transactional bool
	NewApp        func() App
	// GroupMode is the members' group protocol and membership.
	GroupMode

	Members int // member slots, default 2
	// Lifetime is the mean life of an incarnation, counted from its first
	// assignment (0: until the run ends): a rebalance of the classic
	// protocol can take seconds (see doc.go), and an incarnation that
	// ended before it got partitions would only cause rebalances.
	Lifetime time.Duration
	// Stagger delays the first incarnation of every slot but the first,
	// default 3.5s (just over group.initial.rebalance.delay.ms, 3s): the
	// first member then forms the group after the initial delay alone,
	// where members joining together make the coordinator extend it
	// (6s). Negative: every slot starts at once.
	Stagger     time.Duration
	Downtime    time.Duration // mean time before a slot starts again, default 500ms
	CrashShare  float64       // share of departures that are crashes
	CrashChance float64       // chance per batch of a crash inside it
	AbortChance float64       // transactional: chance per batch of an abort on purpose
	MaxBatch    int           // input records per batch, default 200

	// TxnTimeout is the transactions' timeout: how long a crashed
	// member's open transaction holds readers back. Default 10s.
	TxnTimeout time.Duration
	// RestoreTimeout bounds one restore, default 30s.
	RestoreTimeout time.Duration

	Client gen.ClientConfig
	Procs  *gen.Procs
	IDs    *gen.Counter // client incarnation ids, shared with the run's producers
	Rand   *rand.Rand
	Defects
}

func (c *Config) withDefaults() error {
	if c.Group == "" || c.Input == "" || c.NewApp == nil || c.Procs == nil || c.IDs == nil || c.Rand == nil {
		return errors.New("stream: Group, Input, NewApp, Procs, IDs and Rand are required")
	}
	if c.Partitions <= 0 {
		return errors.New("stream: no partitions")
	}
	if err := CheckGroupMode(c.GroupMode); err != nil {
		return err
	}
	if c.Members <= 0 {
		c.Members = 2
	}
	if c.Stagger == 0 {
		c.Stagger = 3500 * time.Millisecond
	}
	if c.Downtime <= 0 {
		c.Downtime = 500 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 200
	}
	if c.TxnTimeout <= 0 {
		c.TxnTimeout = 10 * time.Second
	}
	if c.RestoreTimeout <= 0 {
		c.RestoreTimeout = 30 * time.Second
	}
	return nil
}

// Processor is a running processing application.
type Processor struct {
	cfg Config
	rec *history.Recorder

	mu        sync.Mutex
	committed map[int32]int64 // the highest offset committed per input partition
	batches   int
}

// New returns a processor for cfg recording into rec.
func New(cfg Config, rec *history.Recorder) (*Processor, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	return &Processor{cfg: cfg, rec: rec, committed: map[int32]int64{}}, nil
}

// Run runs the members until ctx ends, then lets each finish its batch and
// leave the group. It returns once every member is gone.
func (p *Processor) Run(ctx context.Context) {
	rngs := make([]*rand.Rand, p.cfg.Members)
	for i := range rngs {
		rngs[i] = gen.Child(p.cfg.Rand)
	}
	var wg sync.WaitGroup
	for slot := range p.cfg.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runSlot(ctx, slot, rngs[slot])
		}()
	}
	wg.Wait()
}

// runSlot runs incarnations of one member slot until ctx ends.
func (p *Processor) runSlot(ctx context.Context, slot int, rng *rand.Rand) {
	var closing sync.WaitGroup
	defer closing.Wait()
	if slot > 0 && p.cfg.Stagger > 0 && !gen.Sleep(ctx, p.cfg.Stagger) {
		return
	}
	for incarnation := 0; ctx.Err() == nil; incarnation++ {
		var life time.Duration
		if p.cfg.Lifetime > 0 {
			life = gen.Exp(rng, p.cfg.Lifetime)
		}
		m := &member{p: p, slot: slot, rng: rng, proc: p.cfg.Procs.New(), closing: &closing,
			crashAtEnd: p.cfg.Lifetime > 0 && rng.Float64() < p.cfg.CrashShare}
		m.run(ctx, life)
		if !gen.Sleep(ctx, gen.Exp(rng, p.cfg.Downtime)) {
			return
		}
	}
}

// instanceID names member slot slot for good: its transactional id (so a
// new incarnation fences the one before) and, with static members, its
// group.instance.id. The drain's processor has the same slots, so its
// members take the places of the safety phase's.
func (p *Processor) instanceID(slot int) string { return fmt.Sprintf("%s-%d", p.cfg.Group, slot) }

// Committed returns the highest offset committed for input partition
// part, -1 if none.
func (p *Processor) Committed(part int32) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o, ok := p.committed[part]; ok {
		return o
	}
	return -1
}

// WaitCommitted waits until every partition's committed offset is above
// its target offset, or ctx ends (false).
func (p *Processor) WaitCommitted(ctx context.Context, targets map[int32]int64) bool {
	for {
		done := true
		for part, o := range targets {
			if p.Committed(part) <= o {
				done = false
			}
		}
		if done {
			return true
		}
		if !gen.Sleep(ctx, 100*time.Millisecond) {
			return false
		}
	}
}

// Batches returns how many batches were committed.
func (p *Processor) Batches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.batches
}

func (p *Processor) noteCommitted(offsets map[int32]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.batches++
	for part, o := range offsets {
		p.committed[part] = max(p.committed[part], o)
	}
}
