package world

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
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
	"github.com/weir-dev/weir/sim/simnet"
)

// Config describes a world.
type Config struct {
	// Nodes is the cluster size; 0 means 1. Nodes are named n1, n2, ...
	Nodes int
	// Port is every broker's port; 0 means 9092. Brokers listen on and
	// advertise "<node>:<port>".
	Port int
	// ControllerPort is every node's controller listener; 0 means 9093.
	// Every node is a broker and a voter of the metadata quorum (KRaft's
	// combined mode), listening on "<node>:<controller port>".
	ControllerPort int
	// QuorumObserver, if set, is every broker's quorum.Config.Observer:
	// the metadata checker records a quorum.History with it.
	QuorumObserver func(quorum.Event)
	// Defects are copied into every broker's config.
	Defects broker.Defects
	// Broker, if set, adjusts a node's broker config after the world filled
	// in NodeID, ListenAddr, AdvertisedAddr, DataDir, Defects and Logger.
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
}

const dataDir = "/weir"

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
}

// machine is one node: a disk, a host, a clock and, while up, a broker.
type machine struct {
	w    *World
	name string
	id   int32

	mu          sync.Mutex // guards the fields below
	disk        *memfs.FS
	b           *broker.Broker
	cancel      context.CancelFunc
	served      chan struct{}
	logMute     *atomic.Bool // the current incarnation's logger stops at its crash
	up          bool
	incarnation int

	clock offsetClock

	diskMu       sync.Mutex // leaf: guards the disk-fault state below
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
	w := &World{cfg: cfg, clock: clock, start: clock.Now(), rng: rng, ctx: ctx, stop: stop}
	netOpts := cfg.Net
	netOpts.Clock = clock
	netOpts.Trace = func(_ time.Duration, ev string) {
		if cfg.TraceNet || strings.HasPrefix(ev, "fault ") || strings.HasPrefix(ev, "heal ") || strings.HasPrefix(ev, "kill ") {
			w.Tracef("net %s", ev)
		}
	}
	w.net = simnet.New(split(rng), netOpts)
	for i := range cfg.Nodes {
		n := &machine{
			w: w, name: "n" + strconv.Itoa(i+1), id: int32(i + 1),
			disk: memfs.New(), diskRng: split(rng), diskDead: make(chan struct{}),
		}
		n.clock.base = clock
		n.disk.SetInjector(n.injector(n.diskDead))
		w.nodes = append(w.nodes, n)
	}
	return w
}

// split derives an independent stream from rng.
func split(rng *rand.Rand) *rand.Rand { return rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())) }

// Net is the world's network, for workloads that need finer faults.
func (w *World) Net() *simnet.Network { return w.net }

// Nodes returns the node names in order.
func (w *World) Nodes() []string {
	out := make([]string, len(w.nodes))
	for i, n := range w.nodes {
		out[i] = n.name
	}
	return out
}

// BootstrapAddrs are the brokers' addresses, for kgo.SeedBrokers.
func (w *World) BootstrapAddrs() []string {
	out := make([]string, len(w.nodes))
	for i, n := range w.nodes {
		out[i] = n.addr()
	}
	return out
}

func (n *machine) addr() string { return n.name + ":" + strconv.Itoa(n.w.cfg.Port) }

func (n *machine) controllerAddr() string {
	return n.name + ":" + strconv.Itoa(n.w.cfg.ControllerPort)
}

