package fetcher

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/fetchsession"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/env"
)

// TopicPartition names a followed partition. Fetch (v13+) names topics by
// id, OffsetForLeaderEpoch by name, so both are needed.
type TopicPartition struct {
	Topic     string
	TopicID   [16]byte
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	if c := bytes.Compare(a.TopicID[:], b.TopicID[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Broker is a leader to fetch from.
type Broker struct {
	ID   int32
	Addr string // host:port of its broker listener
}

// Partition is the local replica of a followed partition, as the broker
// implements it. The fetcher calls it from one goroutine at a time, never
// after Manager.Stop returned for it. Errors are storage failures: the
// fetcher stops fetching the partition and reports it (Config.OnError).
type Partition interface {
	// LocalLog is the view the follower state machine decides from: the
	// log's offsets and the leader-epoch cache.
	replica.LocalLog
	// Sync makes every appended batch durable (log.Sync). Without
	// fsync-on-ack it does nothing and DurableOffset is EndOffset.
	Sync() error
	// TruncateTo truncates the log (log.TruncateTo), then the epoch cache
	// (TruncateFromEnd(offset), even when the log already ends there), and
	// rebuilds the producer state from the log that is left.
	TruncateTo(offset int64) error
	// TruncateFullyAndStartAt empties the log and restarts it at offset,
	// clears the epoch cache and the producer state.
	TruncateFullyAndStartAt(offset int64) error
	// InheritTombstoneMark raises the log's tombstone mark to m, durably,
	// if it is below (log.InheritTombstoneMark).
	InheritTombstoneMark(m replica.TombstoneMark) error
	// AppendReplicated appends, in order, batches that continue the log
	// (gaps a compacted leader log has included, kept as they are): for
	// each, epoch cache Assign(PartitionLeaderEpoch, FirstOffset), then
	// log.AppendReplicated(Raw), then the producer state's Replay. The
	// batches alias the response buffer: copy nothing, keep nothing.
	AppendReplicated(batches []record.Batch) error
	// SetHighWatermark sets the follower's high watermark (consumers that
	// read from followers, KIP-392, and the start value if this replica
	// becomes leader).
	SetHighWatermark(hw int64)
}

// Config configures a Manager. The zero values of the durations and sizes
// mean Kafka's defaults.
type Config struct {
	LocalID int32
	// BrokerEpoch is this broker's registration epoch, sent in Fetch's
	// ReplicaState (KIP-903 lets a leader tell incarnations apart).
	BrokerEpoch int64
	Net         env.Net
	Clock       env.Clock
	ClientID    string // default "weir-replica-<id>"
	// MaxWait (replica.fetch.wait.max.ms, 500 ms), MinBytes (1), MaxBytes
	// (replica.fetch.response.max.bytes, 10 MiB), PartitionMaxBytes
	// (replica.fetch.max.bytes, 1 MiB).
	MaxWait           time.Duration
	MinBytes          int32
	MaxBytes          int32
	PartitionMaxBytes int32
	// RequestTimeout bounds a request beyond MaxWait
	// (replica.socket.timeout.ms, 30 s); a connection that takes longer is
	// closed and redialled.
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait after an error
	// (replica.fetch.backoff.ms is 1 s): it doubles from BackoffMin up to
	// BackoffMax while errors repeat. A partition answered with a
	// retriable error waits BackoffMax alone.
	BackoffMin, BackoffMax time.Duration
	// Follower configures the follower state machines (LocalID is filled
	// in).
	Follower replica.FollowerConfig
	// OnError hears of a partition whose storage failed (the fetcher no
	// longer fetches it). Called without any fetcher lock held; it may call
	// the Manager.
	OnError func(tp TopicPartition, err error)
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = fmt.Sprintf("weir-replica-%d", c.LocalID)
	}
	if c.MaxWait == 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.MinBytes == 0 {
		c.MinBytes = 1
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 20
	}
	if c.PartitionMaxBytes == 0 {
		c.PartitionMaxBytes = 1 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 50 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Follower.LocalID = c.LocalID
	return c
}

// Versions the fetcher speaks: Fetch v15 is the first with ReplicaState
// (broker epoch) and names topics by id; OffsetForLeaderEpoch v4 is
// flexible. Weir brokers serve both; there is no version negotiation.
const (
	fetchVersion     = 15
	epochEndVersion  = 4
	maxResponseSlack = 1 << 20 // headers on top of MaxBytes of records
	maxStepsPerPlan  = 4       // Next steps taken locally before a request
	readUncommitted  = 0
)

// Manager keeps one fetcher per leader broker: a goroutine that fetches
// every partition this broker follows from that leader in one Fetch
// request, in rounds (Kafka's ReplicaFetcherManager with one fetcher
// thread per broker). Safe for concurrent use. Every goroutine ends with
// the context given to NewManager, or at Close.
type Manager struct {
	ctx  context.Context
	cfg  Config
	mu   sync.Mutex
	fets map[int32]*fetcher
	// owner is the leader whose fetcher has each partition.
	owner map[TopicPartition]int32
	wg    sync.WaitGroup
}

// NewManager returns a Manager whose fetchers live until ctx ends (the
// node's context) or Close.
func NewManager(ctx context.Context, cfg Config) *Manager {
	return &Manager{ctx: ctx, cfg: cfg.withDefaults(), fets: map[int32]*fetcher{}, owner: map[TopicPartition]int32{}}
}

// ErrLeader means the assignment makes this broker the leader.
var ErrLeader = replica.ErrLeader

// Follow makes p follow leader in assignment a (the metadata image's
// partition), starting from high watermark hw; or, for a partition already
// followed, applies a newer assignment (a new leader epoch restarts its
// cycle; a new leader moves it to that leader's fetcher). It returns once
// the partition is registered; fetching happens on the fetcher goroutine.
func (m *Manager) Follow(tp TopicPartition, leader Broker, a replica.Assignment, hw int64, p Partition) error {
	if a.Leader == m.cfg.LocalID {
		return ErrLeader
	}
	if a.Leader != leader.ID {
		return fmt.Errorf("fetcher: %s: assignment names leader %d, not %d", tp, a.Leader, leader.ID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return m.ctx.Err()
	}
	if cur, ok := m.owner[tp]; ok && cur != leader.ID {
		if e := m.fets[cur].remove(tp); e != nil {
			hw = e.f.HighWatermark(e.p)
		}
		delete(m.owner, tp)
		m.stopIfIdle(cur)
	}
	f := m.fets[leader.ID]
	if f == nil {
		f = m.startFetcher(leader)
	}
	if err := f.follow(tp, leader.Addr, a, hw, p); err != nil {
		m.stopIfIdle(leader.ID)
		return err
	}
	m.owner[tp] = leader.ID
	return nil
}

// Stop stops following tp, before the broker makes it leader or closes
// it: when Stop returns, the fetcher makes no further call on its
// Partition. It returns the follower's high watermark.
func (m *Manager) Stop(tp TopicPartition) (hw int64, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, found := m.owner[tp]
	if !found {
		return 0, false
	}
	delete(m.owner, tp)
	e := m.fets[cur].remove(tp)
	m.stopIfIdle(cur)
	if e == nil {
		return 0, false
	}
	return e.f.HighWatermark(e.p), true
}

// Status is what the Manager knows of one followed partition.
type Status struct {
	TopicPartition
	Leader      int32
	LeaderEpoch int32
	State       replica.FollowerState
	Failed      bool
}

// Partitions lists the followed partitions, sorted.
func (m *Manager) Partitions() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Status
	for _, f := range m.fets {
		out = append(out, f.status()...)
	}
	slices.SortFunc(out, func(a, b Status) int { return compareTP(a.TopicPartition, b.TopicPartition) })
	return out
}

// Close stops every fetcher and waits for their goroutines.
func (m *Manager) Close() {
	m.mu.Lock()
	for id, f := range m.fets {
		f.stop()
		delete(m.fets, id)
	}
	clear(m.owner)
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *Manager) startFetcher(leader Broker) *fetcher {
	ctx, cancel := context.WithCancel(m.ctx)
	f := &fetcher{
		cfg:    &m.cfg,
		source: leader.ID,
		addr:   leader.Addr,
		parts:  map[TopicPartition]*entry{},
		wake:   make(chan struct{}, 1),
		cancel: cancel,
		log:    m.cfg.Logger.With("source", leader.ID),
	}
	m.fets[leader.ID] = f
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f.run(ctx)
	}()
	return f
}

// stopIfIdle ends the fetcher of a leader no partition follows any more.
// Call with m.mu held.
func (m *Manager) stopIfIdle(id int32) {
	if f := m.fets[id]; f != nil && f.empty() {
		f.stop()
		delete(m.fets, id)
	}
}

// fetcher fetches from one leader broker.
type fetcher struct {
	cfg    *Config
	source int32
	log    *slog.Logger
	cancel context.CancelFunc
	wake   chan struct{}

	// mu guards addr and parts, and is held during every call into a
	// Partition, so remove waits for one in progress.
	mu     sync.Mutex
	addr   string
	redial bool
	parts  map[TopicPartition]*entry
	// sorted is parts in compareTP order, nil when parts changed since
	// it was sorted: plan runs on every fetch, parts change rarely.
	sorted []*entry
	// resetSession asks the fetcher goroutine to start a new fetch
	// session: a partition was added, removed or restarted, so the
	// leader's session may hold answers its follower never took.
	resetSession bool

	conn    *conn               // only the fetcher goroutine uses it
	session fetchsession.Client // likewise: the fetch session with the leader
}

type entry struct {
	tp TopicPartition
	p  Partition
	f  *replica.Follower
	// gen grows whenever the follower restarts, so an answer to a request
	// sent before is dropped.
	gen uint64
	// retryAt is when a partition in backoff may fetch again, on the
	// clock's monotonic time (zero: not in backoff).
	retryAt time.Duration
	failed  bool
	// gapTold: a compaction gap was reported in this generation (one line
	// a leader epoch followed, not one a fetch).
	gapTold bool
}

func (f *fetcher) stop() { f.cancel() }

func (f *fetcher) wakeUp() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.parts) == 0
}

