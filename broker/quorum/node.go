package quorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/weir-dev/weir/broker/controller"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/env"
)

var (
	// ErrUnavailable: the quorum had no leader with a majority for the
	// whole of a request's time (a lost majority, or an election that did
	// not finish). Nothing was proposed.
	ErrUnavailable = errors.New("quorum: metadata quorum unavailable: no leader with a majority")
	// ErrLeadershipLost: the leader lost its leadership while a change
	// was in flight; the change may or may not be committed.
	ErrLeadershipLost = errors.New("quorum: controller lost leadership; the change may or may not have been applied")
	// ErrTimeout: a change was proposed but not committed before the
	// deadline; it may or may not be applied later.
	ErrTimeout = errors.New("quorum: change not committed before the deadline; it may or may not be applied")
	// ErrClosed: the node has stopped.
	ErrClosed = errors.New("quorum: node stopped")
	// errNotLeader is what a non-leader answers a forwarded request; the
	// sender finds the leader again and retries (nothing was proposed).
	errNotLeader = errors.New("quorum: not leader")
)

// Node is one member of the metadata quorum: a voter, or a learner that
// follows the log. Submit, Image, Wait and Status are safe for
// concurrent use.
type Node struct {
	cfg  Config
	id   uint64
	ctrl *controller.Controller
	// ctrlTime is the controller's time: its broker sessions are timeouts,
	// kept, as Kafka's BrokerHeartbeatManager keeps them, on monotonic
	// time, so a step of the wall clock ahead fences no broker and a step
	// back stretches no session.
	ctrlTime env.SteadyClock
	log      *diskLog
	tr       *transport
	rn       *raft.RawNode

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	recvc   chan pb.Message
	reqc    chan *waiter
	tickc   chan struct{}
	reportc chan report

	// Owned by the loop goroutine.
	image     *metadata.Image
	spec      *metadata.Image // the leader's image of its own log; nil unless deciding
	confState pb.ConfState
	addrs     map[uint64]string
	applied   uint64
	appliedT  uint64
	leader    uint64
	term      uint64
	isLeader  bool
	seq       uint64
	proposals map[uint64]*waiter // by proposal seq, on the leader
	reads     []*waiter          // answers without records, waiting for the log to reach them
	notReady  []*waiter          // requests that came before this leader could decide
	sinceSnap uint64
	fatal     error

	mu      sync.Mutex // guards pub and changed
	pub     published
	changed chan struct{} // closed and replaced whenever pub changes
}

type published struct {
	image  *metadata.Image
	status Status
}

// Status is a node's view of the quorum.
type Status struct {
	Node        int32
	Voter       bool
	Leader      int32 // -1 when unknown
	Term        uint64
	Committed   uint64
	Applied     uint64
	ImageOffset metadata.Offset
	Voters      []int32
	Learners    []int32
	// Deciding: this node is the leader and its controller decides.
	Deciding bool
	// Err is set once the node stopped on a fault (a failed fsync).
	Err error
}

// waiter is one request to the loop and where its outcome goes.
type waiter struct {
	req    any    // kmsg.Request, or joinRequest
	resp   any    // the answer, once decided
	index  uint64 // for a read: the offset the answer waits for
	result chan outcome
}

type outcome struct {
	resp any
	err  error
}

type joinRequest struct {
	id   uint64
	addr string
}

func (w *waiter) reply(resp any, err error) {
	w.result <- outcome{resp: resp, err: err} // buffered: never blocks
}

