package replica_test

// A model cluster for the replication state machines: three (or more)
// replicas of one partition, each with an in-memory log, a durable prefix,
// a real epoch.Cache and a real replica.Leader or replica.Follower, and a
// KRaft-like controller that fences crashed brokers, elects only from the
// ISR (unless told to elect uncleanly) and accepts AlterPartition only at
// the current leader and partition epochs. Messages (metadata records,
// AlterPartition requests and answers) are delivered when an operation
// says so, so any order the network could produce can be driven.
//
// The datadriven scenarios (testdata/*.txt) and the rapid property drive
// the same operations; the property checks the invariants after each.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/broker/replica/epoch"
)

// mbatch is a batch in a model log. Its records hold the values first,
// first+1, ...; the batch's first timestamp is first, so a fetched batch
// says which values it carries.
type mbatch struct {
	base  int64
	epoch int32
	first int64
	n     int
	raw   []byte
}

func (b mbatch) end() int64 { return b.base + int64(b.n) }

func newBatch(base int64, ep int32, first int64, n int) mbatch {
	values := make([][]byte, n)
	for i := range values {
		values[i] = fmt.Appendf(nil, "v%d", first+int64(i))
	}
	raw := recordtest.Batch(recordtest.Options{TimestampMs: first}, values...)
	record.SetBaseOffset(raw, base)
	record.SetLeaderEpoch(raw, ep)
	return mbatch{base: base, epoch: ep, first: first, n: n, raw: raw}
}

type node struct {
	id       int32
	alive    bool
	start    int64
	batches  []mbatch
	synced   int64 // offsets below survive a crash
	cache    *epoch.Cache
	leader   *replica.Leader
	follower *replica.Follower
	hw       int64 // the high watermark while neither leader nor follower
	applied  int   // metadata records applied; -1 after a restart
	// maxHW and maxEpoch: the highest high watermark and leader epoch this
	// incarnation has had, to check they never go back.
	maxHW    int64
	maxEpoch int32
	// mark is the log's tombstone mark (durable: a crash keeps it). The
	// model's logs hold no keys; removeTombstones stands for a cleaner
	// pass that removed tombstones, as far as the mark can tell.
	mark replica.TombstoneMark
}

func (n *node) StartOffset() int64 { return n.start }
func (n *node) EndOffset() int64 {
	if len(n.batches) == 0 {
		return n.start
	}
	return n.batches[len(n.batches)-1].end()
}
func (n *node) DurableOffset() int64 { return n.synced }
func (n *node) LatestEpoch() int32   { return n.cache.LatestEpoch() }
func (n *node) EndOffsetForEpoch(e int32) (int32, int64) {
	return n.cache.EndOffsetFor(e, n.EndOffset())
}
func (n *node) local() replica.Local { return replica.Local{End: n.EndOffset(), Durable: n.synced} }

// valueAt is the value at offset o, and whether the log holds it.
func (n *node) valueAt(o int64) (int64, bool) {
	i := sort.Search(len(n.batches), func(i int) bool { return n.batches[i].end() > o })
	if i == len(n.batches) || n.batches[i].base > o {
		return 0, false
	}
	b := n.batches[i]
	return b.first + (o - b.base), true
}

// holds reports whether value v is in the log.
func (n *node) holds(v int64) bool {
	for _, b := range n.batches {
		if v >= b.first && v < b.first+int64(b.n) {
			return true
		}
	}
	return false
}

func (n *node) highWatermark() int64 {
	switch {
	case n.leader != nil:
		return n.leader.HighWatermark()
	case n.follower != nil:
		return n.follower.HighWatermark(n)
	}
	return n.hw
}

func (n *node) role() string {
	switch {
	case !n.alive:
		return "down"
	case n.leader != nil:
		return fmt.Sprintf("leader e%d", n.leader.LeaderEpoch())
	case n.follower != nil:
		return fmt.Sprintf("follower of %d e%d %s", n.follower.Leader(), n.follower.LeaderEpoch(), n.follower.State())
	}
	return "idle"
}

// truncate cuts the log at offset, rounded down to a batch start.
func (n *node) truncate(offset int64) {
	i := sort.Search(len(n.batches), func(i int) bool { return n.batches[i].end() > offset })
	n.batches = n.batches[:i]
	n.synced = min(n.synced, n.EndOffset())
}

