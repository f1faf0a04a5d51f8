package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/weir-dev/weir/broker/txn"
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

// Broker is one Weir node: it owns the partitions under its data directory
// and serves the Kafka protocol on one listener.
type Broker struct {
	cfg   Config
	fs    env.FS
	net   env.Net
	clock env.Clock
	log   *slog.Logger
	// breachHook is Deps.Breach.
	breachHook func(name, detail string)

	// ctx ends every goroutine the broker started (syncers, flusher,
	// connections); Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// background runs the fsyncs nobody waits for at low CPU priority
	// (Config.BackgroundSyncNice); nil when that is off.
	background *lowprio.Pool

	producerIDs *txn.IDAllocator
	clusterID   string

	// mu guards meta, topics, byID and advertised. Partition state has its
	// own locks, always taken after mu when both are held.
	mu         sync.RWMutex
	meta       clusterMeta
	topics     map[string]*topic
	byID       map[[16]byte]*topic
	advertised string

	connMu sync.Mutex
	conns  map[net.Conn]struct{}
	ln     net.Listener
}

type topic struct {
	meta       topicMeta
	id         [16]byte
	partitions []*partition
}

// partitionDir matches the directory of a partition: <topic>-<index>.
var partitionDir = regexp.MustCompile(`^(.+)-(\d+)$`)

// producerIDBlock is how many producer ids are reserved per durable write.
const producerIDBlock = 1000

// Open loads (or creates) the broker's data directory: metadata, every
// partition log (recovering torn tails) and producer state rebuilt from the
// logs. It does not listen yet; see Listen and Serve.
func Open(cfg Config, deps Deps) (*Broker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TopicDefaults == nil {
		cfg.TopicDefaults = map[string]string{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Broker{
		cfg: cfg, fs: deps.FS, net: deps.Net, clock: deps.Clock, log: cfg.Logger, breachHook: deps.Breach,
		ctx: ctx, cancel: cancel,
		topics: map[string]*topic{}, byID: map[[16]byte]*topic{},
		conns: map[net.Conn]struct{}{}, advertised: cfg.advertised(),
	}
	if err := b.startBackground(); err != nil {
		cancel()
		return nil, err
	}
	if err := b.load(); err != nil {
		cancel()
		b.closePartitions()
		return nil, err
	}
	if cfg.FlushInterval > 0 {
		b.wg.Add(1)
		go b.runFlusher()
	}
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

func (b *Broker) load() error {
	if err := b.fs.MkdirAll(b.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// A new data dir's own name must be durable before anything in it is,
	// or a crash can take the whole directory away.
	if err := b.fs.SyncDir(filepath.Dir(filepath.Clean(b.cfg.DataDir))); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	m, found, err := loadMeta(b.fs, b.cfg.DataDir)
	if err != nil {
		return err
	}
	if !found {
		id, err := newClusterID()
		if err != nil {
			return err
		}
		m = clusterMeta{ClusterID: id, NodeID: b.cfg.NodeID}
		if err := saveMeta(b.fs, b.cfg.DataDir, m); err != nil {
			return fmt.Errorf("writing %s: %w", metaFile, err)
		}
	} else if m.NodeID != b.cfg.NodeID {
		return fmt.Errorf("data dir %s belongs to node %d, not node %d", b.cfg.DataDir, m.NodeID, b.cfg.NodeID)
	}
	b.meta = m
	b.clusterID = m.ClusterID
	b.producerIDs, err = txn.OpenIDAllocator(b.fs, filepath.Join(b.cfg.DataDir, "producer-ids"), producerIDBlock)
	if err != nil {
		return fmt.Errorf("producer ids: %w", err)
	}
	for _, tm := range m.Topics {
		t := &topic{meta: tm, id: tm.id()}
		for i := int32(0); i < tm.Partitions; i++ {
			p, err := b.openPartition(t, i)
			if err != nil {
				return err
			}
			t.partitions = append(t.partitions, p)
		}
		b.topics[tm.Name] = t
		b.byID[t.id] = t
	}
	return b.removeStrayPartitions()
}

// removeStrayPartitions deletes partition directories that the metadata no
// longer names: what a crash in the middle of DeleteTopics leaves behind.
func (b *Broker) removeStrayPartitions() error {
	names, err := b.fs.List(b.cfg.DataDir)
	if err != nil {
		return err
	}
	for _, name := range names {
		m := partitionDir.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		idx, err := strconv.ParseInt(m[2], 10, 32)
		if t, ok := b.topics[m[1]]; ok && err == nil && int32(idx) < t.meta.Partitions {
			continue
		}
		b.log.Warn("removing partition directory the metadata does not name", "dir", name)
		if err := b.fs.RemoveAll(filepath.Join(b.cfg.DataDir, name)); err != nil {
			return err
		}
	}
	return b.fs.SyncDir(b.cfg.DataDir)
}

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

// Serve accepts connections on ln until ctx ends or Close is called.
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

// Close stops serving, fsyncs every partition and closes the logs, so a clean
// shutdown keeps even acks=1 and acks=0 data.
func (b *Broker) Close() error {
	b.stopServing()
	return b.closePartitions()
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
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, t := range b.topics {
		for _, p := range t.partitions {
			<-p.syncDone
		}
	}
}

func (b *Broker) closePartitions() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first error
	for _, t := range b.topics {
		for _, p := range t.partitions {
			if err := p.close(); err != nil && first == nil {
				first = err
			}
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
		for _, t := range b.topics {
			for _, p := range t.partitions {
				p.requestSyncIfDirty()
			}
		}
		b.mu.RUnlock()
	}
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
func (t *topic) partition(i int32) *partition {
	if t == nil || i < 0 || int(i) >= len(t.partitions) {
		return nil
	}
	return t.partitions[i]
}

// now is the broker's clock in Kafka's unit.
func (b *Broker) nowMs() int64 { return b.clock.Now().UnixMilli() }
