package group

import (
	"flag"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// The properties drive a shard with simulated consumers that behave like
// real ones (join, rejoin when told, sync, heartbeat, commit, leave, crash,
// retry a join that took too long), with time and durability advancing at
// random, and check what consumers could observe.

const (
	propGroup      = "g"
	propTopic      = "t"
	propPartitions = 6
)

type clientPhase int

const (
	phaseIdle    clientPhase = iota // (re)join next
	phaseJoining                    // a JoinGroup is parked
	phaseJoined                     // has a generation, sync next
	phaseSyncing                    // a SyncGroup is parked
	phaseStable                     // owns its assignment
	phaseDead                       // crashed: sends nothing more
)

type simClient struct {
	name     string
	memberID string
	gen      int32
	phase    clientPhase
	leader   bool
	members  []string // what the leader was given to assign
	waiter   string   // the parked request this client waits on
	owned    string   // its assignment once stable
	version  int16    // JoinGroup version it speaks
}

type propWorld struct {
	t       *rapid.T
	s       *Shard
	nowMs   int64
	ids     int
	log     []Record
	durable int64
	clients []*simClient
	waiters int

	// answered: every waiter answered (to catch a second answer);
	// outstanding: parked requests not yet answered.
	answered    map[string]bool
	outstanding map[string]bool
	// needDurable: for a commit, the end of the batch holding its records.
	needDurable map[string]int64
	// owners: per generation, member -> assignment, as SyncGroup answers
	// delivered them. A group that is deleted (offset expiration removes
	// an empty group) starts again at generation 0: owners starts over.
	owners map[int32]map[string]string
}

func newPropWorld(t *rapid.T, cfg Config) *propWorld {
	w := &propWorld{
		t: t, nowMs: 5_000_000,
		answered: map[string]bool{}, outstanding: map[string]bool{},
		needDurable: map[string]int64{}, owners: map[int32]map[string]string{},
	}
	cfg.InitialRebalanceDelayMs = int32(rapid.SampledFrom([]int{0, 0, 3000}).Draw(t, "initialDelay"))
	w.s = NewShard(cfg, func() string { w.ids++; return strconv.Itoa(w.ids) })
	w.s.FinishLoad(w.nowMs, 0)
	n := rapid.IntRange(1, 4).Draw(t, "clients")
	for i := 0; i < n; i++ {
		w.clients = append(w.clients, &simClient{name: fmt.Sprintf("c%d", i), version: int16(rapid.SampledFrom([]int{3, 4, 9}).Draw(t, "version"))})
	}
	return w
}

func (w *propWorld) newWaiter(kind string) string {
	w.waiters++
	name := fmt.Sprintf("%s%d", kind, w.waiters)
	w.outstanding[name] = true
	return name
}

// apply appends the batch and delivers the replies.
func (w *propWorld) apply(out Output) {
	defer func() {
		if w.s.groups[propGroup] == nil {
			clear(w.owners)
		}
	}()
	if b := out.Batch; b != nil {
		if b.BaseOffset != int64(len(w.log)) {
			w.t.Fatalf("batch at %d, log ends at %d", b.BaseOffset, len(w.log))
		}
		w.log = append(w.log, b.Records...)
	}
	w.deliver(out.Replies)
}

func (w *propWorld) deliver(replies []Reply) {
	for _, r := range replies {
		name := r.To.(string)
		if w.answered[name] {
			w.t.Fatalf("%s answered twice (second: %s)", name, describeResponse(r.Resp))
		}
		w.answered[name] = true
		delete(w.outstanding, name)
		if need, ok := w.needDurable[name]; ok && w.durable < need {
			w.t.Fatalf("%s answered with the log durable to %d, before its records (to %d)", name, w.durable, need)
		}
		for _, c := range w.clients {
			if c.waiter == name && c.phase != phaseDead {
				c.waiter = ""
				w.handle(c, r.Resp)
			}
		}
	}
}

func (w *propWorld) handle(c *simClient, resp kmsg.Response) {
	switch r := resp.(type) {
	case *kmsg.JoinGroupResponse:
		switch r.ErrorCode {
		case 0:
			c.memberID, c.gen, c.phase = r.MemberID, r.Generation, phaseJoined
			c.leader = r.LeaderID == r.MemberID
			c.members = nil
			for _, m := range r.Members {
				c.members = append(c.members, m.MemberID)
			}
			if c.leader && len(c.members) == 0 {
				w.t.Fatalf("%s leads generation %d but got no members", c.memberID, c.gen)
			}
		case kerr.MemberIDRequired.Code:
			c.memberID, c.phase = r.MemberID, phaseIdle
		case kerr.UnknownMemberID.Code:
			c.memberID, c.phase = "", phaseIdle
		default:
			c.phase = phaseIdle
		}
	case *kmsg.SyncGroupResponse:
		switch r.ErrorCode {
		case 0:
			c.phase, c.owned = phaseStable, string(r.MemberAssignment)
			w.recordOwner(c)
		case kerr.UnknownMemberID.Code:
			c.memberID, c.phase = "", phaseIdle
		default:
			c.phase = phaseIdle
		}
	}
}

// recordOwner checks that the partitions delivered for a generation are
// owned by one member each.
func (w *propWorld) recordOwner(c *simClient) {
	owners := w.owners[c.gen]
	if owners == nil {
		owners = map[string]string{}
		w.owners[c.gen] = owners
	}
	if prev, ok := owners[c.memberID]; ok && prev != c.owned {
		w.t.Fatalf("generation %d: %s was given %q, then %q", c.gen, c.memberID, prev, c.owned)
	}
	owners[c.memberID] = c.owned
	seen := map[string]string{}
	for m, a := range owners {
		for _, p := range strings.Split(a, ",") {
			if p == "" {
				continue
			}
			if other, dup := seen[p]; dup {
				w.t.Fatalf("generation %d: partition %s owned by %s and %s", c.gen, p, other, m)
			}
			seen[p] = m
		}
	}
}

// assign is a range assignor over the members the leader was given.
func assign(members []string) map[string]string {
	sorted := slices.Clone(members)
	sort.Strings(sorted)
	out := map[string]string{}
	for p := 0; p < propPartitions; p++ {
		m := sorted[p%len(sorted)]
		if out[m] != "" {
			out[m] += ","
		}
		out[m] += strconv.Itoa(p)
	}
	return out
}

func (w *propWorld) pick(phases ...clientPhase) *simClient {
	var cs []*simClient
	for _, c := range w.clients {
		if slices.Contains(phases, c.phase) {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		w.t.Skip("no client can do that now")
	}
	return rapid.SampledFrom(cs).Draw(w.t, "client")
}

func (w *propWorld) join(c *simClient) {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = c.version
	req.Group, req.MemberID, req.ProtocolType = propGroup, c.memberID, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 20000
	sub := kmsg.NewConsumerMemberMetadata()
	sub.Topics = []string{propTopic}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", sub.AppendTo(nil)
	req.Protocols = append(req.Protocols, p)
	c.waiter, c.phase = w.newWaiter("join"), phaseJoining
	w.apply(w.s.Join(w.nowMs, req, Client{ID: c.name}, c.waiter))
}

func (w *propWorld) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"join": func(t *rapid.T) { w.join(w.pick(phaseIdle)) },
		// A client gives up on a join that takes too long and sends it
		// again; the old request must still be answered.
		"retryJoin": func(t *rapid.T) {
			c := w.pick(phaseJoining)
			c.waiter = ""
			w.join(c)
		},
		"sync": func(t *rapid.T) {
			c := w.pick(phaseJoined)
			req := kmsg.NewPtrSyncGroupRequest()
			req.Version = 5
			req.Group, req.MemberID, req.Generation = propGroup, c.memberID, c.gen
			if c.leader {
				for m, a := range assign(c.members) {
					ga := kmsg.NewSyncGroupRequestGroupAssignment()
					ga.MemberID, ga.MemberAssignment = m, []byte(a)
					req.GroupAssignment = append(req.GroupAssignment, ga)
				}
				sort.Slice(req.GroupAssignment, func(i, j int) bool { return req.GroupAssignment[i].MemberID < req.GroupAssignment[j].MemberID })
			}
			c.waiter, c.phase = w.newWaiter("sync"), phaseSyncing
			w.apply(w.s.Sync(w.nowMs, req, c.waiter))
		},
		"heartbeat": func(t *rapid.T) {
			c := w.pick(phaseJoined, phaseStable)
			req := kmsg.NewPtrHeartbeatRequest()
			req.Group, req.MemberID, req.Generation = propGroup, c.memberID, c.gen
			name := w.newWaiter("hb")
			out := w.s.Heartbeat(w.nowMs, req, name)
			w.apply(out)
			_ = name
			// The answer may wait for durability; the client acts on it
			// when it comes (handled like any reply: heartbeats carry no
			// client state here, so act now on what the state says).
			if w.s.groups[propGroup] == nil || w.s.groups[propGroup].byID[c.memberID] == nil {
				c.memberID, c.phase = "", phaseIdle
			} else if g := w.s.groups[propGroup]; g.generation != c.gen || g.is(PreparingRebalance) {
				c.phase = phaseIdle
			}
		},
		"commit": func(t *rapid.T) {
			c := w.pick(phaseStable)
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Version = 8
			req.Group, req.MemberID, req.Generation = propGroup, c.memberID, c.gen
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = propTopic
			for _, ps := range strings.Split(c.owned, ",") {
				if ps == "" {
					continue
				}
				p, _ := strconv.Atoi(ps)
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = int32(p), int64(rapid.IntRange(0, 1000).Draw(t, "offset"))
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
			name := w.newWaiter("commit")
			out := w.s.Commit(w.nowMs, req, name)
			if out.Batch != nil {
				w.needDurable[name] = out.Batch.BaseOffset + int64(len(out.Batch.Records))
			}
			w.apply(out)
		},
		// A client closing leaves, even while a JoinGroup or SyncGroup of
		// its own is parked (kgo does that); the parked one must still be
		// answered.
		"leave": func(t *rapid.T) {
			c := w.pick(phaseIdle, phaseJoining, phaseJoined, phaseSyncing, phaseStable)
			if c.memberID == "" {
				t.Skip("no member id")
			}
			req := kmsg.NewPtrLeaveGroupRequest()
			req.Version = 3
			req.Group = propGroup
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = c.memberID
			req.Members = append(req.Members, m)
			c.memberID, c.phase, c.owned, c.waiter = "", phaseIdle, "", ""
			w.apply(w.s.Leave(w.nowMs, req, w.newWaiter("leave")))
		},
		"crash": func(t *rapid.T) {
			c := w.pick(phaseIdle, phaseJoining, phaseJoined, phaseSyncing, phaseStable)
			c.phase, c.waiter = phaseDead, ""
		},
		"restart": func(t *rapid.T) {
			c := w.pick(phaseDead)
			*c = simClient{name: c.name, version: c.version}
		},
		"advance": func(t *rapid.T) {
			w.nowMs += int64(rapid.IntRange(0, 15000).Draw(t, "ms"))
			w.apply(w.s.Tick(w.nowMs))
		},
		"durable": func(t *rapid.T) {
			to := rapid.Int64Range(w.durable, int64(len(w.log))).Draw(t, "durable")
			w.durable = to
			w.deliver(w.s.Durable(w.nowMs, to).Replies)
		},
	}
}

// settle makes the log durable, stops every client and lets time pass
// until every timeout has fired.
func (w *propWorld) settle() {
	for _, c := range w.clients {
		c.phase, c.waiter = phaseDead, ""
	}
	for i := 0; i < 400; i++ {
		w.durable = int64(len(w.log))
		w.deliver(w.s.Durable(w.nowMs, w.durable).Replies)
		w.nowMs += 10000
		w.apply(w.s.Tick(w.nowMs))
	}
	w.durable = int64(len(w.log))
	w.deliver(w.s.Durable(w.nowMs, w.durable).Replies)
}

// TestPropertyGroupMembership: within a generation no partition has two
// owners; every parked request is answered exactly once, and eventually;
// a commit is acknowledged only once durable; and a shard loading the log
// ends with the same committed offsets, groups and members.
func TestPropertyGroupMembership(t *testing.T) {
	defer rapidEffort(2000, 200)()
	rapid.Check(t, membershipProperty(DefaultConfig()))
}

// cmdlineFlags are the flags given on the command line: taken at the
// first call, before any test sets one.
var cmdlineFlags = sync.OnceValue(func() map[string]bool {
	given := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
})

// rapidEffort raises rapid's checks and steps for a property whose
// interesting states take many steps to reach (unless given on the command
// line), and returns what restores them. The defects of
// TestPropertiesCatchPlantedDefects took up to about 1500 checks of 200
// steps to show.
func rapidEffort(checks, steps int) func() {
	given := cmdlineFlags()
	var restore []func()
	for name, v := range map[string]int{"rapid.checks": checks, "rapid.steps": steps} {
		if given[name] || testing.Short() {
			continue
		}
		prev := flag.Lookup(name).Value.String()
		flag.Set(name, strconv.Itoa(v))
		restore = append(restore, func() { flag.Set(name, prev) })
	}
	return func() {
		for _, r := range restore {
			r()
		}
	}
}

func membershipProperty(cfg Config) func(*rapid.T) {
	return func(t *rapid.T) {
		w := newPropWorld(t, cfg)
		t.Repeat(w.actions())
		// Mid-rebalance, a group's last record describes it less than its
		// memory does: compare the offsets now, everything once at rest.
		w.checkReload(durableState(w.s, false), false)
		w.settle()
		if len(w.outstanding) > 0 {
			var names []string
			for n := range w.outstanding {
				names = append(names, n)
			}
			sort.Strings(names)
			t.Fatalf("requests never answered: %v\nstate:\n%s", names, w.s.Dump())
		}
		if g := w.s.groups[propGroup]; g != nil && !g.is(Empty) {
			t.Fatalf("group still has members after every session ended:\n%s", w.s.Dump())
		}
		w.checkReload(durableState(w.s, true), true)
	}
}

// checkReload loads the log into a new shard, and a compacted copy of it
// (the last record of each key, tombstones gone, as the log cleaner leaves
// it), and compares what they hold with want.
func (w *propWorld) checkReload(want string, groups bool) {
	for name, log := range map[string][]Record{"log": w.log, "compacted log": compact(w.log)} {
		// Kafka's defaults, with the coordinator's defects: a load that
		// drops records must be caught here.
		cfg := DefaultConfig()
		cfg.Defects = w.s.cfg.Defects
		s := NewShard(cfg, func() string { return "x" })
		for _, r := range log {
			if err := s.Replay(r.Key, r.Value); err != nil {
				w.t.Fatalf("replay: %v", err)
			}
		}
		s.FinishLoad(w.nowMs, int64(len(w.log)))
		if got := durableState(s, groups); got != want {
			w.t.Fatalf("the %s loads back as\n%s\nwant\n%s", name, got, want)
		}
	}
}

// compact keeps the last record of each key, in log order, and drops
// tombstones.
func compact(log []Record) []Record {
	last := map[string]int{}
	for i, r := range log {
		last[string(r.Key)] = i
	}
	var out []Record
	for i, r := range log {
		if last[string(r.Key)] == i && r.Value != nil {
			out = append(out, r)
		}
	}
	return out
}

// durableState is what a shard's records say: the offsets of every group
// and, with groups, the generation, leader and members' assignments of
// each group (which must be at rest: Empty or Stable).
func durableState(s *Shard, groups bool) string {
	var b strings.Builder
	for _, id := range s.sortedGroupIDs() {
		g := s.groups[id]
		if groups && !(g.is(Empty) || g.is(Stable)) {
			fmt.Fprintf(&b, "group %s is in %v\n", id, g.state)
		}
		if groups && !(g.is(Empty) && g.generation == 0 && len(g.offsets) == 0) {
			fmt.Fprintf(&b, "group %s %v gen=%d protocol=%s leader=%s", id, g.state, g.generation, g.protocol, g.leader)
			for _, m := range g.members {
				fmt.Fprintf(&b, " %s:%q", m.id, m.assignment)
			}
			b.WriteByte('\n')
		}
		for _, tp := range g.sortedTopics() {
			for _, p := range sortedPartitions(g.offsets[tp]) {
				oc := g.offsets[tp][p]
				fmt.Fprintf(&b, "%s %s/%d=%d epoch=%d md=%q commit=%d expire=%d\n", id, tp, p, oc.offset, oc.leaderEpoch, oc.metadata, oc.commitMs, oc.expireMs)
			}
		}
	}
	return b.String()
}

// TestPropertyOffsetsReload: random commits, offset deletions, group
// deletions and expirations on several groups load back identical from
// the log and from its compacted form.
func TestPropertyOffsetsReload(t *testing.T) {
	rapid.Check(t, offsetsProperty(DefaultConfig()))
}

func offsetsProperty(cfg Config) func(*rapid.T) {
	return func(t *rapid.T) {
		cfg.OffsetsRetentionMs = 60000
		cfg.OffsetsRetentionCheckIntervalMs = 10000
		w := &propWorld{t: t, nowMs: 1_000_000, answered: map[string]bool{}, outstanding: map[string]bool{}, needDurable: map[string]int64{}}
		w.s = NewShard(cfg, func() string { return "id" })
		w.s.FinishLoad(w.nowMs, 0)
		groups := []string{"a", "b", "c"}
		t.Repeat(map[string]func(*rapid.T){
			"commit": func(t *rapid.T) {
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Version = int16(rapid.SampledFrom([]int{2, 6, 8}).Draw(t, "version"))
				req.Group, req.Generation = rapid.SampledFrom(groups).Draw(t, "group"), -1
				req.RetentionTimeMillis = -1
				if req.Version == 2 && rapid.Bool().Draw(t, "retention") {
					req.RetentionTimeMillis = int64(rapid.IntRange(0, 100000).Draw(t, "retentionMs"))
				}
				rt := kmsg.NewOffsetCommitRequestTopic()
				rt.Topic = rapid.SampledFrom([]string{"x", "y"}).Draw(t, "topic")
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition = int32(rapid.IntRange(0, 2).Draw(t, "partition"))
				rp.Offset = rapid.Int64Range(0, math.MaxInt64).Draw(t, "offset")
				rp.LeaderEpoch = int32(rapid.IntRange(-1, 5).Draw(t, "epoch"))
				md := rapid.SampledFrom([]string{"", "m", "ünïcödé"}).Draw(t, "metadata")
				rp.Metadata = &md
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				w.apply(w.s.Commit(w.nowMs, req, w.newWaiter("c")))
			},
			"deleteOffset": func(t *rapid.T) {
				req := kmsg.NewPtrOffsetDeleteRequest()
				req.Group = rapid.SampledFrom(groups).Draw(t, "group")
				rt := kmsg.NewOffsetDeleteRequestTopic()
				rt.Topic = rapid.SampledFrom([]string{"x", "y"}).Draw(t, "topic")
				rp := kmsg.NewOffsetDeleteRequestTopicPartition()
				rp.Partition = int32(rapid.IntRange(0, 2).Draw(t, "partition"))
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				w.apply(w.s.DeleteOffsets(w.nowMs, req, w.newWaiter("d")))
			},
			"deleteGroup": func(t *rapid.T) {
				req := kmsg.NewPtrDeleteGroupsRequest()
				req.Groups = []string{rapid.SampledFrom(groups).Draw(t, "group")}
				w.apply(w.s.DeleteGroups(w.nowMs, req, w.newWaiter("g")))
			},
			"advance": func(t *rapid.T) {
				w.nowMs += int64(rapid.IntRange(0, 30000).Draw(t, "ms"))
				w.apply(w.s.Tick(w.nowMs))
			},
		})
		w.checkReload(durableState(w.s, true), true)
	}
}

// TestPropertiesCatchPlantedDefects: each property fails on a coordinator
// with the defect it is meant to catch.
func TestPropertiesCatchPlantedDefects(t *testing.T) {
	// A caught defect must not leave rapid's reproduction files behind.
	prev := flag.Lookup("rapid.nofailfile").Value.String()
	flag.Set("rapid.nofailfile", "true")
	defer flag.Set("rapid.nofailfile", prev)
	defer rapidEffort(5000, 200)()
	// A fixed seed: the search is the same at every run, so whether each
	// defect is caught does not depend on luck.
	if flag.Lookup("rapid.seed").Value.String() == "0" {
		flag.Set("rapid.seed", "1")
		defer flag.Set("rapid.seed", "0")
	}
	// Finding the defect is the point, not a minimal example of it.
	prevShrink := flag.Lookup("rapid.shrinktime").Value.String()
	flag.Set("rapid.shrinktime", "100ms")
	defer flag.Set("rapid.shrinktime", prevShrink)
	for _, tc := range []struct {
		name     string
		defect   Defects
		property func(Config) func(*rapid.T)
		want     string
	}{
		{"answer before durable", Defects{AnswerBeforeDurable: true}, membershipProperty, "before its records"},
		{"one assignment for all", Defects{OneAssignmentForAll: true}, membershipProperty, "owned by|was given"},
		{"forget parked sync", Defects{ForgetParkedSync: true}, membershipProperty, "never answered"},
		{"drop leader epoch", Defects{DropLeaderEpoch: true}, offsetsProperty, "loads back as"},
		{"load first commit", Defects{LoadFirstCommit: true}, offsetsProperty, "loads back as"},
		{"assign unreleased", Defects{AssignUnreleased: true}, consumerProperty, "owned by .* at once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Defects = tc.defect
			r := &failureRecorder{T: t}
			rapid.Check(r, tc.property(cfg))
			if !r.failed || !regexp.MustCompile(tc.want).MatchString(r.msg) {
				t.Fatalf("the property did not catch the defect (failed %v: %q)", r.failed, r.msg)
			}
		})
	}
}