func (f *fetcher) follow(tp TopicPartition, addr string, a replica.Assignment, hw int64, p Partition) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if addr != f.addr {
		f.addr, f.redial = addr, true
	}
	if e := f.parts[tp]; e != nil && e.p == p {
		restart, err := e.f.UpdateAssignment(a, p)
		if err != nil {
			return err
		}
		if restart {
			e.gen++
			e.retryAt, e.failed, e.gapTold = 0, false, false
			f.resetSession = true
		}
		f.wakeUp()
		return nil
	}
	follower, err := replica.NewFollower(f.cfg.Follower, a, hw, p)
	if err != nil {
		return err
	}
	gen := uint64(0)
	if old := f.parts[tp]; old != nil {
		gen = old.gen + 1
	}
	f.parts[tp] = &entry{tp: tp, p: p, f: follower, gen: gen}
	f.sorted = nil
	f.resetSession = true
	f.wakeUp()
	return nil
}

// remove forgets tp; once it returns (it takes mu) no call on its Partition
// is in progress or will start.
func (f *fetcher) remove(tp TopicPartition) *entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.parts[tp]
	delete(f.parts, tp)
	f.sorted = nil
	f.resetSession = true
	return e
}

func (f *fetcher) status() []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Status, 0, len(f.parts))
	for _, e := range f.parts {
		out = append(out, Status{TopicPartition: e.tp, Leader: e.f.Leader(), LeaderEpoch: e.f.LeaderEpoch(), State: e.f.State(), Failed: e.failed})
	}
	return out
}