// Start recovers the node's log from cfg.Dir, listens on its controller
// listener and joins the quorum. Its goroutines end when ctx ends or
// Close is called.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, id: raftID(cfg.NodeID),
		ctrl:      controller.New(cfg.Controller, cfg.Rand),
		ctrlTime:  env.NewSteadyClock(cfg.Clock),
		recvc:     make(chan pb.Message, 256),
		reqc:      make(chan *waiter, 64),
		tickc:     make(chan struct{}, 1),
		reportc:   make(chan report, 256),
		addrs:     map[uint64]string{},
		changed:   make(chan struct{}),
		done:      make(chan struct{}),
		proposals: map[uint64]*waiter{},
	}
	voters := make([]uint64, 0, len(cfg.Voters))
	for _, v := range cfg.Voters {
		voters = append(voters, raftID(v.ID))
		n.addrs[raftID(v.ID)] = v.Addr
	}
	var initial *pb.Snapshot
	if slices.Contains(voters, n.id) {
		// Every voter of a new cluster starts from the same snapshot: an
		// empty image at index 1 with the voters as the configuration.
		empty, _ := metadata.Empty(cfg.Defaults).Apply(metadata.Offset{Index: 1, Term: 1}, nil)
		initial = &pb.Snapshot{
			Data:     encodeSnapData(n.addrs, empty),
			Metadata: pb.SnapshotMetadata{Index: 1, Term: 1, ConfState: pb.ConfState{Voters: voters}},
		}
	}
	dl, hs, err := openLog(cfg.FS, cfg.Dir, initial)
	if err != nil {
		return nil, err
	}
	n.log = dl
	n.image = metadata.Empty(cfg.Defaults)
	snap, _ := dl.Snapshot()
	if !raft.IsEmptySnap(snap) {
		if err := n.restore(snap); err != nil {
			dl.close()
			return nil, err
		}
	}
	n.term = hs.Term
	rn, err := raft.NewRawNode(&raft.Config{
		ID: n.id, ElectionTick: cfg.ElectionTicks, HeartbeatTick: cfg.HeartbeatTicks,
		Storage: dl, Applied: snap.Metadata.Index,
		MaxSizePerMsg: 1 << 20, MaxInflightMsgs: 256, MaxUncommittedEntriesSize: 64 << 20,
		CheckQuorum: true, PreVote: true, DisableProposalForwarding: true,
		Logger: &raft.DefaultLogger{Logger: log.New(io.Discard, "", 0)},
	})
	if err != nil {
		dl.close()
		return nil, err
	}
	n.rn = rn
	if len(voters) == 1 && voters[0] == n.id {
		// A lone voter is its own majority: no reason to wait an
		// election timeout (a single broker starts at once).
		if err := rn.Campaign(); err != nil {
			dl.close()
			return nil, err
		}
	}
	n.ctx, n.cancel = context.WithCancel(ctx)
	n.tr = newTransport(n.ctx, n.id, cfg.Net, cfg.Clock, cfg.Logger)
	n.tr.deliver = n.deliver
	n.tr.reports = n.reportc
	n.tr.handle = n.handleRPC
	for id, a := range n.addrs {
		n.tr.setAddr(id, a)
	}
	if !cfg.Standalone {
		l, err := cfg.Net.Listen(n.ctx, cfg.ListenAddr)
		if err != nil {
			n.cancel()
			dl.close()
			return nil, fmt.Errorf("quorum: controller listener %s: %w", cfg.ListenAddr, err)
		}
		go n.tr.serve(l)
	}
	n.publish()
	go n.ticker()
	go n.run()
	if !slices.Contains(voters, n.id) {
		go n.joinAsLearner()
	}
	return n, nil
}

// restore makes a snapshot's image and address book the node's state.
func (n *Node) restore(snap pb.Snapshot) error {
	addrs, img, err := decodeSnapData(snap.Data, n.cfg.Defaults)
	if err != nil {
		return fmt.Errorf("quorum: snapshot %d: %w", snap.Metadata.Index, err)
	}
	for id, a := range addrs {
		if n.configured(id) {
			// controller.quorum.voters is the operator's word on where a
			// voter listens now; the snapshot only remembers where it did
			// (a restart on other ports must still find its peers).
			continue
		}
		n.addrs[id] = a
		if n.tr != nil {
			n.tr.setAddr(id, a)
		}
	}
	n.image, n.confState = img, snap.Metadata.ConfState
	n.applied, n.appliedT = snap.Metadata.Index, snap.Metadata.Term
	n.observe(Event{Kind: EventSnapshot, Node: n.cfg.NodeID, Term: snap.Metadata.Term, Index: snap.Metadata.Index, Image: img})
	return nil
}

