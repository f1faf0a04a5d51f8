package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/partition"
	"github.com/weir-dev/weir/broker/quorum"
	"github.com/weir-dev/weir/broker/replica/fetcher"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/lowprio"
)

// Deps are the seams a broker does all its I/O through.
type Deps struct {
	FS    env.FS
	Net   env.Net
	Clock env.Clock
	// Breach, if set, receives every invariant the broker finds broken
	// (name from internal/invariants, and what was seen); only builds with
	// -tags invariants check them. Nil logs them as errors.
	Breach func(name, detail string)
}

// Broker is one Weir node: it owns the replicas the metadata image places
// on it (partition logs under its data directory) and serves the Kafka
// protocol on one listener. Its metadata comes from the quorum (a voter in
// combined mode, a learner otherwise).
type Broker struct {
	cfg   Config
	fs    env.FS
	net   env.Net
	clock env.Clock
	// replicaTime is the time the replica Leaders run on: the clock's
	// monotonic time as a date, so a wall clock step neither shrinks an
	// ISR (replica.lag.time.max.ms) nor keeps a lagging follower in it.
	replicaTime env.SteadyClock
	log         *slog.Logger
	// breachHook is Deps.Breach.
	breachHook func(name, detail string)

	// ctx ends every goroutine the broker started (syncers, flusher,
	// connections, the reconciler and the session); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	// halted is why the broker halted (halt), nil unless it did: Serve
	// returns it.
	halted atomic.Pointer[error]
	wg     sync.WaitGroup

	// background runs the fsyncs nobody waits for at low CPU priority
	// (Config.BackgroundSyncNice); nil when that is off.
	background *lowprio.Pool

	// quorum is this node's member of the metadata quorum; incarnation
	// tells this process's registration from a previous one's.
	quorum       *quorum.Node
	incarnation  [16]byte
	producerIDs  producerIDs
	session      session
	sessionStart sync.Once

	// groups is the group coordinator's shell (groups.go); txns the
	// transaction coordinator's (txns.go); peers the connections to other
	// brokers (peers.go).
	groups *groupCoordinator
	txns   *txnCoordinator
	peers  peers
	// fetchers replicate the partitions this broker follows; alters sends
	// its leaders' ISR changes to the controller (replication*.go).
	fetchers *fetcher.Manager
	alters   *alterSender
	// fetchSessions holds the fetch sessions (KIP-227) of the clients and
	// followers fetching from this broker (fetch_sessions.go).
	fetchSessions *fetchSessions
	// unlockDataDir releases the data dir's lock file (lockDataDir).
	unlockDataDir func() error

	// mu guards img, topics, byID, strayChecked and advertised. Partition
	// state has its own locks, always taken after mu when both are held.
	// img is the image the reconciler last applied: topics and partitions
	// match it.
	mu           sync.RWMutex
	img          *metadata.Image
	topics       map[string]*topic
	byID         map[[16]byte]*topic
	strayChecked bool
	advertised   string
	// applied is closed and replaced each time the reconciler applies an
	// image, to wake handlers waiting for their change to show.
	applied chan struct{}

	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	ln     net.Listener
}

// topic is a topic of the image with the replicas this broker holds.
type topic struct {
	info       *metadata.Topic
	partitions []*partition.Partition // by index; nil where this broker holds no replica
}

func (t *topic) name() string                 { return t.info.Name }
func (t *topic) id() [16]byte                 { return [16]byte(t.info.ID) }
func (t *topic) overrides() map[string]string { return t.info.Overrides }

// partitionDir matches the directory of a partition: <topic>-<index>.
var partitionDir = regexp.MustCompile(`^(.+)-(\d+)$`)

