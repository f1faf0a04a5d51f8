package world

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kmsg"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/quorum"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/internal/invariants"
	"github.com/weir-dev/weir/runfolder"
	"github.com/weir-dev/weir/sim/simnet"
)

// Config describes a world.
type Config struct {
	// Nodes is the number of brokers; 0 means 1. Brokers are named n1,
	// n2, ... and have node ids 1, 2, ...
	Nodes int
	// Controllers, when positive, is the number of dedicated controllers
	// (process.roles=controller), named c1, c2, ... with node ids
	// ControllerIDBase+1, ...: they alone are the voters of the metadata
	// quorum, and the brokers (process.roles=broker) follow it as
	// learners. 0 is KRaft's combined mode: every broker is also a voter.
	Controllers int
	// Port is every broker's port; 0 means 9092. Brokers listen on and
	// advertise "<node>:<port>".
	Port int
	// ControllerPort is every node's controller listener; 0 means 9093.
	// Every node listens on "<node>:<controller port>": a voter for the
	// quorum's traffic, a broker of a cluster with dedicated controllers
	// for the log the leader sends its learners.
	ControllerPort int
	// QuorumObserver, if set, is every broker's quorum.Config.Observer:
	// the metadata checker records a quorum.History with it.
	QuorumObserver func(quorum.Event)
	// Defects are copied into every broker's config.
	Defects broker.Defects
	// Broker, if set, adjusts a node's broker config after the world filled
	// in NodeID, ListenAddr, AdvertisedAddr, DataDir, Defects and Logger.
	// It is called for dedicated controllers too (their TopicDefaults
	// resolve the topic configs of the images they build, which must be
	// the brokers').
	Broker func(node string, cfg *broker.Config)
	// Net configures the network; its Clock and Trace are set by the world.
	Net simnet.Options
	// TraceNet includes the network's events (connects, resets, ...) in
	// the trace; faults and kills are traced either way.
	TraceNet bool
	// Clock is the world's time; nil means env.RealClock (virtual in the
	// guest). Each node's clock is this plus the node's offset.
	Clock env.Clock
	// LivenessTimeout bounds the liveness phase; 0 means 60s.
	LivenessTimeout time.Duration
	// SyncLatency is how long every fsync of every disk takes, as on a
	// real disk (~0.2 ms on the reference machine). Without it a sync is
	// instant and a crash can never land between a write and its fsync.
	SyncLatency time.Duration
	// LogLevel is the lowest broker log level copied into the trace; the
	// zero value is Info, so use slog.LevelWarn (the usual) or higher to
	// keep the trace short.
	LogLevel slog.Level
	// Trace, if set, receives each trace line as it is recorded.
	Trace func(line string)
	// Start is when the run began, the origin of the trace's and the fault
	// records' times; zero means when New is called.
	Start time.Time
}

const dataDir = "/weir"

// ControllerIDBase is added to a dedicated controller's number for its
// node id: c1 is node 101. Brokers keep ids 1 to Nodes.
const ControllerIDBase = 100

// ErrLiveness is wrapped by Run's error when the healed cluster did not
// converge within the liveness timeout.
var ErrLiveness = errors.New("liveness: the healed cluster did not converge")

// World is a simulated cluster; see the package comment.
type World struct {
	cfg   Config
	clock env.Clock
	start time.Time
	net   *simnet.Network
	nodes []*machine // in name order
	ctx   context.Context
	stop  context.CancelFunc

	mu      sync.Mutex // guards rng and started
	rng     *rand.Rand
	started bool

	traceMu sync.Mutex
	lines   []string

	breachMu sync.Mutex // leaf; also guards faultLog
	breaches []invariants.Breach
	faultLog []runfolder.Fault

	loneMu sync.Mutex // taken before a node's mu; guards lone
	lone   *loneLeader
}

// machine is one node: a disk, a host, a clock and, while up, a broker
// or, for a dedicated controller, a quorum node.
type machine struct {
	w    *World
	name string
	id   int32
	// controller: a dedicated controller (process.roles=controller),
	// which runs ctl and never b.
	controller bool

	mu     sync.Mutex // guards the fields below
	disk   *memfs.FS
	b      *broker.Broker
	ctl    *quorum.Node
	cancel context.CancelFunc
	// served is closed when the incarnation stopped serving: the broker's
	// Serve returned, or the controller's quorum node stopped.
	served      <-chan struct{}
	logMute     *atomic.Bool // the current incarnation's logger stops at its crash
	up          bool
	incarnation int
	// retrying is set while a retry of a failed start is pending
	// (retryStartLocked): one chain of retries at a time.
	retrying bool

	clock *nodeClock

	// starting is set while startLocked opens a broker (recovery runs):
	// a trigger that fires then crashes the disk at once (crashInStart).
	starting atomic.Bool

	diskMu sync.Mutex // leaf: guards the disk-fault state below
	// serving is the incarnation that is up and serving, 0 while the node
	// is starting, stopping or down: triggers fire only at such times
	// (or during a start), never while a stop holds n.mu.
	serving int
	stopped chan struct{} // closed when serving goes to 0
	trigger *trigger      // armed by a triggered crash or a restart with Ops
	// startCrash is the disk a crash during start left, for startLocked.
	startCrash   *memfs.FS
	diskRng      *rand.Rand
	diskProb     float64
	diskLeft     int           // errors still to inject
	diskDelay    time.Duration // added to every sync
	diskInjected int           // errors injected since the last liveness restart
	diskDead     chan struct{} // closed when the current disk crashes
	flipProb     float64       // probability that a read of a log file returns a flipped bit
	flipsLeft    int           // read flips still to inject
	flipSuffix   string        // only files whose path ends with this ("" all checked files)
}