// configured reports whether id is a voter named in the node's own
// configuration, whose address therefore comes from there.
func (n *Node) configured(id uint64) bool {
	for _, v := range n.cfg.Voters {
		if raftID(v.ID) == id {
			return true
		}
	}
	return false
}

// Close stops the node and waits for its loop.
func (n *Node) Close() error {
	n.cancel()
	<-n.done
	return nil
}

// Done is closed when the node has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

func (n *Node) deliver(m pb.Message) {
	select {
	case n.recvc <- m:
	case <-n.ctx.Done():
	}
}

// ticker turns the clock into Raft ticks; a tick the loop has not taken
// yet absorbs the next one.
func (n *Node) ticker() {
	for {
		t := n.cfg.Clock.NewTimer(n.cfg.TickInterval)
		select {
		case <-t.C():
			select {
			case n.tickc <- struct{}{}:
			default:
			}
		case <-n.ctx.Done():
			t.Stop()
			return
		}
	}
}

// run is the loop: the only goroutine that touches the RawNode, the log
// and the images it builds.
func (n *Node) run() {
	defer close(n.done)
	defer n.log.close()
	defer n.failAll(ErrClosed)
	for {
		// First, and after every event: a lone voter's campaign at Start
		// has a Ready before any event arrives.
		for n.rn.HasReady() {
			if err := n.ready(n.rn.Ready()); err != nil {
				n.stop(err)
				return
			}
		}
		n.publish()
		select {
		case <-n.ctx.Done():
			return
		case <-n.tickc:
			n.rn.Tick()
			n.tickController()
		case m := <-n.recvc:
			n.rn.Step(m) // errors are stale or foreign messages: dropped, as Raft expects
		case w := <-n.reqc:
			n.handle(w)
		case r := <-n.reportc:
			if r.snapshot {
				status := raft.SnapshotFailure
				if r.ok {
					status = raft.SnapshotFinish
				}
				n.rn.ReportSnapshot(r.to, status)
			}
			if !r.ok {
				n.rn.ReportUnreachable(r.to)
			}
		}
	}
}

// stop ends the node after a fault it cannot go on from (a failed write
// or fsync of the log): like Kafka's controller, it stops rather than
// vote or acknowledge on state it could not persist.
func (n *Node) stop(err error) {
	n.cfg.Logger.Error("metadata quorum node stopped", "node", n.cfg.NodeID, "err", err)
	n.fatal = err
	n.publish()
	n.cancel()
}

// ready handles one Ready in the order etcd raft requires: persist the
// snapshot, entries and hard state (fsynced), then send the messages,
// then apply what is committed.
func (n *Node) ready(rd raft.Ready) error {
	if rd.SoftState != nil {
		n.leader = rd.SoftState.Lead
		wasLeader := n.isLeader
		n.isLeader = rd.SoftState.RaftState == raft.StateLeader
		if wasLeader && !n.isLeader {
			n.stepDown()
		}
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if rd.HardState.Term != n.term && n.isLeader {
			n.stepDown() // a new term: whatever this node decided before is void
		}
		n.term = rd.HardState.Term
	}
	if rd.SoftState != nil && n.isLeader {
		n.observe(Event{Kind: EventLeader, Node: n.cfg.NodeID, Term: n.term, Leader: n.cfg.NodeID})
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := n.log.installSnapshot(rd.Snapshot, rd.HardState); err != nil {
			return err
		}
		if err := n.restore(rd.Snapshot); err != nil {
			return err
		}
		n.failReads()
	}
	if err := n.log.save(rd.HardState, rd.Entries, rd.MustSync); err != nil {
		return err
	}
	n.tr.send(rd.Messages)
	for _, e := range rd.CommittedEntries {
		n.apply(e)
	}
	n.rn.Advance(rd)
	n.becomeReady()
	return n.maybeSnapshot()
}