type ctrlState struct {
	leader         int32
	leaderEpoch    int32
	partitionEpoch int32
	replicas       []int32
	isr            []int32
	fenced         map[int32]bool
}

type alterMsg struct {
	from int32
	inc  int // the sender's incarnation: a restart drops answers to it
	p    replica.AlterPartition
}

type answerMsg struct {
	to  int32
	inc int
	res replica.AlterPartitionResult
}

type clusterConfig struct {
	replicas        int
	minInsync       int
	lag             time.Duration
	truncateOnFetch bool
	defects         replica.Defects
	// fetchMax bounds the batches one fetch returns (0: all).
	fetchMax int
}

type cluster struct {
	cfg     clusterConfig
	now     time.Time
	nodes   []*node
	incs    map[int32]int
	ctrl    ctrlState
	meta    []replica.Assignment
	alters  []alterMsg
	answers []answerMsg
	// committed maps each offset a leader's high watermark passed to the
	// value it had then: it must never change nor vanish from the ISR.
	committed map[int64]int64
	acked     map[int64]bool // values acknowledged to acks=all producers
	waiting   map[uint64][]int64
	nextVal   int64
	nextAck   uint64
	unclean   bool // an unclean election happened: losses are expected
	out       *strings.Builder
	errs      []string
}

func newCluster(cfg clusterConfig) *cluster {
	c := &cluster{
		cfg:       cfg,
		now:       time.Unix(1_000_000, 0),
		incs:      map[int32]int{},
		committed: map[int64]int64{},
		acked:     map[int64]bool{},
		waiting:   map[uint64][]int64{},
		nextVal:   1,
		out:       &strings.Builder{},
	}
	for i := range cfg.replicas {
		id := int32(i + 1)
		cache, _ := epoch.New(nil)
		c.nodes = append(c.nodes, &node{id: id, alive: true, cache: cache, maxEpoch: -1, applied: -1})
		c.ctrl.replicas = append(c.ctrl.replicas, id)
	}
	c.ctrl.isr = slices.Clone(c.ctrl.replicas)
	c.ctrl.fenced = map[int32]bool{}
	c.ctrl.leader = 1
	c.publish()
	return c
}

func (c *cluster) node(id int32) *node { return c.nodes[id-1] }

func (c *cluster) logf(format string, args ...any) {
	fmt.Fprintf(c.out, format+"\n", args...)
}

func (c *cluster) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.errs = append(c.errs, msg)
	c.logf("VIOLATION: %s", msg)
}

// publish appends the controller's current state to the metadata log.
func (c *cluster) publish() {
	a := replica.Assignment{
		Leader:         c.ctrl.leader,
		LeaderEpoch:    c.ctrl.leaderEpoch,
		PartitionEpoch: c.ctrl.partitionEpoch,
		Replicas:       slices.Clone(c.ctrl.replicas),
		ISR:            slices.Clone(c.ctrl.isr),
	}
	for id := range c.ctrl.fenced {
		if c.ctrl.fenced[id] {
			a.Ineligible = append(a.Ineligible, id)
		}
	}
	slices.Sort(a.Ineligible)
	c.meta = append(c.meta, a)
}

func (c *cluster) leaderCfg(id int32) replica.LeaderConfig {
	return replica.LeaderConfig{LocalID: id, MinInsync: c.cfg.minInsync, LagTimeMax: c.cfg.lag, Defects: c.cfg.defects}
}

func (c *cluster) followerCfg(id int32) replica.FollowerConfig {
	return replica.FollowerConfig{LocalID: id, TruncateOnFetch: c.cfg.truncateOnFetch, Defects: c.cfg.defects}
}

// ---- node operations ----

// deliverMeta makes node id apply the next metadata record, or the latest
// with all (a broker loading a snapshot skips states).
func (c *cluster) deliverMeta(id int32, all bool) {
	n := c.node(id)
	if !n.alive || n.applied >= len(c.meta)-1 {
		return
	}
	if all || n.applied < 0 {
		n.applied = len(c.meta) - 1
	} else {
		n.applied++
	}
	a := c.meta[n.applied]
	if a.LeaderEpoch < n.maxEpoch {
		c.violate("node %d applied leader epoch %d after %d", id, a.LeaderEpoch, n.maxEpoch)
	}
	n.maxEpoch = max(n.maxEpoch, a.LeaderEpoch)
	c.apply(n, a)
}