// New builds a world; nothing runs until StartAll (or Run).
func New(rng *rand.Rand, cfg Config) *World {
	if rng == nil {
		panic("world: nil rng")
	}
	if cfg.Nodes <= 0 {
		cfg.Nodes = 1
	}
	if cfg.Port == 0 {
		cfg.Port = 9092
	}
	if cfg.ControllerPort == 0 {
		cfg.ControllerPort = 9093
	}
	if cfg.LivenessTimeout <= 0 {
		cfg.LivenessTimeout = 60 * time.Second
	}
	clock := cfg.Clock
	if clock == nil {
		clock = env.RealClock{}
	}
	ctx, stop := context.WithCancel(context.Background())
	w := &World{cfg: cfg, clock: clock, start: cfg.Start, rng: rng, ctx: ctx, stop: stop}
	if w.start.IsZero() {
		w.start = clock.Now()
	}
	netOpts := cfg.Net
	netOpts.Clock = clock
	netOpts.Trace = func(_ time.Duration, ev string) {
		if cfg.TraceNet || strings.HasPrefix(ev, "fault ") || strings.HasPrefix(ev, "heal ") || strings.HasPrefix(ev, "kill ") {
			w.Tracef("net %s", ev)
		}
	}
	w.net = simnet.New(split(rng), netOpts)
	// In name order: c1, c2, ... before n1, n2, ... A combined cluster
	// draws from rng exactly what it drew before controllers existed.
	for i := range cfg.Controllers {
		w.addNode(&machine{name: "c" + strconv.Itoa(i+1), id: int32(ControllerIDBase + i + 1), controller: true})
	}
	for i := range cfg.Nodes {
		w.addNode(&machine{name: "n" + strconv.Itoa(i+1), id: int32(i + 1)})
	}
	return w
}

// addNode gives n its disk, disk stream and clock and adds it to the world.
func (w *World) addNode(n *machine) {
	n.w, n.disk, n.diskRng, n.diskDead = w, memfs.New(), split(w.rng), make(chan struct{})
	n.clock = newNodeClock(w.clock, w.start)
	// The node's connection deadlines (the metadata quorum's writes) are
	// set from its own wall clock: the network reads them on it.
	w.net.SetHostClock(n.name, n.clock)
	n.disk.SetInjector(n.injector(n.disk, n.diskDead))
	w.nodes = append(w.nodes, n)
}

// split derives an independent stream from rng.
func split(rng *rand.Rand) *rand.Rand { return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) }

// Net is the world's network, for workloads that need finer faults.
func (w *World) Net() *simnet.Network { return w.net }

// Nodes returns the node names in order: the dedicated controllers, if
// any, then the brokers. Faults may hit every one of them.
func (w *World) Nodes() []string {
	out := make([]string, len(w.nodes))
	for i, n := range w.nodes {
		out[i] = n.name
	}
	return out
}

// Brokers returns the brokers' names in order.
func (w *World) Brokers() []string {
	var out []string
	for _, n := range w.brokers() {
		out = append(out, n.name)
	}
	return out
}

// Controllers returns the dedicated controllers' names in order; none in
// combined mode.
func (w *World) Controllers() []string {
	var out []string
	for _, n := range w.nodes {
		if n.controller {
			out = append(out, n.name)
		}
	}
	return out
}

func (w *World) brokers() []*machine {
	var out []*machine
	for _, n := range w.nodes {
		if !n.controller {
			out = append(out, n)
		}
	}
	return out
}

// NodeName is the name of the node with this node id, or "node <id>" if
// there is none (the metadata quorum's events name nodes by id).
func (w *World) NodeName(id int32) string {
	for _, n := range w.nodes {
		if n.id == id {
			return n.name
		}
	}
	return "node " + strconv.Itoa(int(id))
}

// BootstrapAddrs are the brokers' addresses, for kgo.SeedBrokers.
func (w *World) BootstrapAddrs() []string {
	var out []string
	for _, n := range w.brokers() {
		out = append(out, n.addr())
	}
	return out
}

func (n *machine) addr() string { return n.name + ":" + strconv.Itoa(n.w.cfg.Port) }

func (n *machine) controllerAddr() string {
	return n.name + ":" + strconv.Itoa(n.w.cfg.ControllerPort)
}

// voters is controller.quorum.voters: the dedicated controllers if there
// are any, else every node (combined mode).
func (w *World) voters() string {
	var vs []string
	for _, n := range w.nodes {
		if n.controller || w.cfg.Controllers == 0 {
			vs = append(vs, strconv.Itoa(int(n.id))+"@"+n.controllerAddr())
		}
	}
	return strings.Join(vs, ",")
}

// ClientDialer returns a dial function (for kgo.Dialer) from the client host
// clientName. Clients must not be named like nodes.
func (w *World) ClientDialer(clientName string) func(ctx context.Context, network, host string) (net.Conn, error) {
	if w.lookup(clientName) != nil {
		panic("world: client named like a node: " + clientName)
	}
	return w.net.Host(clientName).Dial
}

func (w *World) lookup(name string) *machine {
	for _, n := range w.nodes {
		if n.name == name {
			return n
		}
	}
	return nil
}

func (w *World) mustNode(name string) (*machine, error) {
	if n := w.lookup(name); n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("world: no node %q", name)
}

// Elapsed is the virtual time since the world began.
func (w *World) Elapsed() time.Duration { return w.clock.Now().Sub(w.start) }