// stepDown voids this node's decisions: waiting proposals get
// ErrLeadershipLost (they may still commit under the next leader).
func (n *Node) stepDown() {
	n.spec = nil
	for seq, w := range n.proposals {
		w.reply(nil, ErrLeadershipLost)
		delete(n.proposals, seq)
	}
	n.failReads()
	for _, w := range n.notReady {
		w.reply(nil, errNotLeader)
	}
	n.notReady = nil
}

func (n *Node) failReads() {
	for _, w := range n.reads {
		w.reply(nil, ErrLeadershipLost)
	}
	n.reads = nil
}

func (n *Node) failAll(err error) {
	for seq, w := range n.proposals {
		w.reply(nil, err)
		delete(n.proposals, seq)
	}
	for _, w := range append(n.reads, n.notReady...) {
		w.reply(nil, err)
	}
	n.reads, n.notReady = nil, nil
	for {
		select {
		case w := <-n.reqc:
			w.reply(nil, err)
		default:
			return
		}
	}
}

// becomeReady starts deciding once this leader has applied an entry of
// its own term: then its image holds every committed entry, and its log
// nothing past them, so its own image is the one to decide on.
func (n *Node) becomeReady() {
	if !n.isLeader || n.spec != nil || n.appliedT != n.term {
		return
	}
	if last, _ := n.log.LastIndex(); last != n.applied {
		return
	}
	n.spec = n.image
	n.ctrl.Activate(n.image, n.ctrlTime.Now())
	if recs := n.ctrl.Bootstrap(n.spec); recs != nil {
		n.propose(recs, nil)
	}
	pending := n.notReady
	n.notReady = nil
	for _, w := range pending {
		n.handle(w)
	}
}

func (n *Node) tickController() {
	if n.spec == nil {
		return
	}
	if recs := n.ctrl.Tick(n.spec, n.ctrlTime.Now()); len(recs) > 0 {
		n.propose(recs, nil)
	}
}

// handle decides one request on the leader.
func (n *Node) handle(w *waiter) {
	if _, ok := w.req.(progressRequest); ok {
		w.reply(n.progress(), nil)
		return
	}
	if !n.isLeader {
		w.reply(nil, errNotLeader)
		return
	}
	if n.spec == nil {
		n.notReady = append(n.notReady, w)
		return
	}
	switch req := w.req.(type) {
	case joinRequest:
		n.join(w, req)
		return
	}
	kreq, ok := w.req.(kmsg.Request)
	if !ok {
		w.reply(nil, fmt.Errorf("quorum: unknown request %T", w.req))
		return
	}
	res := n.ctrl.Decide(n.spec, kreq, n.ctrlTime.Now())
	w.resp = res.Response
	switch {
	case res.Err != nil:
		w.reply(nil, res.Err)
	case len(res.Records) > 0:
		n.propose(res.Records, w)
	case n.spec.Offset().Index <= n.applied:
		w.reply(res.Response, nil)
	default:
		// An answer read from proposals not yet committed is given only
		// once they are (or not at all, if this leader falls first).
		w.index = n.spec.Offset().Index
		n.reads = append(n.reads, w)
	}
}

// propose appends records as one entry; w, if any, gets its answer when
// the entry is applied.
func (n *Node) propose(records []metadata.Record, w *waiter) {
	n.seq++
	data := binary.BigEndian.AppendUint64([]byte{envelopeVersion}, n.id)
	data = binary.BigEndian.AppendUint64(data, n.seq)
	data = metadata.EncodeBatch(data, records)
	if err := n.rn.Propose(data); err != nil {
		if w != nil {
			w.reply(nil, fmt.Errorf("%w: %v", errNotLeader, err))
		}
		return
	}
	off := metadata.Offset{Index: n.spec.Offset().Index + 1, Term: n.term}
	next, err := n.spec.Apply(off, records)
	if err != nil {
		// A controller bug: the entry will fail to apply everywhere.
		n.cfg.Logger.Error("controller decision does not apply", "err", err)
		next, _ = n.spec.Apply(off, nil)
	}
	n.spec = next
	if w != nil {
		n.proposals[n.seq] = w
	}
}