// request is one partition's part of a request in flight.
type request struct {
	e    *entry
	gen  uint64
	step replica.Step
}

// failure is a partition whose storage failed, to report without mu.
type failure struct {
	tp  TopicPartition
	err error
}

// run is the fetcher's loop: plan (local steps: fsync, truncate), ask the
// epochs that must be asked, fetch, apply; back off on errors.
func (f *fetcher) run(ctx context.Context) {
	defer f.disconnect()
	backoff := f.cfg.BackoffMin
	for ctx.Err() == nil {
		// The plan reads the partitions as they are now: a wake-up from
		// before it is answered by it.
		select {
		case <-f.wake:
		default:
		}
		asks, fetches, next := f.plan()
		if len(asks) == 0 && len(fetches) == 0 {
			f.wait(ctx, next)
			continue
		}
		err := f.round(ctx, asks, fetches)
		if err == nil {
			backoff = f.cfg.BackoffMin
			continue
		}
		if ctx.Err() != nil {
			return
		}
		f.log.Info("replica fetch failed; backing off", "addr", f.currentAddr(), "backoff", backoff, "err", err)
		f.disconnect()
		f.wait(ctx, f.cfg.Clock.Monotonic()+backoff)
		backoff = min(2*backoff, f.cfg.BackoffMax)
	}
}

func (f *fetcher) round(ctx context.Context, asks, fetches []request) error {
	c, err := f.connect(ctx)
	if err != nil {
		return err
	}
	if len(asks) > 0 {
		if err := f.askEpochEnds(ctx, c, asks); err != nil {
			return err
		}
	}
	if len(fetches) > 0 {
		return f.fetch(ctx, c, fetches)
	}
	return nil
}