func (c *cluster) apply(n *node, a replica.Assignment) {
	if a.Leader == n.id {
		if n.leader != nil {
			if a.LeaderEpoch > n.leader.LeaderEpoch() {
				c.mustAssign(n, a.LeaderEpoch, n.EndOffset())
			}
			u, err := n.leader.UpdateAssignment(a, n.local(), c.now)
			if err != nil {
				c.violate("node %d UpdateAssignment: %v", n.id, err)
				return
			}
			c.logf("%d: leader e%d pe%d isr %v", n.id, a.LeaderEpoch, a.PartitionEpoch, n.leader.ISR())
			c.applyUpdate(n, u)
			return
		}
		hw := n.highWatermark()
		c.mustAssign(n, a.LeaderEpoch, n.EndOffset())
		l, u, err := replica.NewLeader(c.leaderCfg(n.id), a, n.local(), hw, c.now)
		if err != nil {
			c.violate("node %d NewLeader: %v", n.id, err)
			return
		}
		n.leader, n.follower = l, nil
		c.logf("%d: becomes leader e%d at %d, isr %v, hw %d", n.id, a.LeaderEpoch, n.EndOffset(), a.ISR, l.HighWatermark())
		c.applyUpdate(n, u)
		return
	}
	if n.leader != nil {
		n.hw = n.leader.HighWatermark()
		c.finishAcks(n, n.leader.Resign())
		n.leader = nil
	}
	if n.follower != nil {
		restart, err := n.follower.UpdateAssignment(a, n)
		if err != nil {
			c.violate("node %d UpdateAssignment: %v", n.id, err)
		}
		if restart {
			c.logf("%d: follows %d e%d (%s)", n.id, a.Leader, a.LeaderEpoch, n.follower.State())
		}
		return
	}
	f, err := replica.NewFollower(c.followerCfg(n.id), a, n.hw, n)
	if err != nil {
		c.violate("node %d NewFollower: %v", n.id, err)
		return
	}
	n.follower = f
	c.logf("%d: follows %d e%d (%s)", n.id, a.Leader, a.LeaderEpoch, f.State())
}

func (c *cluster) mustAssign(n *node, e int32, start int64) {
	if err := n.cache.Assign(e, start); err != nil {
		c.violate("node %d epoch cache: %v", n.id, err)
	}
}

// produce appends a batch of records values to node id if it believes it
// leads, and waits for acks=all.
func (c *cluster) produce(id int32, records int) {
	n := c.node(id)
	if !n.alive || n.leader == nil {
		c.logf("%d: not leader, produce refused", id)
		return
	}
	if code := n.leader.CheckProduce(-1); code != 0 {
		c.logf("%d: produce refused: %s", id, codeText(code))
		return
	}
	b := newBatch(n.EndOffset(), n.leader.LeaderEpoch(), c.nextVal, records)
	c.nextVal += int64(records)
	c.mustAssign(n, b.epoch, b.base)
	n.batches = append(n.batches, b)
	c.nextAck++
	vals := make([]int64, records)
	for i := range vals {
		vals[i] = b.first + int64(i)
	}
	c.waiting[c.nextAck] = vals
	c.logf("%d: appended [%d,%d) e%d, ack %d waits", id, b.base, b.end(), b.epoch, c.nextAck)
	c.applyUpdate(n, n.leader.LocalAppended(n.local(), c.now))
	if done, code := n.leader.WaitAck(c.nextAck, b.end()); done {
		c.finishAcks(n, []replica.AckDone{{ID: c.nextAck, Err: code}})
	}
}

func (c *cluster) sync(id int32) {
	n := c.node(id)
	if !n.alive {
		return
	}
	n.synced = n.EndOffset()
	if n.leader != nil {
		c.applyUpdate(n, n.leader.LocalAppended(n.local(), c.now))
	}
}