// envelope: version u8 | proposer raft id u64 | sequence u64 | batch
const envelopeVersion = 1

func decodeEnvelope(data []byte) (proposer, seq uint64, batch []byte, err error) {
	if len(data) < 17 || data[0] != envelopeVersion {
		return 0, 0, nil, fmt.Errorf("%w: entry envelope", metadata.ErrCorrupt)
	}
	return binary.BigEndian.Uint64(data[1:]), binary.BigEndian.Uint64(data[9:]), data[17:], nil
}

// apply applies one committed entry to the image.
func (n *Node) apply(e pb.Entry) {
	if e.Index <= n.applied {
		return
	}
	off := metadata.Offset{Index: e.Index, Term: e.Term}
	var records []metadata.Record
	var applyErr error
	var proposer, seq uint64
	switch e.Type {
	case pb.EntryNormal:
		if len(e.Data) > 0 {
			var batch []byte
			proposer, seq, batch, applyErr = decodeEnvelope(e.Data)
			if applyErr == nil {
				records, applyErr = metadata.DecodeBatch(batch)
			}
		}
	case pb.EntryConfChange, pb.EntryConfChangeV2:
		applyErr = n.applyConfChange(e)
	}
	next, err := n.image.Apply(off, records)
	if err != nil {
		// Every node fails the same entry the same way and skips it, so
		// images stay identical; the checker sees the error.
		applyErr = err
		next, _ = n.image.Apply(off, nil)
	}
	if applyErr != nil {
		n.cfg.Logger.Error("metadata entry not applied", "index", e.Index, "err", applyErr)
	}
	n.image, n.applied, n.appliedT = next, e.Index, e.Term
	n.sinceSnap++
	n.observe(Event{Kind: EventApply, Node: n.cfg.NodeID, Term: e.Term, Index: e.Index, Image: next, Records: records, ApplyErr: applyErr})
	if proposer == n.id {
		if w, ok := n.proposals[seq]; ok {
			delete(n.proposals, seq)
			w.reply(w.resp, nil)
		}
	}
	kept := n.reads[:0]
	for _, w := range n.reads {
		if w.index <= n.applied {
			w.reply(w.resp, nil)
		} else {
			kept = append(kept, w)
		}
	}
	n.reads = kept
}

func (n *Node) applyConfChange(e pb.Entry) error {
	var cc pb.ConfChangeI
	if e.Type == pb.EntryConfChange {
		var c pb.ConfChange
		if err := c.Unmarshal(e.Data); err != nil {
			return err
		}
		cc = c
	} else {
		var c pb.ConfChangeV2
		if err := c.Unmarshal(e.Data); err != nil {
			return err
		}
		cc = c
	}
	v2 := cc.AsV2()
	if len(v2.Context) > 0 {
		for _, ch := range v2.Changes {
			n.addrs[ch.NodeID] = string(v2.Context)
			n.tr.setAddr(ch.NodeID, string(v2.Context))
		}
	}
	n.confState = *n.rn.ApplyConfChange(cc)
	// A learner that joins starts from a snapshot; it must name the new
	// configuration or Raft refuses it. Make one now, in memory.
	img, _ := n.image.Apply(metadata.Offset{Index: e.Index, Term: e.Term}, nil)
	if _, err := n.log.CreateSnapshot(e.Index, &n.confState, encodeSnapData(n.addrs, img)); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return err
	}
	return nil
}

// maybeSnapshot writes a snapshot and compacts the log every
// SnapshotEntries applied entries.
func (n *Node) maybeSnapshot() error {
	if n.sinceSnap < n.cfg.SnapshotEntries {
		return nil
	}
	n.sinceSnap = 0
	keep := n.cfg.SnapshotEntries / 2
	keepFrom := uint64(1)
	if n.applied > keep {
		keepFrom = n.applied - keep
	}
	snap, _ := n.log.Snapshot()
	if snap.Metadata.Index >= n.applied {
		return nil
	}
	return n.log.compact(n.applied, n.confState, encodeSnapData(n.addrs, n.image), keepFrom)
}