// plan takes each partition's local steps and collects the requests.
// next is when a partition in backoff may go again, on the clock's
// monotonic time (zero: none).
func (f *fetcher) plan() (asks, fetches []request, next time.Duration) {
	f.mu.Lock()
	var failed []failure
	now := f.cfg.Clock.Monotonic()
	for _, e := range f.sortedLocked() {
		if e.failed {
			continue
		}
		if now < e.retryAt {
			if next == 0 || e.retryAt < next {
				next = e.retryAt
			}
			continue
		}
	steps:
		for range maxStepsPerPlan {
			step := e.f.Next(e.p)
			var err error
			switch step.Kind {
			case replica.StepSync:
				err = e.p.Sync()
			case replica.StepTruncate:
				if err = e.p.TruncateTo(step.TruncateTo); err == nil {
					e.p.SetHighWatermark(e.f.HighWatermark(e.p))
				}
			case replica.StepAskEpochEnd:
				asks = append(asks, request{e, e.gen, step})
				break steps
			case replica.StepFetch:
				fetches = append(fetches, request{e, e.gen, step})
				break steps
			default:
				break steps
			}
			if err != nil {
				failed = append(failed, f.failLocked(e, err))
				break
			}
		}
	}
	f.mu.Unlock()
	f.report(failed)
	return asks, fetches, next
}

// sortedLocked is parts in compareTP order. The caller must not keep or
// change the slice.
func (f *fetcher) sortedLocked() []*entry {
	if f.sorted != nil || len(f.parts) == 0 {
		return f.sorted
	}
	out := make([]*entry, 0, len(f.parts))
	for _, e := range f.parts {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *entry) int { return compareTP(a.tp, b.tp) })
	f.sorted = out
	return out
}

func (f *fetcher) failLocked(e *entry, err error) failure {
	e.failed = true
	f.log.Error("replica storage failed; no longer fetching the partition", "partition", e.tp, "err", err)
	return failure{e.tp, err}
}

func (f *fetcher) report(failed []failure) {
	if f.cfg.OnError == nil {
		return
	}
	for _, x := range failed {
		f.cfg.OnError(x.tp, x.err)
	}
}

// current reports whether r's partition is still the one asked about.
// Call with mu held.
func (f *fetcher) currentLocked(r request) bool {
	e := f.parts[r.e.tp]
	return e == r.e && e.gen == r.gen && !e.failed
}

func (f *fetcher) askEpochEnds(ctx context.Context, c *conn, asks []request) error {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = epochEndVersion
	req.ReplicaID = f.cfg.LocalID
	for _, r := range asks {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != r.e.tp.Topic {
			t := kmsg.NewOffsetForLeaderEpochRequestTopic()
			t.Topic = r.e.tp.Topic
			req.Topics = append(req.Topics, t)
		}
		p := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		p.Partition = r.e.tp.Partition
		p.CurrentLeaderEpoch = r.step.CurrentLeaderEpoch
		p.LeaderEpoch = r.step.Epoch
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, p)
	}
	kresp, err := f.send(ctx, c, req)
	if err != nil {
		return err
	}
	resp := kresp.(*kmsg.OffsetForLeaderEpochResponse)
	type key struct {
		topic string
		part  int32
	}
	answers := map[key]kmsg.OffsetForLeaderEpochResponseTopicPartition{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			answers[key{t.Topic, p.Partition}] = p
		}
	}
	f.mu.Lock()
	var failed []failure
	for _, r := range asks {
		a, ok := answers[key{r.e.tp.Topic, r.e.tp.Partition}]
		if !ok || !f.currentLocked(r) {
			continue
		}
		act := r.e.f.OnEpochEnd(a.ErrorCode, a.LeaderEpoch, a.EndOffset, r.e.p)
		if x, bad := f.applyLocked(r.e, act); bad {
			failed = append(failed, x)
		}
	}
	f.mu.Unlock()
	f.report(failed)
	return nil
}