// Tracef records a trace line, stamped with the time since the world began.
func (w *World) Tracef(format string, args ...any) {
	line := fmt.Sprintf("%12.6fs %s", w.Elapsed().Seconds(), fmt.Sprintf(format, args...))
	w.traceMu.Lock()
	defer w.traceMu.Unlock()
	w.lines = append(w.lines, line)
	if w.cfg.Trace != nil {
		w.cfg.Trace(line)
	}
}

// Trace returns a copy of the trace so far.
func (w *World) Trace() []string {
	w.traceMu.Lock()
	defer w.traceMu.Unlock()
	return append([]string(nil), w.lines...)
}

// Broker returns the node's current broker, or nil while it is down or
// if it is a dedicated controller.
func (w *World) Broker(name string) *broker.Broker {
	n := w.lookup(name)
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b
}

// Controller returns the dedicated controller's current quorum node, or
// nil while it is down or if the node is a broker.
func (w *World) Controller(name string) *quorum.Node {
	n := w.lookup(name)
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ctl
}

// Up reports whether the node has a running incarnation.
func (w *World) Up(name string) bool {
	n := w.lookup(name)
	if n == nil {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.up
}

// Disk returns the node's current disk (it changes at every crash).
func (w *World) Disk(name string) *memfs.FS {
	n := w.lookup(name)
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.disk
}

// StartAll starts every node that never started. It is idempotent.
func (w *World) StartAll() error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return nil
	}
	w.started = true
	w.mu.Unlock()
	for _, n := range w.nodes {
		n.mu.Lock()
		err := n.startLocked("start")
		n.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// The simulated brokers' metadata quorum timing (see startLocked).
const (
	simQuorumTick           = 200 * time.Millisecond
	simQuorumElectionTicks  = 5 // 1s, as the quorum's default
	simQuorumHeartbeatTicks = 1
	simReplicaLagTimeMax    = DefaultReplicaLagTimeMax
)

// DefaultReplicaLagTimeMax is the simulated brokers' replica.lag.time.max
// unless Config.Broker sets another.
const DefaultReplicaLagTimeMax = 5 * time.Second

// startLocked opens a broker (or, on a dedicated controller, a quorum
// node) on the node's disk and serves it.
func (n *machine) startLocked(why string) error {
	w := n.w
	if n.up {
		return fmt.Errorf("world: %s is already up", n.name)
	}
	if w.ctx.Err() != nil {
		return errors.New("world: closed")
	}
	mute := new(atomic.Bool)
	cfg := n.config(mute)
	inc := n.incarnation + 1
	deps := broker.Deps{FS: n.disk, Net: w.net.Host(n.name), Clock: n.clock,
		Breach: func(name, detail string) { w.breach(n.name, inc, mute, name, detail) }}
	// A controller outlives the world's context, which Close ends first:
	// the brokers' controlled shutdowns need their quorum. Close stops
	// the controllers last.
	parent := w.ctx
	if n.controller {
		parent = context.WithoutCancel(w.ctx)
	}
	ctx, cancel := context.WithCancel(parent)
	var (
		b   *broker.Broker
		ctl *quorum.Node
		err error
	)
	n.starting.Store(true)
	if n.controller {
		ctl, err = broker.StartController(ctx, cfg, deps)
	} else {
		b, err = broker.Open(cfg, deps)
	}
	n.starting.Store(false)
	if crashed := n.takeStartCrash(); crashed != nil {
		// The power failed during recovery: the disk is what a reboot
		// finds, and this incarnation never served.
		if err == nil {
			if ctl != nil {
				ctl.Close()
			} else {
				b.Abandon()
			}
		}
		cancel()
		n.disk = crashed
		w.net.KillHost(n.name)
		w.Tracef("%s %s failed: crashed during recovery", why, n.name)
		return fmt.Errorf("world: %s %s: %w", why, n.name, errCrashedInRecovery)
	}
	if err != nil {
		cancel()
		w.Tracef("%s %s failed: open: %v", why, n.name, err)
		return fmt.Errorf("world: %s %s: %w", why, n.name, err)
	}
	var served <-chan struct{}
	if ctl != nil {
		served = ctl.Done()
	} else if served, err = n.serve(ctx, b); err != nil {
		cancel()
		b.Close()
		w.Tracef("%s %s failed: listen: %v", why, n.name, err)
		return fmt.Errorf("world: %s %s: listen: %w", why, n.name, err)
	}
	n.b, n.ctl, n.cancel, n.served, n.logMute, n.up = b, ctl, cancel, served, mute, true
	n.incarnation = inc
	n.setServing(inc)
	if n.controller {
		w.Tracef("%s %s (incarnation %d) controller on %s", why, n.name, n.incarnation, n.controllerAddr())
	} else {
		w.Tracef("%s %s (incarnation %d) listening on %s", why, n.name, n.incarnation, n.addr())
	}
	return nil
}

// serve listens on the broker's address and serves it until ctx ends; the
// channel is closed when Serve returned.
func (n *machine) serve(ctx context.Context, b *broker.Broker) (<-chan struct{}, error) {
	ln, err := b.Listen(ctx)
	if err != nil {
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := b.Serve(ctx, ln); err != nil {
			n.w.Tracef("%s serve ended: %v", n.name, err)
		}
	}()
	return served, nil
}

// config is the node's broker config: a broker, a broker and voter
// (combined mode) or a dedicated controller.
func (n *machine) config(mute *atomic.Bool) broker.Config {
	w := n.w
	cfg := broker.DefaultConfig()
	cfg.NodeID = n.id
	cfg.ListenAddr = n.addr()
	cfg.AdvertisedAddr = n.addr()
	cfg.DataDir = dataDir
	cfg.Defects = w.cfg.Defects
	cfg.ControllerListenAddr = n.controllerAddr()
	cfg.ControllerQuorumVoters = w.voters()
	switch {
	case n.controller:
		cfg.ProcessRoles = []string{broker.RoleController}
	case w.cfg.Controllers > 0:
		cfg.ProcessRoles = []string{broker.RoleBroker}
	}
	cfg.QuorumObserver = w.cfg.QuorumObserver
	// The quorum ticks every 200ms instead of 50ms: the same 1s election
	// timeout and 200ms heartbeats, a quarter of the wake-ups (each voter's
	// ticker wakes its loop at every tick, and the guest pays for every
	// wake-up).
	cfg.QuorumTickInterval = simQuorumTick
	cfg.QuorumElectionTicks = simQuorumElectionTicks
	cfg.QuorumHeartbeatTicks = simQuorumHeartbeatTicks
	// A follower leaves the ISR after 5s of lag, not Kafka's 30s: faults
	// last seconds and a run a minute, and at 30s the ISR would rarely
	// shrink, expand or meet a crash while shrunk (an unclean election
	// needs a shrunk ISR: --unclean-election).
	cfg.ReplicaLagTimeMax = simReplicaLagTimeMax
	cfg.Logger = slog.New(slog.NewTextHandler(&traceWriter{w: w, node: n.name, mute: mute}, &slog.HandlerOptions{
		Level: w.cfg.LogLevel,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	if w.cfg.Broker != nil {
		w.cfg.Broker(n.name, &cfg)
	}
	return cfg
}

func (n *machine) setServing(inc int) {
	n.diskMu.Lock()
	defer n.diskMu.Unlock()
	switch {
	case inc != 0:
		n.stopped = make(chan struct{})
	case n.serving != 0:
		close(n.stopped)
	}
	n.serving = inc
}

func (n *machine) takeStartCrash() *memfs.FS {
	n.diskMu.Lock()
	defer n.diskMu.Unlock()
	d := n.startCrash
	n.startCrash = nil
	return d
}

// breach records an invariant the broker of incarnation inc of node found
// broken, unless that incarnation has crashed since (mute): what a dead
// incarnation's leftover goroutines see is not the cluster's state.
func (w *World) breach(node string, inc int, mute *atomic.Bool, name, detail string) {
	if mute.Load() {
		return
	}
	w.Tracef("INVARIANT BROKEN on %s (incarnation %d): %s: %s", node, inc, name, detail)
	w.breachMu.Lock()
	defer w.breachMu.Unlock()
	w.breaches = append(w.breaches, invariants.Breach{Name: name, Node: node, Detail: detail})
}

// Breaches returns the invariants the brokers found broken so far (only
// guests built with -tags invariants check them), in the order seen.
func (w *World) Breaches() []invariants.Breach {
	w.breachMu.Lock()
	defer w.breachMu.Unlock()
	return append([]invariants.Breach(nil), w.breaches...)
}

// Crash is a power loss of the node: see the package comment. keep is the
// fraction of each file's unsynced tail that may survive (drawn from the
// world's rng). Crashing a node that is down is an error.
func (w *World) Crash(name string, keep float64) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.up {
		return fmt.Errorf("world: crash %s: not up", name)
	}
	w.Tracef("crash %s (incarnation %d) keep=%.2f", name, n.incarnation, keep)
	n.cutPowerLocked(keep)
	n.windDownLocked()
	return nil
}

// cutPowerLocked is the crash instant of an up node: nothing leaves it
// after this, and its disk is what a reboot would find. Call with n.mu
// held, then windDownLocked.
func (n *machine) cutPowerLocked(keep float64) {
	w := n.w
	n.logMute.Store(true)
	n.cancel()
	w.net.KillHost(n.name)
	n.disk = n.crashDisk(n.disk, keep)
	n.setServing(0)
}

// crashDisk replaces disk by what a reboot finds (memfs.Crash, the tears
// drawn from the world's rng) and wakes the delayed syncs of the dead one.
// It does not need n.mu: a crash during start calls it from the injector.
func (n *machine) crashDisk(disk *memfs.FS, keep float64) *memfs.FS {
	w := n.w
	w.mu.Lock()
	next := disk.Crash(w.rng, keep)
	w.mu.Unlock()
	n.diskMu.Lock()
	close(n.diskDead) // wakes delayed syncs of the dead disk
	n.diskDead = make(chan struct{})
	next.SetInjector(n.injector(next, n.diskDead))
	n.diskMu.Unlock()
	return next
}

// windDownLocked ends the crashed incarnation without a clean shutdown.
// Abandon, where the broker has it, ends the goroutines without fsyncing;
// otherwise Close is safe too, because every fsync it tries now fails with
// memfs.ErrCrashed and its connections are already reset. A controller's
// quorum node has nothing to flush: Close only ends its goroutines.
func (n *machine) windDownLocked() {
	switch a, ok := any(n.b).(interface{ Abandon() }); {
	case n.ctl != nil:
		n.ctl.Close()
	case ok:
		a.Abandon()
	default:
		n.b.Close()
	}
	<-n.served
	n.b, n.ctl, n.cancel, n.served, n.up = nil, nil, nil, nil, false
}

// closeLocked stops the incarnation cleanly (a broker moves its
// leadership away and fsyncs everything) and waits until it stopped
// serving.
func (n *machine) closeLocked() error {
	n.setServing(0)
	n.cancel()
	var err error
	if n.ctl != nil {
		err = n.ctl.Close()
	} else {
		err = n.b.Close()
	}
	<-n.served
	n.b, n.ctl, n.cancel, n.served, n.up = nil, nil, nil, nil, false
	return err
}

// crashIncarnation crashes the trigger t's node if incarnation inc is
// still the one up: a trigger's crash that a scheduled crash or a restart
// overtook does nothing. With t.down, the node restarts itself that long
// after, unless something restarted it meanwhile.
func (w *World) crashIncarnation(n *machine, inc int, t *trigger) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.up || n.incarnation != inc {
		w.Tracef("crash %s (%s): incarnation %d is gone already", n.name, t.why, inc)
		return
	}
	w.Tracef("crash %s (incarnation %d) keep=%.2f: %s", n.name, n.incarnation, t.keep, t.why)
	w.recordCrash(n.name, faults.OpCrash.String(), false, crashDetail(t.keep, t.why))
	n.cutPowerLocked(t.keep)
	n.windDownLocked()
	if t.down > 0 {
		w.clock.AfterFunc(t.down, func() { w.restartIncarnation(n, inc) })
	}
}

// restartIncarnation restarts the node if it is still down from the crash
// of incarnation inc.
func (w *World) restartIncarnation(n *machine, inc int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.up || n.incarnation != inc || w.ctx.Err() != nil {
		return
	}
	w.recordCrash(n.name, faults.OpRestart.String(), true, "the triggered crash's own restart")
	if err := n.startOrRetryLocked("restart"); err != nil {
		w.Tracef("restart failed: %v", err)
	}
}

// PowerLoss crashes every node that is up at one instant, as a power cut
// of the whole cluster: first every node's network and disk go (each disk
// keeps its synced data and a seeded part, keep, of each unsynced tail),
// then the incarnations are wound down. Nodes stay down; Liveness
// restarts them.
func (w *World) PowerLoss(keep float64) {
	w.Tracef("power loss: every node crashes at once, keep=%.2f", keep)
	var down []*machine
	for _, n := range w.nodes {
		n.mu.Lock()
		if !n.up {
			n.mu.Unlock()
			continue
		}
		w.Tracef("crash %s (incarnation %d) keep=%.2f: power loss", n.name, n.incarnation, keep)
		w.recordCrash(n.name, "power-loss", false, crashDetail(keep, "every node at once"))
		n.cutPowerLocked(keep)
		down = append(down, n)
	}
	for _, n := range down {
		n.windDownLocked()
		n.mu.Unlock()
	}
}

// Restart opens a new incarnation of a crashed node on its disk: recovery
// runs. It fails if the node is up or the broker cannot open (disk faults).
func (w *World) Restart(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startLocked("restart")
}

// restartOrRetry is Restart for the fault plan: a start that fails is
// tried again later (startOrRetryLocked).
func (w *World) restartOrRetry(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startOrRetryLocked("restart")
}

// Reboot cleanly stops the node (broker.Close fsyncs everything) and starts
// it again: what an operator does after a disk error took partitions
// offline.
func (w *World) Reboot(name string) error { return w.reboot(name, false) }

// reboot is Reboot; with retry (the fault plan's reboots), a start that
// fails is tried again later (startOrRetryLocked).
func (w *World) reboot(name string, retry bool) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.up {
		w.Tracef("stop %s (incarnation %d) cleanly", name, n.incarnation)
		if err := n.closeLocked(); err != nil {
			w.Tracef("stop %s: %v", name, err)
		}
		w.net.KillHost(name) // the same host name, a new process
	}
	if retry {
		return n.startOrRetryLocked("reboot")
	}
	return n.startLocked("reboot")
}

// rebootIfInjected reboots the node if it is up and a disk fault was
// injected into it since the last reboot or heal, as an operator restarts a
// broker whose log directory a disk error took offline.
func (w *World) rebootIfInjected(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.diskMu.Lock()
	injected := n.diskInjected
	n.diskInjected = 0
	n.diskMu.Unlock()
	if injected > 0 && w.Up(name) {
		return w.reboot(name, true)
	}
	return nil
}

// diskHealed reports whether no disk fault is active on the node.
func (n *machine) diskHealed() bool {
	n.diskMu.Lock()
	defer n.diskMu.Unlock()
	return n.diskProb == 0 && n.diskLeft == 0
}

// Pause freezes the node until Resume, as SIGSTOP would: its connections
// stop delivering both ways, and none of its timers fires (they fire late,
// at Resume); an fsync in flight completes on the disk, but the node
// learns of it only at Resume.
func (w *World) Pause(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	w.net.Stall(name)
	n.clock.Pause()
	return nil
}

// Resume ends a Pause.
func (w *World) Resume(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.clock.Resume()
	w.net.Resume(name)
	return nil
}

// SetDiskFaults makes the node's disk fail writes and syncs (EIO) with
// probability prob, at most count times, and delay every sync by delay, until
// ClearDiskFaults. The state survives crashes of the node.
func (w *World) SetDiskFaults(name string, prob float64, count int, delay time.Duration) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.diskMu.Lock()
	n.diskProb, n.diskLeft, n.diskDelay = prob, count, delay
	n.diskMu.Unlock()
	w.Tracef("disk faults on %s: p=%.2f max=%d sync-delay=%v", name, prob, count, delay)
	return nil
}

