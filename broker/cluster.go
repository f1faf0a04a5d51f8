package broker

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/controller"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/quorum"
	"github.com/weir-dev/weir/broker/record"
)

// metadataDir is the quorum's folder in the data dir, as Kafka names it.
const metadataDir = "__cluster_metadata"

// quorumConfig is the quorum member cfg describes. Without voters it is a
// one-voter quorum of this node alone: a single broker is the same code as
// a cluster.
func quorumConfig(cfg Config, deps Deps) (quorum.Config, error) {
	var vs []quorum.Voter
	standalone := cfg.ControllerQuorumVoters == ""
	if standalone && !cfg.HasRole(RoleController) {
		return quorum.Config{}, errors.New("process.roles=broker needs controller.quorum.voters: the controllers to follow")
	}
	if standalone {
		// A cluster of one that nobody else can join: no listener.
		vs = []quorum.Voter{{ID: cfg.NodeID}}
	} else {
		var err error
		if vs, err = quorum.ParseVoters(cfg.ControllerQuorumVoters); err != nil {
			return quorum.Config{}, err
		}
	}
	isVoter := false
	for _, v := range vs {
		isVoter = isVoter || v.ID == cfg.NodeID
	}
	if isVoter != cfg.HasRole(RoleController) {
		if isVoter {
			return quorum.Config{}, fmt.Errorf("node %d is in controller.quorum.voters but process.roles has no controller role", cfg.NodeID)
		}
		return quorum.Config{}, fmt.Errorf("process.roles has the controller role but node %d is not in controller.quorum.voters (%s)", cfg.NodeID, cfg.ControllerQuorumVoters)
	}
	defaults, err := metadata.NewDefaults(cfg.TopicDefaults)
	if err != nil {
		return quorum.Config{}, err
	}
	ctl := controller.DefaultConfig()
	ctl.DefaultPartitions = cfg.NumPartitions
	ctl.DefaultReplicationFactor = cfg.DefaultReplicationFactor
	ctl.MaxPartitionsPerTopic = maxTopicPartitions
	if cfg.SessionTimeout > 0 {
		ctl.SessionTimeout = cfg.SessionTimeout
	}
	ctl.Defects = cfg.Defects.Controller
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return quorum.Config{}, err
	}
	return quorum.Config{
		NodeID: cfg.NodeID, Voters: vs, ListenAddr: cfg.ControllerListenAddr, Standalone: standalone,
		Dir: filepath.Join(cfg.DataDir, metadataDir),
		FS:  deps.FS, Net: deps.Net, Clock: deps.Clock,
		Rand:       rand.New(rand.NewPCG(le64(seed[:8]), le64(seed[8:]))),
		Defaults:   defaults,
		Controller: ctl,
		Logger:     cfg.Logger.With("component", "quorum"),
		Observer:   cfg.QuorumObserver,
		// Zero: the quorum's defaults (50ms ticks, a 1s election timeout,
		// 100ms heartbeats).
		TickInterval:   cfg.QuorumTickInterval,
		ElectionTicks:  cfg.QuorumElectionTicks,
		HeartbeatTicks: cfg.QuorumHeartbeatTicks,
	}, nil
}