// Open loads the broker's data directory and joins the metadata quorum: it
// opens (recovering torn tails) the partitions the quorum's last known
// image places on this broker, then registers with the controller in the
// background. It does not listen yet; see Listen and Serve.
func Open(cfg Config, deps Deps) (*Broker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TopicDefaults == nil {
		cfg.TopicDefaults = map[string]string{}
	}
	if len(cfg.ProcessRoles) == 0 {
		cfg.ProcessRoles = []string{RoleBroker, RoleController}
	}
	if !cfg.HasRole(RoleBroker) {
		return nil, errors.New("process.roles has no broker role: a controller-only node runs StartController")
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg: cfg, fs: deps.FS, net: deps.Net, clock: deps.Clock, replicaTime: env.NewSteadyClock(deps.Clock), log: cfg.Logger, breachHook: deps.Breach,
		ctx: ctx, cancel: cancel,
		topics: map[string]*topic{}, byID: map[[16]byte]*topic{},
		conns: map[net.Conn]struct{}{}, advertised: cfg.advertised(),
		applied: make(chan struct{}),
	}
	b.session.epoch = -1
	var err error
	if b.fetchSessions, err = newFetchSessions(cfg, b.clock); err != nil {
		cancel()
		return nil, err
	}
	if err := b.startBackground(); err != nil {
		cancel()
		return nil, err
	}
	if err := b.lockDataDir(); err != nil {
		cancel()
		return nil, err
	}
	b.groups = newGroupCoordinator(b)
	b.txns = newTxnCoordinator(b)
	b.startReplication()
	if err := b.load(); err != nil {
		cancel()
		b.fetchers.Close()
		if b.quorum != nil {
			b.quorum.Close()
		}
		b.closePartitions()
		b.unlockDataDir()
		return nil, err
	}
	b.wg.Add(1)
	go b.runReconciler()
	if _, port := b.hostPort(); port != 0 {
		b.startSession()
	} // else Listen starts it, once the port is known
	if cfg.FlushInterval > 0 {
		b.wg.Add(1)
		go b.runFlusher()
	}
	b.wg.Add(1)
	go b.runLogMaintenance() // logmaint.go
	return b, nil
}

// backgroundSyncWorkers is how many fsyncs nobody waits for may run at
// once, across all partitions; more wait their turn, and each covers
// whatever its partition appended meanwhile.
const backgroundSyncWorkers = 4

func (b *Broker) startBackground() error {
	if b.cfg.BackgroundSyncNice == 0 {
		return nil
	}
	pool, err := lowprio.Start(b.ctx, backgroundSyncWorkers, b.cfg.BackgroundSyncNice)
	switch {
	case pool == nil:
		return fmt.Errorf("weir.log.background.sync.nice: %w", err)
	case errors.Is(err, errors.ErrUnsupported):
		b.log.Debug("background fsyncs run at normal priority", "err", err)
	case err != nil:
		b.log.Warn("background fsyncs run at normal priority", "err", err)
	}
	b.background = pool
	return nil
}