// fetch runs one step of node id's follower cycle against its leader.
func (c *cluster) fetch(id int32) {
	n := c.node(id)
	if !n.alive || n.follower == nil {
		return
	}
	step := n.follower.Next(n)
	switch step.Kind {
	case replica.StepWait:
		return
	case replica.StepSync:
		c.sync(id)
		c.logf("%d: synced to %d", id, n.synced)
		return
	case replica.StepTruncate:
		c.logf("%d: no epochs: truncate to the high watermark %d", id, step.TruncateTo)
		c.truncate(n, step.TruncateTo)
		return
	}
	l := c.node(n.follower.Leader())
	if !l.alive || l.leader == nil {
		c.logf("%d: %s to %d: not leader", id, step.Kind, l.id)
		if step.Kind == replica.StepFetch {
			c.applyAction(n, n.follower.OnFetch(replica.FetchResult{FetchOffset: step.FetchOffset, Err: kerr.NotLeaderForPartition.Code}, n))
		} else {
			c.applyAction(n, n.follower.OnEpochEnd(kerr.NotLeaderForPartition.Code, -1, -1, n))
		}
		return
	}
	if step.Kind == replica.StepAskEpochEnd {
		code, e, end := replica.AnswerEpochEnd(l.cache, true, l.leader.LeaderEpoch(), step.CurrentLeaderEpoch, step.Epoch, l.EndOffset())
		c.logf("%d: asks %d where e%d ends: e%d at %d (%s)", id, l.id, step.Epoch, e, end, codeText(code))
		c.applyAction(n, n.follower.OnEpochEnd(code, e, end, n))
		return
	}
	res := c.serveFetch(l, id, step)
	c.applyAction(n, n.follower.OnFetch(res, n))
}

// serveFetch is the leader's side of a follower fetch.
func (c *cluster) serveFetch(l *node, follower int32, step replica.Step) replica.FetchResult {
	res := replica.FetchResult{FetchOffset: step.FetchOffset, DivergingEpoch: -1, DivergingEndOffset: -1, LogStartOffset: l.start, Tombstones: l.mark}
	if code := l.leader.CheckFetch(follower, step.CurrentLeaderEpoch); code != 0 {
		res.Err = code
		c.logf("%d: fetch %d from %d: %s", follower, step.FetchOffset, l.id, codeText(code))
		return res
	}
	div := replica.CheckDiverging(l.cache, step.LastFetchedEpoch, step.FetchOffset, l.start, l.EndOffset())
	res.HighWatermark = l.leader.HighWatermark()
	switch {
	case div.Code != 0:
		res.Err = div.Code
	case div.Diverging:
		res.DivergingEpoch, res.DivergingEndOffset = div.Epoch, div.EndOffset
		c.logf("%d: fetch %d (last e%d) from %d: diverging e%d ends %d", follower, step.FetchOffset, step.LastFetchedEpoch, l.id, div.Epoch, div.EndOffset)
		return res
	case step.FetchOffset > l.EndOffset() || step.FetchOffset < l.start:
		res.Err = kerr.OffsetOutOfRange.Code
	}
	if res.Err != 0 {
		c.logf("%d: fetch %d from %d: %s", follower, step.FetchOffset, l.id, codeText(res.Err))
		return res
	}
	leaderEnd := l.EndOffset()
	var sent []string
	for _, b := range l.batches {
		if b.end() <= step.FetchOffset {
			continue
		}
		if c.cfg.fetchMax > 0 && len(sent) == c.cfg.fetchMax {
			break
		}
		res.Records = append(res.Records, b.raw...)
		sent = append(sent, fmt.Sprintf("[%d,%d)e%d", b.base, b.end(), b.epoch))
	}
	u := l.leader.RecordFetch(follower, step.FetchOffset, leaderEnd, l.local(), c.now)
	c.applyUpdate(l, u)
	res.HighWatermark = l.leader.HighWatermark()
	if len(sent) == 0 {
		sent = append(sent, "nothing")
	}
	c.logf("%d: fetch %d from %d: %s, hw %d", follower, step.FetchOffset, l.id, strings.Join(sent, " "), res.HighWatermark)
	return res
}

func (c *cluster) truncate(n *node, to int64) {
	before := n.EndOffset()
	n.truncate(to)
	if err := n.cache.TruncateFromEnd(to); err != nil {
		c.violate("node %d: %v", n.id, err)
	}
	if n.EndOffset() != before {
		c.logf("%d: truncated to %d (was %d)", n.id, n.EndOffset(), before)
	}
}