// fetch sends one Fetch for fetches in the fetch session with the leader
// (KIP-227): the first is full and opens the session; later ones carry
// only the partitions whose fetch parameters changed, and the answer only
// those with something new. A session error (the leader restarted or
// evicted the session) is answered at once by a full fetch that opens a
// new one.
func (f *fetcher) fetch(ctx context.Context, c *conn, fetches []request) error {
	want := wantOf(fetches, f.cfg.PartitionMaxBytes)
	f.mu.Lock()
	if f.resetSession {
		f.resetSession = false
		f.session.Reset()
	}
	f.mu.Unlock()
	var resp *kmsg.FetchResponse
	for attempt := 0; ; attempt++ {
		req := f.fetchRequest()
		f.session.Build(req, want)
		kresp, err := f.send(ctx, c, req)
		if err != nil {
			f.session.Failed()
			return err
		}
		resp = kresp.(*kmsg.FetchResponse)
		err = f.session.Done(resp)
		if err == nil {
			break
		}
		if attempt > 0 || !isSessionError(resp.ErrorCode) {
			return fmt.Errorf("fetch: %w", kerr.ErrorForCode(resp.ErrorCode))
		}
		f.log.Info("fetch session refused; fetching in full", "err", err)
	}
	f.apply(fetches, resp)
	return nil
}

// isSessionError tells the top-level errors a new session cures.
func isSessionError(code int16) bool {
	switch code {
	case kerr.FetchSessionIDNotFound.Code, kerr.InvalidFetchSessionEpoch.Code, kerr.FetchSessionTopicIDError.Code:
		return true
	}
	return false
}

func (f *fetcher) fetchRequest() *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.Version = fetchVersion
	req.ReplicaState.ID = f.cfg.LocalID
	req.ReplicaState.Epoch = f.cfg.BrokerEpoch
	req.MaxWaitMillis = int32(f.cfg.MaxWait / time.Millisecond)
	req.MinBytes = f.cfg.MinBytes
	req.MaxBytes = f.cfg.MaxBytes
	req.IsolationLevel = readUncommitted
	return req
}

// wantOf is the request's topics for fetches (sorted by topic): what a
// full fetch would send.
func wantOf(fetches []request, partitionMaxBytes int32) []kmsg.FetchRequestTopic {
	var topics []kmsg.FetchRequestTopic
	for _, r := range fetches {
		if n := len(topics); n == 0 || topics[n-1].TopicID != r.e.tp.TopicID {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = r.e.tp.Topic, r.e.tp.TopicID
			topics = append(topics, t)
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = r.e.tp.Partition
		p.CurrentLeaderEpoch = r.step.CurrentLeaderEpoch
		p.FetchOffset = r.step.FetchOffset
		p.LastFetchedEpoch = r.step.LastFetchedEpoch
		p.LogStartOffset = r.step.LogStartOffset
		p.PartitionMaxBytes = partitionMaxBytes
		t := &topics[len(topics)-1]
		t.Partitions = append(t.Partitions, p)
	}
	return topics
}

// apply hands each partition's answer to its Follower. A partition the
// answer leaves out had nothing new (an incremental answer). An answer
// the fetcher drops (its partition restarted or moved meanwhile) resets
// the session: the leader's session counts it as told.
func (f *fetcher) apply(fetches []request, resp *kmsg.FetchResponse) {
	type key struct {
		id   [16]byte
		part int32
	}
	answers := map[key]*kmsg.FetchResponseTopicPartition{}
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			answers[key{t.TopicID, t.Partitions[j].Partition}] = &t.Partitions[j]
		}
	}
	f.mu.Lock()
	var failed []failure
	for _, r := range fetches {
		a := answers[key{r.e.tp.TopicID, r.e.tp.Partition}]
		if a == nil {
			continue
		}
		if !f.currentLocked(r) {
			f.resetSession = true
			continue
		}
		res := replica.FetchResult{
			FetchOffset:        r.step.FetchOffset,
			Err:                a.ErrorCode,
			HighWatermark:      a.HighWatermark,
			LogStartOffset:     a.LogStartOffset,
			DivergingEpoch:     a.DivergingEpoch.Epoch,
			DivergingEndOffset: a.DivergingEpoch.EndOffset,
			Records:            a.RecordBatches,
		}
		var err error
		if res.Tombstones, err = TombstoneMarkOf(a); err != nil {
			// What the leader's log lacks is unknown: take nothing of this
			// answer (an error code makes the Follower back off).
			f.log.Warn("leader's fetch answer refused", "partition", r.e.tp, "err", err)
			res.Err, res.Records = kerr.CorruptMessage.Code, nil
		}
		if x, bad := f.applyLocked(r.e, r.e.f.OnFetch(res, r.e.p)); bad {
			failed = append(failed, x)
		}
	}
	f.mu.Unlock()
	f.report(failed)
}