// voters is controller.quorum.voters: every node.
func (w *World) voters() string {
	var vs []string
	for _, n := range w.nodes {
		vs = append(vs, strconv.Itoa(int(n.id))+"@"+n.controllerAddr())
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

// Broker returns the node's current broker, or nil while it is down.
func (w *World) Broker(name string) *broker.Broker {
	n := w.lookup(name)
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b
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

// startLocked opens a broker on the node's disk and serves it.
func (n *machine) startLocked(why string) error {
	w := n.w
	if n.up {
		return fmt.Errorf("world: %s is already up", n.name)
	}
	if w.ctx.Err() != nil {
		return errors.New("world: closed")
	}
	mute := new(atomic.Bool)
	cfg := broker.DefaultConfig()
	cfg.NodeID = n.id
	cfg.ListenAddr = n.addr()
	cfg.AdvertisedAddr = n.addr()
	cfg.DataDir = dataDir
	cfg.Defects = w.cfg.Defects
	cfg.ControllerListenAddr = n.controllerAddr()
	cfg.ControllerQuorumVoters = w.voters()
	cfg.QuorumObserver = w.cfg.QuorumObserver
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
	b, err := broker.Open(cfg, broker.Deps{FS: n.disk, Net: w.net.Host(n.name), Clock: &n.clock})
	if err != nil {
		w.Tracef("%s %s failed: open: %v", why, n.name, err)
		return fmt.Errorf("world: %s %s: %w", why, n.name, err)
	}
	ctx, cancel := context.WithCancel(w.ctx)
	ln, err := b.Listen(ctx)
	if err != nil {
		cancel()
		b.Close()
		w.Tracef("%s %s failed: listen: %v", why, n.name, err)
		return fmt.Errorf("world: %s %s: listen: %w", why, n.name, err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := b.Serve(ctx, ln); err != nil {
			w.Tracef("%s serve ended: %v", n.name, err)
		}
	}()
	n.b, n.cancel, n.served, n.logMute, n.up = b, cancel, served, mute, true
	n.incarnation++
	w.Tracef("%s %s (incarnation %d) listening on %s", why, n.name, n.incarnation, n.addr())
	return nil
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
	// The crash instant: nothing leaves the node after this...
	n.logMute.Store(true)
	n.cancel()
	w.net.KillHost(name)
	// ...and the disk is what a reboot would find.
	w.mu.Lock()
	disk := n.disk.Crash(w.rng, keep)
	w.mu.Unlock()
	n.diskMu.Lock()
	close(n.diskDead) // wakes delayed syncs of the dead disk
	n.diskDead = make(chan struct{})
	disk.SetInjector(n.injector(n.diskDead))
	n.diskMu.Unlock()
	n.disk = disk
	// Wind the old incarnation down without a clean shutdown. Abandon, where
	// the broker has it, ends the goroutines without fsyncing; otherwise
	// Close is safe too, because every fsync it tries now fails with
	// memfs.ErrCrashed and its connections are already reset.
	if a, ok := any(n.b).(interface{ Abandon() }); ok {
		a.Abandon()
	} else {
		n.b.Close()
	}
	<-n.served
	n.b, n.cancel, n.served, n.up = nil, nil, nil, false
	return nil
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

// Reboot cleanly stops the node (broker.Close fsyncs everything) and starts
// it again: what an operator does after a disk error took partitions
// offline.
func (w *World) Reboot(name string) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.up {
		w.Tracef("stop %s (incarnation %d) cleanly", name, n.incarnation)
		n.cancel()
		if err := n.b.Close(); err != nil {
			w.Tracef("stop %s: %v", name, err)
		}
		<-n.served
		w.net.KillHost(name) // the same host name, a new process
		n.b, n.cancel, n.served, n.up = nil, nil, nil, false
	}
	return n.startLocked("reboot")
}

// Pause stalls the node's connections until Resume (see the package
// comment for the approximation).
func (w *World) Pause(name string) error {
	if _, err := w.mustNode(name); err != nil {
		return err
	}
	w.net.Stall(name)
	return nil
}

// Resume ends a Pause.
func (w *World) Resume(name string) error {
	if _, err := w.mustNode(name); err != nil {
		return err
	}
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
// segments and indexes, meta.json, producer-ids; see flippable) return one
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
// indexes (which recovery reads until the reads agree), and meta.json, the
// producer-id file and the producer state snapshots (CRC-32C each, read
// again on a mismatch; a snapshot that never reads back whole is skipped).
func flippable(path string) bool {
	for _, suffix := range []string{".log", ".index", ".timeindex", ".snapshot", "/meta.json", "/producer-ids"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}

// injector returns the memfs.Injector (a memfs.ReadCorrupter) of one disk
// of n; dead is closed when that disk crashes.
func (n *machine) injector(dead chan struct{}) memfs.Injector {
	return diskInjector{n: n, maybeError: n.maybeError(dead)}
}

// maybeError is the write and sync half of a disk's injector.
func (n *machine) maybeError(dead chan struct{}) func(op memfs.Op, path string) error {
	return func(op memfs.Op, path string) error {
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

// JumpClock sets the node's clock offset from the world's clock.
func (w *World) JumpClock(name string, offset time.Duration) error {
	n, err := w.mustNode(name)
	if err != nil {
		return err
	}
	n.clock.offset.Store(int64(offset))
	w.Tracef("clock %s offset %v", name, offset)
	return nil
}

// offsetClock is a node's clock: the world's plus an offset. Timers are
// durations, so they are unaffected by jumps.
type offsetClock struct {
	base   env.Clock
	offset atomic.Int64
}

func (c *offsetClock) Now() time.Time {
	return c.base.Now().Add(time.Duration(c.offset.Load()))
}
func (c *offsetClock) AfterFunc(d time.Duration, f func()) env.Timer { return c.base.AfterFunc(d, f) }
func (c *offsetClock) NewTimer(d time.Duration) env.Timer            { return c.base.NewTimer(d) }

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

// Apply performs one schedule event now.
func (w *World) Apply(e faults.Event) error {
	w.Tracef("apply %s", e)
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
		return w.Crash(e.Node, e.Keep)
	case faults.OpRestart:
		return w.Restart(e.Node)
	case faults.OpPause:
		return w.Pause(e.Node)
	case faults.OpResume:
		return w.Resume(e.Node)
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
		n, _ := w.mustNode(e.Node)
		n.diskMu.Lock()
		injected := n.diskInjected
		n.diskInjected = 0
		n.diskMu.Unlock()
		if injected > 0 && w.Up(e.Node) {
			return w.Reboot(e.Node)
		}
		return nil
	case faults.OpClockJump:
		return w.JumpClock(e.Node, e.Offset)
	case faults.OpClockReset:
		return w.JumpClock(e.Node, 0)
	case faults.OpFlaky:
		w.net.Flaky(e.Node, e.Prob)
	case faults.OpFlakyHeal:
		w.net.Flaky(e.Node, 0)
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
			// A failed restart (say, a disk fault during recovery) leaves
			// the node down; the liveness phase restarts it.
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
	w.net.Heal()
	for _, n := range w.nodes {
		w.JumpClock(n.name, 0)
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
			w.Tracef("liveness: converged after %d attempt(s)", attempt)
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
			w.Tracef("liveness: not converged within %v: %v", w.cfg.LivenessTimeout, last)
			return fmt.Errorf("%w within %v: %v", ErrLiveness, w.cfg.LivenessTimeout, last)
		}
	}
}

// Close stops every running node cleanly and ends the world's goroutines.
func (w *World) Close() error {
	w.stop() // first: it releases delayed syncs, so Close cannot wait on them
	var first error
	for _, n := range w.nodes {
		n.mu.Lock()
		if n.up {
			n.cancel()
			if err := n.b.Close(); err != nil && first == nil {
				first = fmt.Errorf("world: close %s: %w", n.name, err)
			}
			<-n.served
			n.b, n.up = nil, false
		}
		n.mu.Unlock()
	}
	return first
}