func le64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// startQuorum starts this node's member of the metadata quorum.
func startQuorum(ctx context.Context, cfg Config, deps Deps) (*quorum.Node, error) {
	qc, err := quorumConfig(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := deps.FS.MkdirAll(qc.Dir, 0o755); err != nil {
		return nil, err
	}
	return quorum.Start(ctx, qc)
}

// StartController runs a controller-only node (process.roles=controller):
// a voter of the metadata quorum with no Kafka listener and no partitions.
// It stops when ctx ends or Close is called on the node.
func StartController(ctx context.Context, cfg Config, deps Deps) (*quorum.Node, error) {
	if cfg.HasRole(RoleBroker) {
		return nil, errors.New("StartController is for process.roles=controller; a broker runs Open")
	}
	if err := deps.FS.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return startQuorum(ctx, cfg, deps)
}

// MetadataState is what this broker knows of the cluster's metadata: its
// quorum member's view (leader, term, committed and applied offsets) and
// the image its reconciler applied. The simulator's liveness phase
// compares it across brokers.
func (b *Broker) MetadataState() (quorum.Status, *metadata.Image) {
	return b.quorum.Status(), b.image()
}

// LogEnds is what this broker's replica of a partition holds: its log's
// end offset and its high watermark; ok is false where the broker holds
// no replica of it. The simulator's lone-leader window reads it to pick
// a partition the workload writes to, and to crash a leader only once it
// has committed writes alone.
func (b *Broker) LogEnds(topic string, index int32) (end, highWatermark int64, ok bool) {
	b.mu.RLock()
	p := b.topics[topic].partition(index)
	b.mu.RUnlock()
	if p == nil {
		return 0, 0, false
	}
	return p.EndOffset(), p.HighWatermark(), true
}

// ReplicaBatches calls fn on every batch this broker's replica of a
// partition holds, from its log start, in offset order, and stops at fn's
// first error, which it returns; ok is false where the broker holds no
// replica of it. The simulator's liveness phase compares a partition's
// replicas with it.
func (b *Broker) ReplicaBatches(topic string, index int32, fn func(*record.Batch) error) (ok bool, err error) {
	b.mu.RLock()
	p := b.topics[topic].partition(index)
	b.mu.RUnlock()
	if p == nil {
		return false, nil
	}
	return true, p.Batches(p.StartOffset(), fn)
}

// session is the broker's registration with the controller.
type session struct {
	mu      sync.Mutex
	epoch   int64 // the broker epoch of the current registration; -1 before one
	fenced  bool
	leaving bool          // controlled shutdown asked for
	left    chan struct{} // closed once the controller said ShouldShutdown
}

func (s *session) brokerEpoch() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// startSession starts runSession once: at Open when the advertised port is
// known, else at Listen.
func (b *Broker) startSession() {
	b.sessionStart.Do(func() {
		b.wg.Add(1)
		go b.runSession()
	})
}

// runSession registers this broker with the controller and heartbeats
// until the broker stops, registering again whenever the controller no
// longer knows this registration (STALE_BROKER_EPOCH after a controller
// restart of the session, BROKER_ID_NOT_REGISTERED).
func (b *Broker) runSession() {
	defer b.wg.Done()
	interval := b.cfg.HeartbeatInterval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	for b.ctx.Err() == nil {
		if b.session.brokerEpoch() < 0 {
			if err := b.register(); err != nil {
				b.log.Debug("broker registration failed; retrying", "err", err)
				b.sleep(interval / 2)
				continue
			}
			// The controller unfences a broker that has applied the
			// log up to its registration: heartbeat once it has.
			epoch := b.session.brokerEpoch()
			ctx, cancel := context.WithTimeout(b.ctx, interval)
			b.waitApplied(ctx, func(img *metadata.Image) bool { return int64(img.Offset().Index) >= epoch })
			cancel()
		}
		b.heartbeat()
		if b.session.brokerEpoch() >= 0 {
			b.sleep(interval)
		}
	}
}

// sleep waits d on the broker's clock, or until the broker stops.
func (b *Broker) sleep(d time.Duration) {
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-b.ctx.Done():
	}
}

func (b *Broker) register() error {
	host, port := b.hostPort()
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID = b.cfg.NodeID
	req.IncarnationID = b.incarnation
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = "PLAINTEXT", host, uint16(port)
	req.Listeners = append(req.Listeners, l)
	if b.cfg.Rack != "" {
		rack := b.cfg.Rack
		req.Rack = &rack
	}
	resp, err := b.quorum.Submit(b.ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.BrokerRegistrationResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return err
	}
	b.session.mu.Lock()
	b.session.epoch, b.session.fenced = r.BrokerEpoch, true
	b.session.mu.Unlock()
	b.log.Info("registered with the controller", "broker_epoch", r.BrokerEpoch)
	return nil
}

// heartbeat sends one heartbeat; while a controlled shutdown is asked for
// it says so, and closes session.left once the controller agrees.
func (b *Broker) heartbeat() {
	b.session.mu.Lock()
	epoch, leaving := b.session.epoch, b.session.leaving
	b.session.mu.Unlock()
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch, req.WantShutdown = b.cfg.NodeID, epoch, leaving
	req.CurrentMetadataOffset = int64(b.image().Offset().Index)
	resp, err := b.quorum.Submit(b.ctx, req)
	if err != nil {
		b.log.Debug("heartbeat failed", "err", err)
		return
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	b.session.mu.Lock()
	defer b.session.mu.Unlock()
	switch err := kerr.ErrorForCode(r.ErrorCode); {
	case errors.Is(err, kerr.StaleBrokerEpoch), errors.Is(err, kerr.BrokerIDNotRegistered):
		b.log.Warn("the controller no longer knows this registration; registering again", "err", err)
		b.session.epoch = -1
	case err != nil:
		b.log.Debug("heartbeat refused", "err", err)
	default:
		if b.session.fenced != r.IsFenced {
			b.log.Info("broker fencing changed", "fenced", r.IsFenced)
		}
		b.session.fenced = r.IsFenced
		if leaving && r.ShouldShutdown && b.session.left != nil {
			close(b.session.left)
			b.session.left = nil
		}
	}
}

// controlledShutdownTimeout bounds how long Close waits for the controller
// to move this broker's leadership away.
const controlledShutdownTimeout = 5 * time.Second

// controlledShutdown asks the controller to move leadership away from this
// broker and waits (bounded) until it has, as Kafka does on SIGTERM. With
// no controller reachable the broker stops anyway.
func (b *Broker) controlledShutdown() {
	b.session.mu.Lock()
	if b.session.epoch < 0 || b.ctx.Err() != nil {
		b.session.mu.Unlock()
		return
	}
	left := make(chan struct{})
	b.session.leaving, b.session.left = true, left
	b.session.mu.Unlock()
	go b.heartbeat() // don't wait for the next tick
	t := b.clock.NewTimer(controlledShutdownTimeout)
	defer t.Stop()
	select {
	case <-left:
		b.log.Info("controlled shutdown: leadership moved away")
	case <-t.C():
		b.log.Warn("controlled shutdown: the controller did not answer in time; stopping anyway")
	case <-b.ctx.Done():
	}
}