// failureRecorder is a rapid.TB that records a failure instead of failing
// the test.
type failureRecorder struct {
	*testing.T
	failed bool
	msg    string
}

func (r *failureRecorder) Errorf(format string, args ...any) {
	r.failed = true
	if r.msg == "" {
		r.msg = fmt.Sprintf(format, args...)
	}
}
func (r *failureRecorder) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *failureRecorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *failureRecorder) Fatal(args ...any)                 { r.Error(args...) }
func (r *failureRecorder) Fail()                             { r.failed = true }
func (r *failureRecorder) FailNow()                          { r.failed = true }
func (r *failureRecorder) Failed() bool                      { return r.failed }
func (r *failureRecorder) Logf(string, ...any)               {}
func (r *failureRecorder) Log(...any)                        {}

func TestPartitionForMatchesKafka(t *testing.T) {
	// Values of Java's String.hashCode, and "polygenelubricants", whose
	// hash is Integer.MIN_VALUE, which Kafka's Utils.abs maps to 0.
	for _, c := range []struct {
		id   string
		hash int32
	}{
		{"", 0},
		{"a", 97},
		{"billing", -109829509},
		{"polygenelubricants", math.MinInt32},
		{"é", 233},
		{"😀", 1772899},
	} {
		if got := javaHashCode(c.id); got != c.hash {
			t.Errorf("javaHashCode(%q) = %d, want %d", c.id, got, c.hash)
		}
	}
	if got := PartitionFor("polygenelubricants", 50); got != 0 {
		t.Errorf("PartitionFor(polygenelubricants) = %d, want 0", got)
	}
	if got := PartitionFor("billing", 50); got != 109829509%50 {
		t.Errorf("PartitionFor(billing) = %d, want %d", got, 109829509%50)
	}
	if got := PartitionFor("g", 1); got != 0 {
		t.Errorf("one partition: got %d", got)
	}
}