// load checks that the data dir belongs to this node, starts its member of
// the metadata quorum and opens the partitions of its last known image.
func (b *Broker) load() error {
	if err := b.fs.MkdirAll(b.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// A new data dir's own name must be durable before anything in it is,
	// or a crash can take the whole directory away.
	if err := b.fs.SyncDir(filepath.Dir(filepath.Clean(b.cfg.DataDir))); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if _, err := b.fs.Stat(filepath.Join(b.cfg.DataDir, legacyMetaFile)); err == nil {
		return fmt.Errorf("data dir %s was written by a Weir broker from before the metadata quorum (it holds %s): start this version on an empty data dir", b.cfg.DataDir, legacyMetaFile)
	}
	id, found, err := loadIdentity(b.fs, b.cfg.DataDir)
	if err != nil {
		return err
	}
	if !found {
		id = identity{NodeID: b.cfg.NodeID}
		if err := saveIdentity(b.fs, b.cfg.DataDir, id); err != nil {
			return fmt.Errorf("writing %s: %w", identityFile, err)
		}
	} else if id.NodeID != b.cfg.NodeID {
		return fmt.Errorf("data dir %s belongs to node %d, not node %d", b.cfg.DataDir, id.NodeID, b.cfg.NodeID)
	}
	if _, err := rand.Read(b.incarnation[:]); err != nil {
		return err
	}
	if b.quorum, err = startQuorum(b.ctx, b.cfg, Deps{FS: b.fs, Net: b.net, Clock: b.clock}); err != nil {
		return fmt.Errorf("metadata quorum: %w", err)
	}
	return b.reconcile(b.localImage())
}

// localImage is the image of what this node's own metadata log holds as
// committed: the quorum replays it at start, before any peer is heard
// from. It is what this broker knew when it stopped, so it opens the same
// partitions again (and leads none of them until the controller has seen
// this incarnation).
func (b *Broker) localImage() *metadata.Image {
	target := b.quorum.Status().Committed
	img := b.quorum.Image()
	ctx, cancel := context.WithTimeout(b.ctx, localReplayWait)
	defer cancel()
	for img.Offset().Index < target {
		next, err := b.quorum.Wait(ctx, img.Offset())
		if err != nil {
			b.log.Warn("the metadata log did not replay in time; starting from an older image", "applied", img.Offset().Index, "committed", target, "err", err)
			break
		}
		img = next
	}
	return img
}

// localReplayWait bounds the replay of the local metadata log at start; it
// reads only the local disk.
const localReplayWait = 30 * time.Second

// Listen opens the broker's listener. With port 0 the advertised address
// becomes the address actually bound, unless one was configured.
func (b *Broker) Listen(ctx context.Context) (net.Listener, error) {
	ln, err := b.net.Listen(ctx, b.cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.cfg.AdvertisedAddr == "" {
		b.advertised = ln.Addr().String()
	}
	b.mu.Unlock()
	b.startSession()
	b.connMu.Lock()
	b.ln = ln
	b.connMu.Unlock()
	return ln, nil
}

// Addr is the address clients are told to connect to.
func (b *Broker) Addr() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.advertised
}

// Serve accepts connections on ln until ctx ends or Close is called (nil),
// or the broker halts (the reason: see halt).
func (b *Broker) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		select {
		case <-ctx.Done():
		case <-b.ctx.Done():
		}
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errp := b.halted.Load(); errp != nil {
				return *errp
			}
			if ctx.Err() != nil || b.ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		b.connMu.Lock()
		if b.ctx.Err() != nil {
			b.connMu.Unlock()
			c.Close()
			if errp := b.halted.Load(); errp != nil {
				return *errp
			}
			return nil
		}
		b.conns[c] = struct{}{}
		b.connMu.Unlock()
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.serveConn(c)
			b.connMu.Lock()
			delete(b.conns, c)
			b.connMu.Unlock()
		}()
	}
}

// Close shuts the broker down cleanly: a controlled shutdown first (the
// controller moves leadership away, bounded in time), then it stops
// serving, fsyncs every partition and closes the logs, so a clean shutdown
// keeps even acks=1 and acks=0 data, and leaves the metadata quorum.
func (b *Broker) Close() error {
	b.controlledShutdown()
	b.stopServing()
	err := b.closePartitions()
	if b.quorum != nil {
		if qerr := b.quorum.Close(); err == nil && qerr != nil && !errors.Is(qerr, quorum.ErrClosed) {
			err = qerr
		}
	}
	b.unlockDataDir()
	return err
}

// lockFile is the data dir's lock, as Kafka's .lock: a second broker on the
// same directory would corrupt it.
const lockFile = ".lock"