func (c *cluster) applyAction(n *node, a replica.Action) {
	if a.Err != nil {
		c.logf("%d: refused: %v", n.id, a.Err)
	}
	if a.Tombstones.Below > n.mark.Below {
		n.mark = replica.TombstoneMark{Below: a.Tombstones.Below, Gen: n.mark.Gen + 1}
	}
	if a.TruncateTo >= 0 {
		c.truncate(n, a.TruncateTo)
	}
	if a.Recopy {
		c.logf("%d: recopies: its log [%d,%d) ends below the leader's tombstones (below %d gen %d)", n.id, n.start, n.EndOffset(), a.Tombstones.Below, a.Tombstones.Gen)
		if slices.Contains(c.ctrl.isr, n.id) && !c.unclean {
			c.violate("ISR member %d empties its log to copy it again", n.id)
		}
		n.maxHW = min(n.maxHW, a.StartAt) // its high watermark restarts with its log
	}
	if a.StartAt >= 0 {
		n.batches, n.start, n.synced = nil, a.StartAt, a.StartAt
		if err := n.cache.Clear(); err != nil {
			c.violate("node %d: %v", n.id, err)
		}
		c.logf("%d: log restarted at %d", n.id, a.StartAt)
	}
	for _, b := range a.Append {
		if b.FirstOffset != n.EndOffset() {
			c.violate("node %d: Action appends a batch at %d to a log ending at %d", n.id, b.FirstOffset, n.EndOffset())
			return
		}
		c.mustAssign(n, b.PartitionLeaderEpoch, b.FirstOffset)
		n.batches = append(n.batches, mbatch{base: b.FirstOffset, epoch: b.PartitionLeaderEpoch, first: b.FirstTimestamp, n: int(b.NumRecords), raw: append([]byte(nil), b.Raw...)})
	}
	c.checkHW(n)
}

// applyUpdate carries out a Leader's Update: AlterPartition to the
// controller, acks, and the bookkeeping of committed offsets.
func (c *cluster) applyUpdate(n *node, u replica.Update) {
	if u.Propose != nil {
		c.alters = append(c.alters, alterMsg{from: n.id, inc: c.incs[n.id], p: *u.Propose})
		c.logf("%d: proposes isr %v at pe%d", n.id, u.Propose.ISR, u.Propose.PartitionEpoch)
	}
	c.checkHW(n)
	c.finishAcks(n, u.Acks)
}

// checkHW records the offsets below a replica's high watermark as committed
// and checks they agree with what was committed before.
func (c *cluster) checkHW(n *node) {
	hw := n.highWatermark()
	if hw < n.maxHW && !c.unclean {
		c.violate("node %d high watermark went back from %d to %d", n.id, n.maxHW, hw)
	}
	if n.leader != nil && hw > n.maxHW {
		c.logf("%d: hw %d", n.id, hw)
		for o := n.maxHW; o < hw; o++ {
			v, ok := n.valueAt(o)
			if !ok {
				c.violate("leader %d high watermark %d covers offset %d it does not hold", n.id, hw, o)
				continue
			}
			if was, seen := c.committed[o]; seen && was != v && !c.unclean {
				c.violate("offset %d committed as v%d, now v%d on leader %d", o, was, v, n.id)
			}
			c.committed[o] = v
		}
	}
	n.maxHW = max(n.maxHW, hw)
}

func (c *cluster) finishAcks(n *node, acks []replica.AckDone) {
	for _, a := range acks {
		vals := c.waiting[a.ID]
		delete(c.waiting, a.ID)
		if a.Err != 0 {
			c.logf("%d: ack %d: %s", n.id, a.ID, codeText(a.Err))
			continue
		}
		c.logf("%d: ack %d ok", n.id, a.ID)
		for _, v := range vals {
			c.acked[v] = true
		}
	}
}

func (c *cluster) tick(d time.Duration) {
	c.now = c.now.Add(d)
	for _, n := range c.nodes {
		if n.alive && n.leader != nil {
			c.applyUpdate(n, n.leader.Tick(n.local(), c.now))
		}
	}
}

// removeTombstones is a cleaner pass on leader id that removes
// tombstones, as far as they can be below its high watermark (the
// cleaner's MaxOffset), unless a follower is catching up (the partition's
// shell then keeps them: Leader.FollowerCatchingUp).
func (c *cluster) removeTombstones(id int32) {
	n := c.node(id)
	if !n.alive || n.leader == nil {
		return
	}
	hw := n.leader.HighWatermark()
	switch {
	case n.leader.FollowerCatchingUp(c.now):
		c.logf("%d: cleaner keeps tombstones: a follower is catching up", id)
	case hw > 0:
		n.mark = replica.TombstoneMark{Below: max(n.mark.Below, hw), Gen: n.mark.Gen + 1}
		c.logf("%d: cleaner removed tombstones below %d (gen %d)", id, hw, n.mark.Gen)
	}
}