// ClearDiskFaults stops the node's disk faults, read flips included.
func (w *World) ClearDiskFaults(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.diskMu.Lock()
	n.flipProb, n.flipsLeft, n.flipSuffix = 0, 0, ""
	n.diskMu.Unlock()
	return w.SetDiskFaults(name, 0, 0, 0)
}

// SetReadFlips makes reads of the node's checked files (partition log
// segments and indexes, meta.properties, the quorum's WAL; see flippable) return one
// flipped bit with probability prob, at most count times, until
// ClearDiskFaults. A flip corrupts only what that read returns, never the
// stored bytes: a bad cable or controller, not a bad sector. The state
// survives crashes of the node.
func (w *World) SetReadFlips(name string, prob float64, count int) error {
	return w.SetReadFlipsOn(name, prob, count, "")
}

// SetReadFlipsOn is SetReadFlips for the checked files whose path ends with
// suffix only ("" for all of them), for tests that aim at one file.
func (w *World) SetReadFlipsOn(name string, prob float64, count int, suffix string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.diskMu.Lock()
	n.flipProb, n.flipsLeft, n.flipSuffix = prob, count, suffix
	n.diskMu.Unlock()
	w.Tracef("read flips on %s: p=%.2f max=%d%s", name, prob, count, map[bool]string{true: " on *" + suffix}[suffix != ""])
	return nil
}