func (n *Node) observe(e Event) {
	if n.cfg.Observer != nil {
		n.cfg.Observer(e)
	}
}

// publish makes the loop's state visible to Image, Wait and Status.
func (n *Node) publish() {
	st := n.rn.BasicStatus() // no progress map: this runs after every event
	s := Status{
		Node: n.cfg.NodeID, Leader: nodeID(n.leader), Term: st.Term,
		Committed: st.Commit, Applied: n.applied, ImageOffset: n.image.Offset(),
		Deciding: n.spec != nil, Err: n.fatal,
	}
	for _, v := range n.confState.Voters {
		s.Voters = append(s.Voters, nodeID(v))
		s.Voter = s.Voter || v == n.id
	}
	for _, l := range n.confState.Learners {
		s.Learners = append(s.Learners, nodeID(l))
	}
	slices.Sort(s.Voters)
	slices.Sort(s.Learners)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pub.image == n.image && statusEqual(n.pub.status, s) {
		return
	}
	n.pub = published{image: n.image, status: s}
	close(n.changed)
	n.changed = make(chan struct{})
}

func statusEqual(a, b Status) bool {
	return a.Leader == b.Leader && a.Term == b.Term && a.Committed == b.Committed && a.Applied == b.Applied &&
		a.Deciding == b.Deciding && a.Err == b.Err && slices.Equal(a.Voters, b.Voters) && slices.Equal(a.Learners, b.Learners)
}

// Image is the newest image this node has applied.
func (n *Node) Image() *metadata.Image {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pub.image
}

// Status is this node's view of the quorum.
func (n *Node) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pub.status
}

// Wait returns the newest image once its offset is past after, or ctx's
// error. A broker's reconciler loops on it: Wait(ctx, img.Offset()).
// Images may be skipped: the newest one includes them.
func (n *Node) Wait(ctx context.Context, after metadata.Offset) (*metadata.Image, error) {
	for {
		n.mu.Lock()
		img, ch := n.pub.image, n.changed
		n.mu.Unlock()
		if img.Offset().Index > after.Index {
			return img, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-n.done:
			return nil, ErrClosed
		}
	}
}

// changes returns the channel closed at the next published change.
func (n *Node) changes() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

// progressRequest asks the loop for the replication progress it knows.
type progressRequest struct{}

// Replica is one member of the quorum as the leader sees it.
type Replica struct {
	Node  int32
	Voter bool
	// Match is the highest log index known to be on the node: exact on
	// the leader, -1 elsewhere (only the leader tracks it).
	Match int64
}

func (n *Node) progress() []Replica {
	var out []Replica
	if n.isLeader {
		for id, pr := range n.rn.Status().Progress {
			out = append(out, Replica{Node: nodeID(id), Voter: !pr.IsLearner, Match: int64(pr.Match)})
		}
	} else {
		for _, v := range n.confState.Voters {
			out = append(out, Replica{Node: nodeID(v), Voter: true, Match: -1})
		}
		for _, l := range n.confState.Learners {
			out = append(out, Replica{Node: nodeID(l), Match: -1})
		}
	}
	slices.SortFunc(out, func(a, b Replica) int { return int(a.Node) - int(b.Node) })
	return out
}

// Progress lists the quorum's members with how far their logs reach, as
// this node knows it (the leader knows each member's log; others know
// only who the members are): what DescribeQuorum reports.
func (n *Node) Progress(ctx context.Context) ([]Replica, error) {
	w := &waiter{req: progressRequest{}, result: make(chan outcome, 1)}
	select {
	case n.reqc <- w:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, ErrClosed
	}
	select {
	case o := <-w.result:
		rs, _ := o.resp.([]Replica)
		return rs, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, ErrClosed
	}
}