// crash loses node id's memory and a part of its unsynced tail; the
// controller fences it.
func (c *cluster) crash(id int32, keep int64) {
	if c.lose(id, keep) {
		c.fence(id)
	}
}

// bounce is a crash and restart so quick that the controller never fenced
// the follower: it comes back with its durable log, still in the ISR.
func (c *cluster) bounce(id int32, keep int64) {
	if id == c.ctrl.leader {
		// A leader's new incarnation never resumes its old leader epoch:
		// KRaft fences the old incarnation first, which moves leadership.
		return
	}
	if c.lose(id, keep) {
		c.node(id).alive = true
		c.logf("%d: restarted before the controller noticed", id)
	}
}

func (c *cluster) lose(id int32, keep int64) bool {
	n := c.node(id)
	if !n.alive {
		return false
	}
	if n.leader != nil {
		// A crashed broker answers nobody: the producers see their
		// connection drop and do not know whether the records survive.
		for _, a := range n.leader.Resign() {
			delete(c.waiting, a.ID)
		}
	}
	n.truncate(min(n.EndOffset(), n.synced+keep))
	n.synced = n.EndOffset()
	// The checkpoint was written before each append it needed; Open trims
	// it to the recovered log.
	_ = n.cache.TruncateFromEnd(n.EndOffset())
	n.alive, n.leader, n.follower = false, nil, nil
	n.hw, n.maxHW, n.applied, n.maxEpoch = 0, 0, -1, -1
	c.incs[id]++
	c.logf("%d: crashed, log ends at %d", id, n.EndOffset())
	return true
}

// restart brings node id back; the controller unfences it.
func (c *cluster) restart(id int32) {
	n := c.node(id)
	if n.alive {
		return
	}
	n.alive = true
	c.logf("%d: restarted, log ends at %d", id, n.EndOffset())
	c.unfence(id)
}

// ---- controller ----

func (c *cluster) fence(id int32) {
	c.ctrl.fenced[id] = true
	changed := false
	if slices.Contains(c.ctrl.isr, id) && len(c.ctrl.isr) > 1 {
		c.ctrl.isr = slices.DeleteFunc(slices.Clone(c.ctrl.isr), func(x int32) bool { return x == id })
		changed = true
	}
	if c.ctrl.leader == id {
		c.ctrl.leader = -1
		for _, r := range c.ctrl.isr {
			if !c.ctrl.fenced[r] {
				c.ctrl.leader = r
				break
			}
		}
		c.ctrl.leaderEpoch++
		changed = true
	}
	if changed {
		c.ctrl.partitionEpoch++
	}
	c.publish()
	c.logf("controller: fenced %d; leader %d e%d pe%d isr %v", id, c.ctrl.leader, c.ctrl.leaderEpoch, c.ctrl.partitionEpoch, c.ctrl.isr)
}

func (c *cluster) unfence(id int32) {
	c.ctrl.fenced[id] = false
	if c.ctrl.leader == -1 && slices.Contains(c.ctrl.isr, id) {
		c.ctrl.leader = id
		c.ctrl.leaderEpoch++
		c.ctrl.partitionEpoch++
	}
	c.publish()
	c.logf("controller: unfenced %d; leader %d e%d pe%d isr %v", id, c.ctrl.leader, c.ctrl.leaderEpoch, c.ctrl.partitionEpoch, c.ctrl.isr)
}

// elect makes id leader: from the ISR, or anyone with unclean.
func (c *cluster) elect(id int32, unclean bool) {
	if c.ctrl.fenced[id] || c.ctrl.leader == id {
		c.logf("controller: cannot elect %d", id)
		return
	}
	if !slices.Contains(c.ctrl.isr, id) {
		if !unclean {
			c.logf("controller: %d is not in the ISR %v", id, c.ctrl.isr)
			return
		}
		c.ctrl.isr = []int32{id}
		c.unclean = true
	}
	c.ctrl.leader = id
	c.ctrl.leaderEpoch++
	c.ctrl.partitionEpoch++
	c.publish()
	c.logf("controller: elected %d e%d pe%d isr %v", id, c.ctrl.leaderEpoch, c.ctrl.partitionEpoch, c.ctrl.isr)
}