// flippable reports whether reads of path may be flipped: only the files
// the broker can check: a partition log's segments (CRC-32C per batch), its
// indexes (which recovery reads until the reads agree), meta.properties and
// the producer state snapshots (CRC-32C each, read again on a mismatch; a
// snapshot that never reads back whole is skipped), and the metadata
// quorum's WAL (wal-*.log) and snapshots (*.snap), whose reads that fail
// their checksum are read again.
func flippable(path string) bool {
	for _, suffix := range []string{".log", ".index", ".timeindex", ".snapshot", ".snap", "/meta.properties"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// injector returns the memfs.Injector (a memfs.ReadCorrupter) of one disk
// of n; dead is closed when that disk crashes.
func (n *machine) injector(disk *memfs.FS, dead chan struct{}) memfs.Injector {
	return diskInjector{n: n, maybeError: n.maybeError(disk, dead)}
}

// maybeError is the write and sync half of a disk's injector, and where
// armed triggers watch the disk.
func (n *machine) maybeError(disk *memfs.FS, dead chan struct{}) func(op memfs.Op, path string) error {
	return func(op memfs.Op, path string) error {
		n.watch(disk, dead, op, path)
		isSync := op == memfs.OpSync || op == memfs.OpSyncDir
		if !isSync && op != memfs.OpWrite && op != memfs.OpWriteAt {
			return nil
		}
		n.diskMu.Lock()
		delay := n.diskDelay
		if isSync {
			delay += n.w.cfg.SyncLatency
		}
		fail := n.diskLeft > 0 && n.diskRng.Float64() < n.diskProb
		if fail {
			n.diskLeft--
			n.diskInjected++
		}
		left := n.diskLeft
		serving, stopped := n.serving, n.stopped
		n.diskMu.Unlock()
		if fail {
			n.w.Tracef("disk %s: EIO injected on %s %s (%d left)", n.name, op, path, left)
			return syscall.EIO
		}
		if isSync && delay > 0 {
			t := n.w.clock.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C():
			case <-dead: // the disk crashed: the operation fails anyway
			case <-n.w.ctx.Done():
			}
		}
		if isSync && serving != 0 {
			// A paused node learns that its fsync completed only when it
			// runs again: when it resumes, or when the world stops or
			// crashes it (the world's own starts and stops never wait).
			select {
			case <-n.clock.Unpaused():
			case <-stopped:
			case <-dead:
			case <-n.w.ctx.Done():
			}
		}
		return nil
	}
}

type diskInjector struct {
	n          *machine
	maybeError func(op memfs.Op, path string) error
}

func (d diskInjector) MaybeError(op memfs.Op, path string) error { return d.maybeError(op, path) }

// CorruptRead flips one bit of what a read returned, while read flips are
// on. The rng is drawn only for reads that may be flipped while flips are
// left, so a run without read flips draws exactly what it drew before.
func (d diskInjector) CorruptRead(op memfs.Op, path string, off int64, p []byte) {
	n := d.n
	if !flippable(path) {
		return
	}
	n.diskMu.Lock()
	bit := -1
	if n.flipsLeft > 0 && strings.HasSuffix(path, n.flipSuffix) && n.diskRng.Float64() < n.flipProb {
		bit = n.diskRng.IntN(len(p) * 8)
		n.flipsLeft--
	}
	left := n.flipsLeft
	n.diskMu.Unlock()
	if bit < 0 {
		return
	}
	p[bit/8] ^= 1 << (bit % 8)
	n.w.Tracef("disk %s: bit flip injected on %s %s off=%d len=%d (bit %d of byte %d; %d left)",
		n.name, op, path, off, len(p), bit%8, off+int64(bit/8), left)
}

var _ memfs.ReadCorrupter = diskInjector{}

// JumpClock sets the offset of the node's wall clock (its Now) from its
// monotonic time; timers do not see it.
func (w *World) JumpClock(name string, offset time.Duration) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.clock.SetOffset(offset)
	w.Tracef("clock %s offset %v", name, offset)
	return nil
}