// lockDataDir takes the data dir's lock or explains, in one line, why not.
// The lock goes with the process (or, in the simulator, with the disk's
// crash), so a broker killed or crashed never leaves a stale one.
func (b *Broker) lockDataDir() error {
	if err := b.fs.MkdirAll(b.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	path := filepath.Join(b.cfg.DataDir, lockFile)
	unlock, err := env.Lock(b.fs, path)
	if errors.Is(err, env.ErrLocked) {
		return fmt.Errorf("data dir %s is in use by another broker (%s is locked); stop that broker or choose another data dir", b.cfg.DataDir, path)
	}
	if err != nil {
		return fmt.Errorf("data dir lock: %w", err)
	}
	b.unlockDataDir = unlock
	return nil
}

// halt stops the broker at once, as a process that exits: its context ends
// (every goroutine it started ends with it), the listener and every
// connection close, and clients go to the other brokers. Nothing is synced
// or closed: Close, which the operator (the simulator's reboot) still calls,
// does that. It does not wait, so a goroutine of the broker may call it.
// Serve returns why.
func (b *Broker) halt(why error) {
	b.halted.CompareAndSwap(nil, &why)
	b.cancel()
	b.connMu.Lock()
	defer b.connMu.Unlock()
	if b.ln != nil {
		b.ln.Close()
	}
	for c := range b.conns {
		c.Close()
	}
}

// stopServing ends every goroutine the broker started except the partition
// syncers (they end with b.ctx but are waited for by their partition).
func (b *Broker) stopServing() {
	b.cancel()
	b.connMu.Lock()
	if b.ln != nil {
		b.ln.Close()
	}
	for c := range b.conns {
		c.Close()
	}
	b.connMu.Unlock()
	b.wg.Wait()
	if b.fetchers != nil {
		b.fetchers.Close()
	}
	if b.groups != nil {
		b.groups.stop()
	}
	if b.txns != nil {
		b.txns.stop()
	}
	b.closePeers()
	if b.background != nil {
		b.background.Wait()
	}
}

// Abandon stops the broker the way a power cut would, for the simulator: every
// goroutine ends and every connection closes, but nothing is fsynced and no
// log is closed cleanly. The caller replaces the disk (memfs.Crash) before
// opening a new incarnation; this one must not be used again.
func (b *Broker) Abandon() {
	b.stopServing()
	if b.quorum != nil {
		b.quorum.Close()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, p := range b.localPartitions() {
		p.WaitSyncerDone()
	}
	// The process is gone: so is its lock.
	b.unlockDataDir()
}

func (b *Broker) closePartitions() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first error
	for _, p := range b.localPartitions() {
		if err := p.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// runFlusher is Kafka's log.flush.interval.ms: a periodic fsync of every
// partition with unflushed data.
func (b *Broker) runFlusher() {
	defer b.wg.Done()
	for {
		t := b.clock.NewTimer(b.cfg.FlushInterval)
		select {
		case <-b.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		b.mu.RLock()
		ps := b.localPartitions()
		b.mu.RUnlock()
		for _, p := range ps {
			p.RequestSyncIfDirty()
		}
	}
}

// localPartitions lists this broker's replicas, topics in name order.
// Call with mu held.
func (b *Broker) localPartitions() []*partition.Partition {
	var out []*partition.Partition
	for _, t := range b.sortedTopicsLocked() {
		for _, p := range t.partitions {
			if p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// sortedTopics returns the topics in name order.
func (b *Broker) sortedTopics() []*topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.sortedTopicsLocked()
}

func (b *Broker) sortedTopicsLocked() []*topic {
	out := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		out = append(out, t)
	}
	slices.SortFunc(out, func(x, y *topic) int { return strings.Compare(x.name(), y.name()) })
	return out
}

// topicByName returns the topic, or nil.
func (b *Broker) topicByName(name string) *topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.topics[name]
}

func (b *Broker) topicByID(id [16]byte) *topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.byID[id]
}

// partition returns the partition, or nil if the topic or index is unknown.
// inCluster reports whether the topic has partition i in the cluster's
// metadata, whether or not this broker holds a replica of it: what a
// request that only names partitions (a group's offset commit) checks.
func (t *topic) inCluster(i int32) bool {
	return t != nil && i >= 0 && int(i) < len(t.info.Partitions)
}

func (t *topic) partition(i int32) *partition.Partition {
	if t == nil || i < 0 || int(i) >= len(t.partitions) {
		return nil
	}
	return t.partitions[i]
}

// now is the broker's clock in Kafka's unit.
func (b *Broker) nowMs() int64 { return b.clock.Now().UnixMilli() }