// handleAlter processes the oldest AlterPartition request, as KRaft's
// controller does: only from the current leader at the current leader
// epoch, only at the current partition epoch, only adding unfenced
// replicas.
func (c *cluster) handleAlter() {
	if len(c.alters) == 0 {
		return
	}
	m := c.alters[0]
	c.alters = c.alters[1:]
	res := replica.AlterPartitionResult{ID: m.p.ID}
	switch {
	case m.p.LeaderID != c.ctrl.leader || m.p.LeaderEpoch != c.ctrl.leaderEpoch:
		res.Err = kerr.FencedLeaderEpoch.Code
	case m.p.PartitionEpoch != c.ctrl.partitionEpoch:
		res.Err = kerr.InvalidUpdateVersion.Code
	case !slices.Contains(m.p.ISR, m.p.LeaderID):
		res.Err = kerr.InvalidRequest.Code
	default:
		for _, r := range m.p.ISR {
			if !slices.Contains(c.ctrl.isr, r) && c.ctrl.fenced[r] {
				res.Err = kerr.IneligibleReplica.Code
			}
		}
	}
	if res.Err == 0 {
		c.ctrl.isr = slices.Clone(m.p.ISR)
		c.ctrl.partitionEpoch++
		c.publish()
		res.LeaderEpoch, res.PartitionEpoch, res.ISR = c.ctrl.leaderEpoch, c.ctrl.partitionEpoch, slices.Clone(c.ctrl.isr)
	}
	c.logf("controller: alter from %d isr %v at pe%d: %s; isr %v pe%d", m.from, m.p.ISR, m.p.PartitionEpoch, codeText(res.Err), c.ctrl.isr, c.ctrl.partitionEpoch)
	c.answers = append(c.answers, answerMsg{to: m.from, inc: m.inc, res: res})
}

// deliverAnswer hands the oldest AlterPartition answer to its leader.
func (c *cluster) deliverAnswer() {
	if len(c.answers) == 0 {
		return
	}
	m := c.answers[0]
	c.answers = c.answers[1:]
	n := c.node(m.to)
	if !n.alive || c.incs[m.to] != m.inc || n.leader == nil {
		return
	}
	c.applyUpdate(n, n.leader.AlterPartitionDone(m.res, n.local(), c.now))
	c.logf("%d: isr now %v pe%d", n.id, n.leader.ISR(), n.leader.PartitionEpoch())
}

// ---- checks ----

// checkInvariants checks what must hold after every operation.
func (c *cluster) checkInvariants() {
	for _, n := range c.nodes {
		entries := n.cache.Entries()
		for i := 1; i < len(entries); i++ {
			if entries[i].Epoch <= entries[i-1].Epoch || entries[i].StartOffset <= entries[i-1].StartOffset {
				c.violate("node %d epoch cache not increasing: %v", n.id, entries)
			}
		}
		if l, ok := n.cache.Latest(); ok && l.StartOffset > n.EndOffset() {
			c.violate("node %d epoch cache entry %v past its log end %d", n.id, l, n.EndOffset())
		}
	}
	if c.unclean {
		return
	}
	// The promise: every committed record is durable, unchanged, on every
	// replica the controller could elect.
	for _, id := range c.ctrl.isr {
		n := c.node(id)
		for _, o := range slices.Sorted(maps.Keys(c.committed)) {
			v, ok := n.valueAt(o)
			switch {
			case !ok || o >= n.synced:
				c.violate("committed offset %d (v%d) is not durable on ISR member %d (log [%d,%d), synced %d)", o, c.committed[o], id, n.start, n.EndOffset(), n.synced)
				return
			case v != c.committed[o]:
				c.violate("committed offset %d is v%d, but ISR member %d has v%d", o, c.committed[o], id, v)
				return
			}
		}
	}
}