// DriftClock makes the node's clock, timers included, run 1+rate times as
// fast as the world's.
func (w *World) DriftClock(name string, rate float64) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	if rate <= -1 {
		return fmt.Errorf("world: drift %v of %s: the clock would stop or run back", rate, name)
	}
	n.clock.SetDrift(rate)
	w.Tracef("clock %s drift %+.4f", name, rate)
	return nil
}

// JumpTimers moves the node's monotonic clock forward by d: every pending
// timer of the node is d nearer, and its Now is d later.
func (w *World) JumpTimers(name string, d time.Duration) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.clock.JumpTimers(d)
	w.Tracef("clock %s timers jump %v", name, d)
	return nil
}

// ResetClock ends the node's clock faults: no offset, no drift, Now reads
// the world's time again (its monotonic time goes on, never back).
func (w *World) ResetClock(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.clock.Reset()
	w.Tracef("clock %s reset", name)
	return nil
}

// traceWriter turns a broker's log lines into trace lines.
type traceWriter struct {
	w    *World
	node string
	mute *atomic.Bool
}

func (t *traceWriter) Write(p []byte) (int, error) {
	if !t.mute.Load() {
		for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
			t.w.Tracef("%s log %s", t.node, line)
		}
	}
	return len(p), nil
}

// clockFault applies an OpClockJump: the wall clock's offset, the drift,
// and a forward jump of the timers, whichever the event sets.
func (w *World) clockFault(e faults.Event) error {
	if e.Offset != 0 {
		if err := w.JumpClock(e.Node, e.Offset); err != nil {
			return err
		}
	}
	if e.Drift != 0 {
		if err := w.DriftClock(e.Node, e.Drift); err != nil {
			return err
		}
	}
	if e.TimerJump > 0 {
		return w.JumpTimers(e.Node, e.TimerJump)
	}
	return nil
}