// applyLocked carries out a follower Action on its partition.
func (f *fetcher) applyLocked(e *entry, a replica.Action) (failure, bool) {
	if a.Err != nil {
		f.log.Debug("replica answer refused", "partition", e.tp, "err", a.Err)
	}
	// The mark first: if the log lacks what the leader's lacks, its mark
	// must already say so, whatever a crash leaves of what follows.
	err := e.p.InheritTombstoneMark(a.Tombstones)
	switch {
	case err != nil:
	case a.TruncateTo >= 0:
		err = e.p.TruncateTo(a.TruncateTo)
	case a.StartAt >= 0:
		if a.Recopy {
			f.log.Info("follower copies the leader's log again: the leader's cleaner removed tombstones past its log end", "partition", e.tp,
				"leader_epoch", e.f.LeaderEpoch(), "log_start", e.p.StartOffset(), "log_end", e.p.EndOffset(),
				"leader_log_start", a.StartAt, "tombstones_below", a.Tombstones.Below, "tombstones_gen", a.Tombstones.Gen)
		}
		err = e.p.TruncateFullyAndStartAt(a.StartAt)
	}
	if err == nil && len(a.Append) > 0 {
		err = e.p.AppendReplicated(a.Append)
	}
	if err != nil {
		return f.failLocked(e, err), true
	}
	hw := e.f.HighWatermark(e.p)
	e.p.SetHighWatermark(hw)
	if len(a.Gaps) > 0 && !e.gapTold {
		e.gapTold = true
		first := a.Gaps[0]
		f.log.Info("follower copied a compaction gap of the leader's log", "partition", e.tp, "leader_epoch", e.f.LeaderEpoch(),
			"gap_from", first.From, "gap_to", first.To, "gaps", len(a.Gaps), "log_end", e.p.EndOffset(), "high_watermark", hw)
	}
	if a.Backoff {
		// Monotonic time: a wall clock stepped back would stretch the
		// backoff by the step (seed 5173 sat out a whole liveness phase),
		// one stepped ahead would cut it short. Never zero: BackoffMax > 0.
		e.retryAt = f.cfg.Clock.Monotonic() + f.cfg.BackoffMax
	}
	return failure{}, false
}

// send runs one request, bounded by MaxWait plus RequestTimeout and by
// ctx: either closes the connection, which ends the blocked read.
func (f *fetcher) send(ctx context.Context, c *conn, req kmsg.Request) (kmsg.Response, error) {
	timer := f.cfg.Clock.AfterFunc(f.cfg.MaxWait+f.cfg.RequestTimeout, func() { c.close() })
	defer timer.Stop()
	stop := context.AfterFunc(ctx, func() { c.close() })
	defer stop()
	return c.roundTrip(req)
}

func (f *fetcher) currentAddr() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr
}

func (f *fetcher) connect(ctx context.Context) (*conn, error) {
	f.mu.Lock()
	addr, redial := f.addr, f.redial
	f.redial = false
	f.mu.Unlock()
	if redial {
		f.disconnect()
	}
	if f.conn != nil {
		return f.conn, nil
	}
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := f.cfg.Clock.AfterFunc(f.cfg.RequestTimeout, cancel)
	defer timer.Stop()
	c, err := dial(dctx, f.cfg.Net, addr, f.cfg.ClientID, int(f.cfg.MaxBytes)+maxResponseSlack)
	if err != nil {
		return nil, fmt.Errorf("dialing leader %d at %s: %w", f.source, addr, err)
	}
	f.conn = c
	return c, nil
}

func (f *fetcher) disconnect() {
	// A request may have been lost with the connection: the next fetch
	// closes the session and opens a new one.
	f.session.Failed()
	if f.conn != nil {
		f.conn.close()
		f.conn = nil
	}
}

// wait blocks until until, on the clock's monotonic time (zero: no
// deadline), a partition change, or the end of ctx. It never spins: a
// zero-length wait still yields to a timer.
func (f *fetcher) wait(ctx context.Context, until time.Duration) {
	var timeout <-chan time.Time
	if until != 0 {
		t := f.cfg.Clock.NewTimer(max(until-f.cfg.Clock.Monotonic(), time.Millisecond))
		defer t.Stop()
		timeout = t.C()
	}
	select {
	case <-ctx.Done():
	case <-f.wake:
	case <-timeout:
	}
}