// heal ends the faults and drives the cluster until every replica is in
// the ISR with the same log and high watermark, or gives up.
func (c *cluster) heal() bool {
	for _, n := range c.nodes {
		c.restart(n.id)
	}
	for round := 0; round < 300; round++ {
		for len(c.alters) > 0 || len(c.answers) > 0 {
			c.handleAlter()
			c.deliverAnswer()
		}
		for _, n := range c.nodes {
			c.deliverMeta(n.id, true)
		}
		for _, n := range c.nodes {
			c.sync(n.id)
			c.fetch(n.id)
		}
		c.tick(c.cfg.lag / 4)
		c.checkInvariants()
		if c.converged() {
			return true
		}
	}
	return false
}

func (c *cluster) converged() bool {
	if c.ctrl.leader < 0 || len(c.ctrl.isr) != len(c.nodes) || len(c.alters) > 0 || len(c.answers) > 0 {
		return false
	}
	l := c.node(c.ctrl.leader)
	if l.leader == nil || l.leader.HighWatermark() != l.EndOffset() {
		return false
	}
	for _, n := range c.nodes {
		if n.applied != len(c.meta)-1 || n.EndOffset() != l.EndOffset() || n.highWatermark() != l.EndOffset() {
			return false
		}
	}
	return true
}

// checkConverged checks the end state: identical logs, every committed
// and every acknowledged record in them.
func (c *cluster) checkConverged() {
	l := c.node(c.ctrl.leader)
	for _, n := range c.nodes {
		if n.start != l.start || len(n.batches) != len(l.batches) {
			c.violate("node %d log [%d,%d) differs from leader %d's [%d,%d)", n.id, n.start, n.EndOffset(), l.id, l.start, l.EndOffset())
			continue
		}
		for i := range n.batches {
			a, b := n.batches[i], l.batches[i]
			if a.base != b.base || a.epoch != b.epoch || a.first != b.first || a.n != b.n {
				c.violate("node %d batch %d differs from leader %d's", n.id, i, l.id)
			}
		}
	}
	if c.unclean {
		// Losses are the documented price of an unclean election: list them.
		for _, o := range slices.Sorted(maps.Keys(c.committed)) {
			if v, ok := l.valueAt(o); !ok || v != c.committed[o] {
				c.logf("lost (unclean election): committed offset %d was v%d", o, c.committed[o])
			}
		}
		for _, v := range slices.Sorted(maps.Keys(c.acked)) {
			if !l.holds(v) {
				c.logf("lost (unclean election): acknowledged v%d", v)
			}
		}
		return
	}
	present := map[int64]bool{}
	for _, b := range l.batches {
		for i := range b.n {
			present[b.first+int64(i)] = true
		}
	}
	for _, v := range slices.Sorted(maps.Keys(c.acked)) {
		if !present[v] {
			c.violate("acknowledged value v%d is lost", v)
		}
	}
	for _, o := range slices.Sorted(maps.Keys(c.committed)) {
		if v, ok := l.valueAt(o); !ok || v != c.committed[o] {
			c.violate("committed offset %d (v%d) lost or changed after convergence", o, c.committed[o])
		}
	}
}

// state prints every node and the controller.
func (c *cluster) state() string {
	var b strings.Builder
	fmt.Fprintf(&b, "controller: leader %d e%d pe%d isr %v\n", c.ctrl.leader, c.ctrl.leaderEpoch, c.ctrl.partitionEpoch, c.ctrl.isr)
	for _, n := range c.nodes {
		var batches []string
		for _, x := range n.batches {
			batches = append(batches, fmt.Sprintf("[%d,%d)e%d", x.base, x.end(), x.epoch))
		}
		fmt.Fprintf(&b, "%d: %s; log %s synced %d hw %d epochs %v", n.id, n.role(), strings.Join(batches, ""), n.synced, n.highWatermark(), n.cache.Entries())
		if n.leader != nil {
			fmt.Fprintf(&b, " isr %v maximal %v", n.leader.ISR(), n.leader.MaximalISR())
			if p, ok := n.leader.Pending(); ok {
				fmt.Fprintf(&b, " pending %v@pe%d", p.ISR, p.PartitionEpoch)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func codeText(code int16) string {
	switch code {
	case 0:
		return "ok"
	case kerr.NotLeaderForPartition.Code:
		return "NOT_LEADER_OR_FOLLOWER" // the name since Kafka 2.7
	}
	if err := kerr.ErrorForCode(code); err != nil {
		return err.(*kerr.Error).Message
	}
	return fmt.Sprintf("error %d", code)
}