// requestOfKey matches a write that begins a Kafka request of API key key:
// the request's size (int32), then its header's api_key (int16). A client
// writes each request whole, so the first write of a request starts there.
// It matches as well a node's forward of such a request to the metadata
// quorum's leader (quorum.ForwardedRequestKey): a leader's AlterPartition
// travels so, on a connection of its own.
func requestOfKey(key int16) func([]byte) bool {
	return func(b []byte) bool {
		if k, ok := quorum.ForwardedRequestKey(b); ok {
			return k == key
		}
		return len(b) >= 6 && int16(binary.BigEndian.Uint16(b[4:6])) == key
	}
}

// Apply performs one schedule event now.
//
// Each event applied (armed, for a triggered crash; dropped, for a restart
// whose triggered crash never came; failed, with why) is recorded for
// FaultRecords, at the virtual time it was applied.
func (w *World) Apply(e faults.Event) error {
	w.Tracef("apply %s", e)
	status, why := "", ""
	err := w.apply(e, &status, &why)
	w.recordEvent(e, status, why, err)
	return err
}

func (w *World) apply(e faults.Event, status, note *string) error {
	switch e.Op {
	case faults.OpIsolate:
		w.net.Isolate(e.Node)
	case faults.OpRejoin:
		w.net.Rejoin(e.Node)
	case faults.OpPartition:
		w.net.Partition(e.Groups...)
	case faults.OpHealSplit:
		w.net.Partition()
	case faults.OpCut:
		w.net.CutOneWay(e.From, e.To)
	case faults.OpUncut:
		w.net.Uncut(e.From, e.To)
	case faults.OpCrash:
		if e.Trigger != faults.TriggerAt {
			*status = runfolder.FaultArmed
			return w.armCrash(e)
		}
		return w.Crash(e.Node, e.Keep)
	case faults.OpRestart:
		why, err := w.restart(e)
		if why != "" {
			*status, *note = runfolder.FaultDropped, why
		}
		return err
	case faults.OpPause:
		return w.Pause(e.Node)
	case faults.OpResume:
		if err := w.Resume(e.Node); err != nil {
			return err
		}
		if n, _ := w.mustNode(e.Node); n.diskHealed() {
			return w.rebootIfInjected(e.Node) // a reboot deferred by OpDiskHeal
		}
		return nil
	case faults.OpDiskFaults:
		if e.Flips > 0 {
			if err := w.SetReadFlips(e.Node, e.FlipProb, e.Flips); err != nil {
				return err
			}
			if e.Count == 0 {
				return nil
			}
		}
		return w.SetDiskFaults(e.Node, e.Prob, e.Count, 0)
	case faults.OpDiskHeal:
		if err := w.ClearDiskFaults(e.Node); err != nil {
			return err
		}
		// A failed write or fsync took partitions offline, as Kafka takes
		// a log directory offline; an operator restarts such a broker once
		// the disk is healthy, and so does the world, so the rest of the
		// safety phase still exercises the node.
		// A paused node cannot stop cleanly (its controlled shutdown waits
		// on timers that fire only at its resume, which this very event
		// loop would apply: seed 1002 of --faults all hung so): it keeps
		// its count of injected faults, and its resume reboots it.
		n, _ := w.mustNode(e.Node)
		if n.clock.Paused() {
			n.diskMu.Lock()
			deferred := n.diskInjected > 0
			n.diskMu.Unlock()
			if deferred {
				*note = "paused: the reboot waits for the resume"
			}
			return nil
		}
		return w.rebootIfInjected(e.Node)
	case faults.OpClockJump:
		return w.clockFault(e)
	case faults.OpClockReset:
		return w.ResetClock(e.Node)
	case faults.OpFlaky:
		w.net.Flaky(e.Node, e.Prob)
	case faults.OpFlakyHeal:
		w.net.Flaky(e.Node, 0)
	case faults.OpLoneLeader:
		return w.startLoneLeader(e)
	case faults.OpLoneLeaderHeal:
		why, err := w.endLoneLeader(true)
		*note = why
		return err
	case faults.OpLateRequest:
		*status = runfolder.FaultArmed
		w.net.HoldNextWrite(e.Node, requestOfKey(e.Request), e.Hold, kmsg.NameForKey(e.Request))
	case faults.OpLateRequestHeal:
		if w.net.CancelHold(e.Node) {
			*status, *note = runfolder.FaultDropped, "no such request came"
		}
	default:
		return fmt.Errorf("world: unknown fault op %v", e.Op)
	}
	return nil
}

// sleepUntil waits until the world's clock reads t, or ctx ends.
func (w *World) sleepUntil(ctx context.Context, t time.Time) error {
	d := t.Sub(w.clock.Now())
	if d <= 0 {
		return ctx.Err()
	}
	tm := w.clock.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run starts the nodes if needed, runs the safety phase (the schedule's
// events at their times while workload runs; workload's context ends at
// s.Duration and Run waits for it to return), then the liveness phase. It
// returns an error wrapping ErrLiveness if the cluster did not converge, or
// ctx's error. The world stays up for final reads; call Close after.
func (w *World) Run(ctx context.Context, s faults.Schedule, workload func(ctx context.Context, w *World)) error {
	if err := w.StartAll(); err != nil {
		return err
	}
	begin := w.clock.Now()
	w.Tracef("safety phase: %d fault events over %v", len(s.Events), s.Duration)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := w.clock.AfterFunc(s.Duration, cancel)
	defer timer.Stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if workload != nil {
			workload(wctx, w)
		}
	}()
	for _, e := range s.Events {
		if err := w.sleepUntil(ctx, begin.Add(e.At)); err != nil {
			cancel()
			<-done
			return err
		}
		if err := w.Apply(e); err != nil {
			// A failed restart or reboot (say, a disk fault during
			// recovery) leaves the node down until its retry
			// (startretry.go) or the liveness phase starts it.
			w.Tracef("apply failed: %v", err)
		}
	}
	select {
	case <-wctx.Done():
	case <-ctx.Done():
	}
	cancel()
	<-done
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.Liveness(ctx)
}

// Liveness heals every fault, restarts every node that is down, reboots
// every node whose disk failed an operation (its partitions went offline),
// and waits until the cluster answers, bounded by Config.LivenessTimeout.
func (w *World) Liveness(ctx context.Context) error {
	w.Tracef("liveness phase: heal everything, restart every node")
	w.recordFault(runfolder.Fault{Kind: "all", Op: "heal-all", Heals: true, Detail: "the liveness phase heals every fault"})
	w.endLoneLeader(false)
	w.net.Heal()
	for _, n := range w.nodes {
		if t := n.disarm(); t != nil {
			w.Tracef("crash %s never came (%s): disarmed", n.name, t.why)
		}
		n.clock.Resume()
		n.clock.Reset()
		n.diskMu.Lock()
		n.diskProb, n.diskLeft, n.diskDelay = 0, 0, 0
		n.flipProb, n.flipsLeft, n.flipSuffix = 0, 0, ""
		injected := n.diskInjected
		n.diskInjected = 0
		n.diskMu.Unlock()
		if !w.Up(n.name) {
			w.Restart(n.name)
		} else if injected > 0 {
			w.Reboot(n.name)
		}
	}
	return w.converge(ctx, "liveness")
}

// Setup starts every node, waits until the cluster converged, runs setup
// (creating the workload's topics, say) and waits again, all before any
// fault: Jepsen's setup phase. A cluster that does not converge within the
// liveness timeout fails with ErrLiveness.
func (w *World) Setup(ctx context.Context, setup func(ctx context.Context) error) error {
	if err := w.StartAll(); err != nil {
		return err
	}
	if err := w.converge(ctx, "setup"); err != nil {
		return err
	}
	if setup != nil {
		sctx, cancel := context.WithCancel(ctx)
		timer := w.clock.AfterFunc(w.cfg.LivenessTimeout, cancel)
		err := setup(sctx)
		timer.Stop()
		cancel()
		if err != nil {
			return fmt.Errorf("%w: setup: %v", ErrLiveness, err)
		}
	}
	return w.converge(ctx, "setup")
}

// converge restarts nodes that are down and checks readiness every 200ms
// until the cluster converged or the liveness timeout passes.
func (w *World) converge(ctx context.Context, phase string) error {
	deadline := w.clock.Now().Add(w.cfg.LivenessTimeout)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := w.clock.AfterFunc(w.cfg.LivenessTimeout, cancel)
	defer timer.Stop()
	var last error
	for attempt := 1; ; attempt++ {
		for _, n := range w.nodes {
			if !w.Up(n.name) {
				w.Restart(n.name) // errors are traced; try again next round
			}
		}
		last = w.ready(lctx)
		if last == nil {
			w.Tracef("%s: converged after %d attempt(s)", phase, attempt)
			return nil
		}
		next := w.clock.Now().Add(200 * time.Millisecond)
		if next.After(deadline) {
			next = deadline
		}
		if err := w.sleepUntil(lctx, next); err != nil || !w.clock.Now().Before(deadline) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.Tracef("%s: not converged within %v: %v", phase, w.cfg.LivenessTimeout, last)
			return fmt.Errorf("%w within %v: %v", ErrLiveness, w.cfg.LivenessTimeout, last)
		}
	}
}

// Close stops every running node cleanly and ends the world's goroutines:
// the brokers first, then the dedicated controllers, which the brokers'
// controlled shutdowns ask to move their leadership away.
func (w *World) Close() error {
	w.stop() // first: it releases delayed syncs, so Close cannot wait on them
	var first error
	for _, n := range append(w.brokers(), slices.DeleteFunc(slices.Clone(w.nodes), func(n *machine) bool { return !n.controller })...) {
		n.mu.Lock()
		if n.up {
			if err := n.closeLocked(); err != nil && first == nil {
				first = fmt.Errorf("world: close %s: %w", n.name, err)
			}
		}
		n.mu.Unlock()
	}
	return first
}
