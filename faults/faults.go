package faults

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a family of faults, as named on the command line.
type Kind uint8

const (
	Partition Kind = iota + 1 // isolate, majority/minority split, bridge, one-way cut
	Crash                     // crash a node (losing its unsynced data), restart it later
	Pause                     // stop a node answering for a while
	Disk                      // failed writes and fsyncs, and bits flipped on read, on a node's disk
	Clock                     // a node's clock jumps, then comes back
	Flaky                     // a node's connections reset at random
)

var kindNames = [...]string{Partition: "partition", Crash: "crash", Pause: "pause", Disk: "disk", Clock: "clock", Flaky: "flaky"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Set is a set of kinds.
type Set uint8

// All is every kind.
const All Set = 1<<Partition | 1<<Crash | 1<<Pause | 1<<Disk | 1<<Clock | 1<<Flaky

func SetOf(kinds ...Kind) Set {
	var s Set
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

func (s Set) Has(k Kind) bool { return s&(1<<k) != 0 }

// Kinds returns the kinds of s in Kind order.
func (s Set) Kinds() []Kind {
	var out []Kind
	for k := Partition; k <= Flaky; k++ {
		if s.Has(k) {
			out = append(out, k)
		}
	}
	return out
}

// String is the form Parse reads: "partition,crash", or "none".
func (s Set) String() string {
	if s == 0 {
		return "none"
	}
	var names []string
	for _, k := range s.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ",")
}

// Parse reads a comma-separated list of kinds ("partition,crash,disk"),
// "all", or "none" / "" for no faults.
func Parse(list string) (Set, error) {
	var s Set
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(strings.ToLower(name))
		switch name {
		case "", "none":
			continue
		case "all":
			s |= All
			continue
		}
		i := slices.Index(kindNames[:], name)
		if i <= 0 {
			return 0, fmt.Errorf("unknown fault kind %q (known: %s, all, none)", name, All)
		}
		s |= 1 << Kind(i)
	}
	return s, nil
}

// Op is what one event does.
type Op uint8

const (
	OpIsolate    Op = iota + 1 // Node can reach no one (for one node: a client-side partition)
	OpRejoin                   // undo OpIsolate of Node
	OpPartition                // split into Groups (overlapping groups: a bridge)
	OpHealSplit                // remove the split
	OpCut                      // one-way cut From -> To
	OpUncut                    // remove the cut From -> To
	OpCrash                    // crash Node, keeping Keep of each file's unsynced tail
	OpRestart                  // restart Node from its disk
	OpPause                    // Node stops answering
	OpResume                   // Node answers again
	OpDiskFaults               // Node's disk fails writes and fsyncs with Prob, at most Count times, and flips a bit of a read with FlipProb, at most Flips times
	OpDiskHeal                 // Node's disk stops failing
	OpClockJump                // Node's clock moves by Offset, drifts by Drift, its timers jump by TimerJump
	OpClockReset               // Node's clock is right again
	OpFlaky                    // Node's connections reset with Prob per write
	OpFlakyHeal                // Node's connections are reliable again
	// OpLoneLeader aims a crash at a leader that leads alone: the world
	// picks a partition of a workload topic (the Nth, modulo, of those
	// with records whose leader and an in-sync follower are up), cuts the
	// leader and that follower off from each other, waits until the ISR
	// is the leader alone and the leader committed a write alone, lets it
	// acknowledge writes alone for Lag more, and crashes
	// it (keeping Keep of each unsynced tail) while the follower, out of
	// the ISR, is up. With unclean.leader.election.enable the controller
	// then elects the follower and the leader's lone writes are lost, as
	// that configuration allows; without it the partition waits offline
	// for the leader. Whatever the world picks is in the trace.
	OpLoneLeader
	// OpLoneLeaderHeal ends an OpLoneLeader window: the cut goes and the
	// crashed leader restarts.
	OpLoneLeaderHeal
	OpLateRequest     // the next request of kind Request that host Node writes (a client, or a broker forwarding to the controller), and what follows it on its connection, arrives Hold late
	OpLateRequestHeal // disarm OpLateRequest of Node if no request came
)

var opNames = [...]string{
	OpIsolate: "isolate", OpRejoin: "rejoin", OpPartition: "partition", OpHealSplit: "heal-partition",
	OpCut: "cut", OpUncut: "uncut", OpCrash: "crash", OpRestart: "restart", OpPause: "pause",
	OpResume: "resume", OpDiskFaults: "disk-faults", OpDiskHeal: "disk-heal", OpClockJump: "clock-jump",
	OpClockReset: "clock-reset", OpFlaky: "flaky", OpFlakyHeal: "flaky-heal",
	OpLoneLeader: "lone-leader", OpLoneLeaderHeal: "lone-leader-heal",
	OpLateRequest: "late-request", OpLateRequestHeal: "late-request-heal",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Kind is the family of o.
func (o Op) Kind() Kind {
	switch o {
	case OpIsolate, OpRejoin, OpPartition, OpHealSplit, OpCut, OpUncut, OpLateRequest, OpLateRequestHeal:
		return Partition
	case OpCrash, OpRestart, OpLoneLeader, OpLoneLeaderHeal:
		return Crash
	case OpPause, OpResume:
		return Pause
	case OpDiskFaults, OpDiskHeal:
		return Disk
	case OpClockJump, OpClockReset:
		return Clock
	case OpFlaky, OpFlakyHeal:
		return Flaky
	}
	return 0
}

// Heals reports whether o ends a fault rather than starting one.
func (o Op) Heals() bool {
	switch o {
	case OpRejoin, OpHealSplit, OpUncut, OpRestart, OpResume, OpDiskHeal, OpClockReset, OpFlakyHeal, OpLoneLeaderHeal, OpLateRequestHeal:
		return true
	}
	return false
}

// Trigger makes a crash wait, from its event's At, for a moment where bugs
// live instead of landing at At itself. The world watches the node's disk
// for it; a crash whose trigger has not fired by the node's restart event
// never happens.
type Trigger uint8

const (
	// TriggerAt: the crash lands at At.
	TriggerAt Trigger = iota
	// TriggerSync: the crash lands Lag after the Nth fsync of a log segment
	// that begins at or after At. Segment fsyncs are group commits, each
	// releasing the acknowledgements of the appends it covers: a Lag
	// shorter than the fsync lands inside it (its data not yet durable), a
	// longer one just after it, while its acknowledgements are on the wire.
	TriggerSync
	// TriggerRoll: the crash lands just before the Ops-th disk operation
	// counted from the first segment roll that begins at or after At (the
	// roll writes and fsyncs the old segment's indexes, fsyncs it, creates
	// the next segment, syncs the directory, and writes a producer state
	// snapshot).
	TriggerRoll
)

var triggerNames = [...]string{TriggerAt: "at", TriggerSync: "sync", TriggerRoll: "roll"}

func (t Trigger) String() string {
	if int(t) < len(triggerNames) {
		return triggerNames[t]
	}
	return fmt.Sprintf("Trigger(%d)", uint8(t))
}

// Event is one timed fault or heal. Which fields matter depends on Op.
type Event struct {
	At       time.Duration // from the start of the safety phase
	Op       Op
	Node     string
	Groups   [][]string // OpPartition
	From, To string     // OpCut, OpUncut
	Keep     float64    // OpCrash: fraction of each file's unsynced tail that may survive
	Prob     float64    // OpDiskFaults, OpFlaky
	Count    int        // OpDiskFaults: most errors injected
	FlipProb float64    // OpDiskFaults: probability that a read returns one flipped bit
	Flips    int        // OpDiskFaults: most reads corrupted
	// OpClockJump: Offset moves the node's wall clock (what Now reads,
	// not its timers); Drift makes its clock, timers included, run 1+Drift
	// times as fast as real time; TimerJump moves its monotonic clock
	// forward, so every pending timer is that much nearer. Any of them may
	// be zero; OpClockReset ends all three.
	Offset    time.Duration
	Drift     float64
	TimerJump time.Duration

	// Trigger, Nth, Lag and Ops (OpCrash): see Trigger.
	Trigger Trigger
	Nth     int
	Lag     time.Duration
	// Down (OpCrash with a Trigger): the node restarts itself this long
	// after the crash lands, if that is before its restart event (which
	// then finds it up and does nothing). A triggered crash lands some
	// time after At, so a short downtime cannot be scheduled as a time.
	Down time.Duration
	// Until (OpLoneLeader): when the window's heal comes. The leader is
	// crashed only if it can stay down Down before then (Down: the time
	// the controller needs to fence it and elect without it).
	Until time.Duration
	// Ops, on OpRestart: the node crashes again (keeping Keep of each
	// unsynced tail) just before the Ops-th disk operation of its new
	// incarnation, counted from the start of its recovery: a crash during
	// recovery when recovery takes that many, else one shortly after it.
	// The node is then down until the next OpRestart of it.
	Ops int
	// Request and Hold (OpLateRequest): the Kafka API key of the request
	// held back, and how long.
	Request int16
	Hold    time.Duration
}

// String is the event's trace line, e.g. "+12.500000s crash n1 keep=0.42".
func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%.6fs %s", e.At.Seconds(), e.Op)
	switch e.Op {
	case OpPartition:
		for _, g := range e.Groups {
			fmt.Fprintf(&b, " [%s]", strings.Join(g, " "))
		}
	case OpCut, OpUncut:
		fmt.Fprintf(&b, " %s->%s", e.From, e.To)
	case OpHealSplit, OpLoneLeaderHeal:
	case OpLoneLeader:
		fmt.Fprintf(&b, " #%d keep=%.2f alone=%v down=%v until=+%.6fs", e.Nth, e.Keep, e.Lag, e.Down, e.Until.Seconds())
	default:
		fmt.Fprintf(&b, " %s", e.Node)
	}
	switch e.Op {
	case OpCrash:
		fmt.Fprintf(&b, " keep=%.2f", e.Keep)
		switch e.Trigger {
		case TriggerSync:
			fmt.Fprintf(&b, " at=sync#%d+%v", e.Nth, e.Lag)
		case TriggerRoll:
			fmt.Fprintf(&b, " at=roll+%dops", e.Ops)
		}
		if e.Down > 0 {
			fmt.Fprintf(&b, " down=%v", e.Down)
		}
	case OpLateRequest:
		fmt.Fprintf(&b, " request=%s hold=%v", kmsg.NameForKey(e.Request), e.Hold)
	case OpRestart:
		if e.Ops > 0 {
			fmt.Fprintf(&b, " crash-after=%dops keep=%.2f", e.Ops, e.Keep)
		}
	case OpDiskFaults:
		if e.Count > 0 || e.Flips == 0 {
			fmt.Fprintf(&b, " p=%.2f max=%d", e.Prob, e.Count)
		}
		if e.Flips > 0 {
			fmt.Fprintf(&b, " flips p=%.2f max=%d", e.FlipProb, e.Flips)
		}
	case OpFlaky:
		fmt.Fprintf(&b, " p=%.3f", e.Prob)
	case OpClockJump:
		if e.Offset != 0 || (e.Drift == 0 && e.TimerJump == 0) {
			fmt.Fprintf(&b, " by=%v", e.Offset)
		}
		if e.Drift != 0 {
			fmt.Fprintf(&b, " drift=%+.4f", e.Drift)
		}
		if e.TimerJump != 0 {
			fmt.Fprintf(&b, " timers+=%v", e.TimerJump)
		}
	}
	return b.String()
}

// Schedule is the safety phase's faults, sorted by At.
type Schedule struct {
	Duration time.Duration // the safety phase; every event is at or before it
	Events   []Event
}

// String lists the events, one a line.
func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule: %d events over %v\n", len(s.Events), s.Duration)
	for _, e := range s.Events {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Atlas is what the cluster promises to survive; Generate stays inside it.
type Atlas struct {
	// MaxDown is how many nodes may be crashed or paused at once. Generate
	// takes at most one down at a time, and none if MaxDown is 0.
	MaxDown int
	// MaxDiskErrors bounds the errors of one disk-fault window, and
	// MaxDiskProb the probability of each.
	MaxDiskErrors int
	MaxDiskProb   float64
	// MaxReadFlips bounds the reads of one disk-fault window that return a
	// flipped bit, and MaxFlipProb the probability of each. A flip is
	// transient: it corrupts what one read returns, never the stored
	// bytes, and only reads of files the broker checks: the partition
	// logs' segment and index files (CRC-32C, or several reads that must
	// agree), meta.json, the producer-id file and producer state snapshots
	// (CRC-32C each, read again on a mismatch, more times than
	// MaxReadFlips).
	MaxReadFlips int
	MaxFlipProb  float64
	// MaxClockJump bounds a clock jump either way.
	MaxClockJump time.Duration
	// MaxClockDrift bounds a clock's drift either way (0.05: 5% fast or
	// slow), and MaxTimerJump a forward jump of its timers. A timer that
	// fires early ends a wait early (a request timeout, a fetch's max
	// wait): an answer, never a loss.
	MaxClockDrift float64
	MaxTimerJump  time.Duration
	// MaxFlakyProb bounds the per-write reset probability of a flaky node.
	MaxFlakyProb float64
}

// AtlasFor is the atlas of a cluster of n nodes with replication factor up
// to n. With one node, a crash loses no acknowledged (fsynced) write, so a
// crash is survivable; disk faults are bounded because each failed write or
// fsync takes a partition offline until the next restart, and read flips
// because each costs a retry (a fetch answered KAFKA_STORAGE_ERROR, a
// recovery that reads again or, past its bound, an Open that fails and is
// retried).
func AtlasFor(n int) Atlas {
	return Atlas{
		MaxDown:       max(1, (n-1)/2),
		MaxDiskErrors: 3,
		MaxDiskProb:   0.5,
		MaxReadFlips:  3,
		MaxFlipProb:   0.2,
		MaxClockJump:  2 * time.Minute,
		MaxClockDrift: 0.05,
		MaxTimerJump:  10 * time.Second,
		MaxFlakyProb:  0.2,
	}
}

// Config says what to generate.
type Config struct {
	Nodes    []string      // the cluster's node names
	Kinds    Set           // enabled kinds
	Duration time.Duration // the safety phase
	// MeanGap is the mean quiet time before each fault of a kind
	// (exponentially distributed); 0 means Duration/4.
	MeanGap time.Duration
	// MinFault and MaxFault bound how long a fault lasts before its heal;
	// 0 means Duration/20 and Duration/5.
	MinFault, MaxFault time.Duration
	// Atlas bounds the faults; the zero Atlas means AtlasFor(len(Nodes)).
	Atlas Atlas
	// SyncLatency and NetLatency are how long the world's fsyncs take and
	// its longest one-way network latency: the lags of sync-triggered
	// crashes are drawn around them (see TriggerSync). 0 means 1 ms and
	// 2 ms.
	SyncLatency, NetLatency time.Duration
	// SegmentRolls says that segments roll during the phase (a small
	// segment.bytes), so that a crash may wait for a roll (TriggerRoll).
	SegmentRolls bool
	// Clients are the client hosts (each client of the workload runs on
	// one): partitions may cut some of them off from some nodes.
	Clients []string
	// LoneLeader: the first crash window (with Crash enabled) that fits
	// one, and half of the later ones, are OpLoneLeader windows: twice
	// ReplicaLag (the brokers' replica.lag.time.max; at least 1.5 times
	// the lag and 1s, loneLeaderShrink) to shrink the ISR, 2s for a first
	// write the leader commits alone, up to 2s more of lone writes, and
	// LeaderDown with the leader down (longer than the
	// brokers' session timeout, so that the controller elects without
	// it). Off, Generate draws exactly what it drew before the option
	// existed.
	LoneLeader             bool
	ReplicaLag, LeaderDown time.Duration
	// ClientTargets are the nodes clients talk to (the brokers, when
	// dedicated controllers are among Nodes): a cut between one client
	// and one node picks among them. Empty: any node.
	ClientTargets []string
}

// Generate draws a schedule. It panics on an invalid Config (a harness bug).
func Generate(rng *rand.Rand, cfg Config) Schedule {
	if len(cfg.Nodes) == 0 || cfg.Duration <= 0 {
		panic("faults: Generate needs nodes and a positive duration")
	}
	nodes := slices.Sorted(slices.Values(cfg.Nodes))
	if cfg.Atlas == (Atlas{}) {
		cfg.Atlas = AtlasFor(len(nodes))
	}
	if cfg.MeanGap <= 0 {
		cfg.MeanGap = cfg.Duration / 4
	}
	if cfg.MinFault <= 0 {
		cfg.MinFault = cfg.Duration / 20
	}
	if cfg.MaxFault < cfg.MinFault {
		cfg.MaxFault = max(cfg.MinFault, cfg.Duration/5)
	}
	if cfg.SyncLatency <= 0 {
		cfg.SyncLatency = time.Millisecond
	}
	if cfg.NetLatency <= 0 {
		cfg.NetLatency = 2 * time.Millisecond
	}
	g := &gen{rng: rng, cfg: cfg, nodes: nodes, clients: slices.Sorted(slices.Values(cfg.Clients)), targets: nodes}
	if len(cfg.ClientTargets) > 0 {
		g.targets = slices.Sorted(slices.Values(cfg.ClientTargets))
	}
	if cfg.Kinds.Has(Partition) {
		g.track(g.partition)
	}
	// Crash and pause share one track: one node down at a time.
	if cfg.Atlas.MaxDown > 0 && (cfg.Kinds.Has(Crash) || cfg.Kinds.Has(Pause)) {
		var down []func(at, end time.Duration)
		if cfg.Kinds.Has(Crash) {
			down = append(down, g.crash)
		}
		if cfg.Kinds.Has(Pause) {
			down = append(down, g.pause)
		}
		g.track(func(at, end time.Duration) {
			// The first window that fits is a lone-leader window; half of
			// the later ones are (Config.LoneLeader).
			if cfg.LoneLeader && cfg.Kinds.Has(Crash) && (g.loneWindows == 0 || g.rng.IntN(2) == 0) && g.loneLeader(at) {
				return
			}
			down[g.rng.IntN(len(down))](at, end)
		})
	}
	if cfg.Kinds.Has(Disk) && (cfg.Atlas.MaxDiskErrors > 0 || cfg.Atlas.MaxReadFlips > 0) {
		g.track(g.disk)
	}
	if cfg.Kinds.Has(Clock) && cfg.Atlas.MaxClockJump > 0 {
		g.track(g.clock)
	}
	if cfg.Kinds.Has(Flaky) && cfg.Atlas.MaxFlakyProb > 0 {
		g.track(g.flaky)
	}
	sortEvents(g.events)
	return Schedule{Duration: cfg.Duration, Events: g.events}
}

// sortEvents sorts events by time. Stable: same-time events keep
// generation order, with heals first so a heal and the next fault at one
// instant apply in that order.
func sortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		if a.At != b.At {
			return cmp.Compare(a.At, b.At)
		}
		switch {
		case a.Op.Heals() && !b.Op.Heals():
			return -1
		case !a.Op.Heals() && b.Op.Heals():
			return 1
		}
		return 0
	})
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

type gen struct {
	rng     *rand.Rand
	cfg     Config
	nodes   []string
	clients []string
	targets []string // the nodes clients talk to
	events  []Event
	// trackEnd is where the current window of a track ends: emit may move
	// it later (a lone-leader window is as long as it needs).
	trackEnd time.Duration
	// loneWindows counts the lone-leader windows emitted.
	loneWindows int
}

// track lays non-overlapping fault windows [at, end] over the phase and calls
// emit for each; emit appends the fault at at and its heal at end (or at
// a later g.trackEnd it set).
func (g *gen) track(emit func(at, end time.Duration)) {
	t := time.Duration(0)
	for {
		t += time.Duration(g.rng.ExpFloat64() * float64(g.cfg.MeanGap))
		length := g.between(g.cfg.MinFault, g.cfg.MaxFault)
		if t+g.cfg.MinFault > g.cfg.Duration {
			return
		}
		end := min(t+length, g.cfg.Duration)
		g.trackEnd = end
		emit(t, end)
		t = max(end, g.trackEnd)
	}
}

// loneLeader emits an OpLoneLeader window from at if it fits in the phase
// (see Config.LoneLeader), and reports whether it did.
func (g *gen) loneLeader(at time.Duration) bool {
	alone := g.between(200*time.Millisecond, 2*time.Second)
	end := at + loneLeaderShrink(g.cfg.ReplicaLag, false) + loneLeaderFirstWrite + alone + g.cfg.LeaderDown
	if end > g.cfg.Duration {
		end = at + loneLeaderShrink(g.cfg.ReplicaLag, true) + loneLeaderFirstWrite + alone + g.cfg.LeaderDown
	}
	if end > g.cfg.Duration {
		return false
	}
	g.add(Event{At: at, Op: OpLoneLeader, Nth: g.rng.IntN(1 << 10), Keep: g.rng.Float64(), Lag: alone, Down: g.cfg.LeaderDown, Until: end})
	g.add(Event{At: end, Op: OpLoneLeaderHeal})
	g.trackEnd = end
	g.loneWindows++
	return true
}

// loneLeaderFirstWrite is how long a lone-leader window waits, after the
// ISR shrank, for the leader's first write committed alone: producers
// whose requests timed out while the follower held the ISR back, or a
// transactional producer whose transaction ended meanwhile, take a few
// seconds to write to the partition again.
const loneLeaderFirstWrite = 2 * time.Second

// loneLeaderShrink is how long a lone-leader window gives the ISR to
// shrink to the leader alone, from the cut, under replica.lag.time.max
// lag. A leader checks its followers every lag/2 (Kafka's isr-expiration
// task) and drops one lag after it was last caught up, which on a
// partition taking writes is the cut: the shrink comes between lag and
// 1.5 lag after the cut, plus the controller's answer. Twice the lag, or
// (tight, where that does not fit) 1.5 lag and a second.
func loneLeaderShrink(lag time.Duration, tight bool) time.Duration {
	if tight {
		return lag + lag/2 + time.Second
	}
	return 2 * lag
}

func (g *gen) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.rng.Int64N(int64(hi-lo)+1))
}

func (g *gen) node() string { return g.nodes[g.rng.IntN(len(g.nodes))] }

func (g *gen) add(e Event) { g.events = append(g.events, e) }

// partition draws one network fault among nodes (isolate one, a one-way
// cut, a majority/minority split, a bridge) or, with client hosts, between
// clients and nodes (a client cut off from everyone, a client that cannot
// reach one node, some clients cut off from the cluster while the others
// reach it).
func (g *gen) partition(at, end time.Duration) {
	shapes := []string{"isolate"}
	if len(g.nodes) >= 2 {
		shapes = append(shapes, "cut")
	}
	if len(g.nodes) >= 3 {
		shapes = append(shapes, "split", "bridge")
	}
	if len(g.clients) >= 1 {
		shapes = append(shapes, "isolate-client", "cut-client")
	}
	if len(g.clients) >= 2 {
		shapes = append(shapes, "split-clients")
	}
	switch shapes[g.rng.IntN(len(shapes))] {
	case "isolate-client":
		c := g.clients[g.rng.IntN(len(g.clients))]
		g.add(Event{At: at, Op: OpIsolate, Node: c})
		g.add(Event{At: end, Op: OpRejoin, Node: c})
	case "cut-client":
		c := g.clients[g.rng.IntN(len(g.clients))]
		n := g.targets[g.rng.IntN(len(g.targets))]
		g.add(Event{At: at, Op: OpCut, From: c, To: n})
		g.add(Event{At: end, Op: OpUncut, From: c, To: n})
	case "split-clients":
		p := g.rng.Perm(len(g.clients))
		k := 1 + g.rng.IntN(len(g.clients)-1)
		var cut, rest []string
		for i, j := range p {
			if i < k {
				cut = append(cut, g.clients[j])
			} else {
				rest = append(rest, g.clients[j])
			}
		}
		g.add(Event{At: at, Op: OpPartition, Groups: [][]string{sorted(append(slices.Clone(g.nodes), rest...)), sorted(cut)}})
		g.add(Event{At: end, Op: OpHealSplit})
	case "isolate":
		n := g.node()
		g.add(Event{At: at, Op: OpIsolate, Node: n})
		g.add(Event{At: end, Op: OpRejoin, Node: n})
	case "cut":
		p := g.rng.Perm(len(g.nodes))
		from, to := g.nodes[p[0]], g.nodes[p[1]]
		g.add(Event{At: at, Op: OpCut, From: from, To: to})
		g.add(Event{At: end, Op: OpUncut, From: from, To: to})
	case "split":
		p := g.perm()
		minority := 1 + g.rng.IntN((len(p)-1)/2)
		g.add(Event{At: at, Op: OpPartition, Groups: [][]string{sorted(p[:minority]), sorted(p[minority:])}})
		g.add(Event{At: end, Op: OpHealSplit})
	case "bridge":
		p := g.perm()
		bridge, rest := p[0], p[1:]
		half := len(rest) / 2
		a := sorted(append([]string{bridge}, rest[:half]...))
		b := sorted(append([]string{bridge}, rest[half:]...))
		g.add(Event{At: at, Op: OpPartition, Groups: [][]string{a, b}})
		g.add(Event{At: end, Op: OpHealSplit})
	}
}

func (g *gen) perm() []string {
	out := make([]string, len(g.nodes))
	for i, j := range g.rng.Perm(len(g.nodes)) {
		out[i] = g.nodes[j]
	}
	return out
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// crash lays out one window [at, end] of the down track as crashes of one
// node aimed where bugs live: most crashes wait for a trigger (an fsync
// and the acknowledgements it releases, a segment roll; see Trigger); a
// third of them restart within two seconds (a producer still retries the
// batches the crash cut off); a quarter of the restarts crash again during
// recovery; and a quarter of the windows crash the same node again shortly
// after it came back. The node is down only inside the window.
func (g *gen) crash(at, end time.Duration) {
	n := g.node()
	t := at
	for {
		e := Event{At: t, Op: OpCrash, Node: n, Keep: g.rng.Float64()}
		g.aim(&e)
		short := g.rng.IntN(3) == 0
		if short && e.Trigger != TriggerAt {
			// Short, from when the crash lands; the restart at the end
			// of the window is the backstop.
			e.Down = g.between(50*time.Millisecond, 2*time.Second)
			g.add(e)
			g.add(Event{At: end, Op: OpRestart, Node: n})
			return
		}
		g.add(e)
		restart := end
		if short {
			restart = min(end, t+g.between(50*time.Millisecond, 2*time.Second))
		}
		if g.rng.IntN(4) == 0 && restart < end {
			// A crash during recovery, then the restart that heals it.
			g.add(Event{At: restart, Op: OpRestart, Node: n, Ops: 1 + g.rng.IntN(64), Keep: g.rng.Float64()})
			restart = min(end, restart+g.between(50*time.Millisecond, time.Second))
		}
		g.add(Event{At: restart, Op: OpRestart, Node: n})
		// Back to back: crash the node again soon after it came back.
		next := restart + g.between(10*time.Millisecond, 500*time.Millisecond)
		if next+100*time.Millisecond > end || g.rng.IntN(4) != 0 {
			return
		}
		t = next
	}
}

// aim chooses a crash's trigger: a quarter at their time, half after an
// fsync, a quarter during a segment roll when segments roll (else after an
// fsync too).
func (g *gen) aim(e *Event) {
	switch r := g.rng.IntN(4); {
	case r == 0:
		return
	case r == 3 && g.cfg.SegmentRolls:
		e.Trigger, e.Ops = TriggerRoll, 1+g.rng.IntN(16)
	default:
		e.Trigger, e.Nth = TriggerSync, 1+g.rng.IntN(8)
		if g.rng.IntN(2) == 0 {
			// Inside the fsync, in its second half: its appends are not
			// durable yet, and the acknowledgements a broker might have
			// sent too early have had time to arrive.
			half := int64(g.cfg.SyncLatency) / 2
			e.Lag = time.Duration(half + g.rng.Int64N(max(1, int64(g.cfg.SyncLatency)-half)))
		} else {
			// Just after it: its acknowledgements are on the wire.
			e.Lag = g.cfg.SyncLatency + time.Duration(g.rng.Int64N(2*int64(g.cfg.NetLatency)+1))
		}
	}
}

func (g *gen) pause(at, end time.Duration) {
	n := g.node()
	g.add(Event{At: at, Op: OpPause, Node: n})
	g.add(Event{At: end, Op: OpResume, Node: n})
}

func (g *gen) disk(at, end time.Duration) {
	n := g.node()
	a := g.cfg.Atlas
	e := Event{At: at, Op: OpDiskFaults, Node: n}
	// A window has write errors, read flips, or both, in equal shares when
	// the atlas allows both: a failed write takes partitions offline, so
	// reads, and their flips, are seen mostly in windows without errors.
	writeErrors := a.MaxDiskErrors > 0
	readFlips := a.MaxReadFlips > 0 && a.MaxFlipProb > 0
	if writeErrors && readFlips {
		switch g.rng.IntN(3) {
		case 0:
			readFlips = false
		case 1:
			writeErrors = false
		}
	}
	if writeErrors {
		e.Prob = 0.05 + g.rng.Float64()*(max(a.MaxDiskProb, 0.05)-0.05)
		e.Count = 1 + g.rng.IntN(a.MaxDiskErrors)
	}
	if readFlips {
		e.FlipProb = 0.01 + g.rng.Float64()*(max(a.MaxFlipProb, 0.01)-0.01)
		e.Flips = 1 + g.rng.IntN(a.MaxReadFlips)
	}
	if e.Count == 0 && e.Flips == 0 {
		return
	}
	g.add(e)
	g.add(Event{At: end, Op: OpDiskHeal, Node: n})
}

// clock draws one of three clock faults: a jump of the wall clock (what
// Now reads), a drift of the whole clock, timers included, or a forward
// jump of the timers (a monotonic clock that leapt; the wall clock with
// it). Each within the atlas; the kinds the atlas forbids are not drawn.
func (g *gen) clock(at, end time.Duration) {
	n := g.node()
	a := g.cfg.Atlas
	e := Event{At: at, Op: OpClockJump, Node: n}
	shapes := []string{"jump"}
	if a.MaxClockDrift > 0 {
		shapes = append(shapes, "drift")
	}
	if a.MaxTimerJump >= time.Millisecond {
		shapes = append(shapes, "timers")
	}
	switch shapes[g.rng.IntN(len(shapes))] {
	case "jump":
		e.Offset = max(time.Millisecond, time.Duration(g.rng.Int64N(int64(a.MaxClockJump))).Round(time.Millisecond))
		if g.rng.IntN(2) == 0 {
			e.Offset = -e.Offset
		}
	case "drift":
		e.Drift = max(0.0001, g.rng.Float64()*a.MaxClockDrift)
		if g.rng.IntN(2) == 0 {
			e.Drift = -e.Drift
		}
	case "timers":
		e.TimerJump = max(time.Millisecond, time.Duration(g.rng.Int64N(int64(a.MaxTimerJump))).Round(time.Millisecond))
	}
	g.add(e)
	g.add(Event{At: end, Op: OpClockReset, Node: n})
}

// loneLeaderNode stands, in Check, for the node an OpLoneLeader crashes.
const loneLeaderNode = "(lone leader)"

func (g *gen) flaky(at, end time.Duration) {
	n := g.node()
	prob := 0.01 + g.rng.Float64()*(max(g.cfg.Atlas.MaxFlakyProb, 0.01)-0.01)
	g.add(Event{At: at, Op: OpFlaky, Node: n, Prob: prob})
	g.add(Event{At: end, Op: OpFlakyHeal, Node: n})
}

// Check verifies that s stays inside atlas for the given nodes and client
// hosts: events sorted and within the phase, known hosts (clients only in
// network faults), every fault healed, at most MaxDown nodes down and one
// disk-faulted node at a time, bounds on probabilities, counts and clock
// jumps. Hand-written schedules should pass it too. An OpLoneLeader window
// counts as a node down (the one it crashes) from its start to its heal.
func (s Schedule) Check(atlas Atlas, nodes []string, clients ...string) error {
	known, client := map[string]bool{}, map[string]bool{}
	for _, n := range nodes {
		known[n] = true
	}
	for _, c := range clients {
		known[c], client[c] = true, true
	}
	down, disk := map[string]bool{}, map[string]bool{}
	open := map[string]bool{} // fault key -> unhealed
	var last time.Duration
	for i, e := range s.Events {
		if e.At < last || e.At < 0 || e.At > s.Duration {
			return fmt.Errorf("event %d (%v): out of order or outside [0, %v]", i, e, s.Duration)
		}
		last = e.At
		var names []string
		switch e.Op {
		case OpPartition:
			for _, g := range e.Groups {
				names = append(names, g...)
			}
		case OpCut, OpUncut:
			names = []string{e.From, e.To}
		case OpHealSplit, OpLoneLeader, OpLoneLeaderHeal: // the world picks a lone leader's nodes
		default:
			names = []string{e.Node}
		}
		for _, n := range names {
			if !known[n] {
				return fmt.Errorf("event %d (%v): unknown node %q", i, e, n)
			}
			if client[n] && e.Op.Kind() != Partition {
				return fmt.Errorf("event %d (%v): %q is a client host, and only network faults apply to clients", i, e, n)
			}
		}
		key := e.Op.Kind().String() + "/" + e.Node + "/" + e.From + "/" + e.To
		switch e.Op {
		case OpPartition, OpHealSplit:
			key = "split"
		case OpLoneLeader, OpLoneLeaderHeal:
			key = "lone-leader"
		case OpLateRequest, OpLateRequestHeal:
			key = "late/" + e.Node
		}
		if e.Op.Heals() {
			if !open[key] {
				return fmt.Errorf("event %d (%v): heals nothing", i, e)
			}
			if e.Op == OpRestart && e.Ops > 0 {
				// It crashes the node again: the next restart heals.
				if !(e.Keep >= 0 && e.Keep <= 1) {
					return fmt.Errorf("event %d (%v): keep outside [0, 1]", i, e)
				}
				continue
			}
			delete(open, key)
		} else {
			if open[key] {
				return fmt.Errorf("event %d (%v): the same fault is already on", i, e)
			}
			open[key] = true
		}
		switch e.Op {
		case OpCrash, OpPause:
			down[e.Node] = true
			if len(down) > atlas.MaxDown {
				return fmt.Errorf("event %d (%v): %d nodes down, atlas allows %d", i, e, len(down), atlas.MaxDown)
			}
			if e.Op == OpCrash && !(e.Keep >= 0 && e.Keep <= 1) {
				return fmt.Errorf("event %d (%v): keep outside [0, 1]", i, e)
			}
			if e.Op == OpCrash && !triggerOK(e) {
				return fmt.Errorf("event %d (%v): a sync trigger needs Nth >= 1 and Lag >= 0, a roll trigger Ops >= 1", i, e)
			}
		case OpLoneLeader:
			// It crashes one node, which the world picks: a node down.
			down[loneLeaderNode] = true
			if len(down) > atlas.MaxDown || !(e.Keep >= 0 && e.Keep <= 1) || e.Lag < 0 || e.Down < 0 || e.Until < e.At {
				return fmt.Errorf("event %d (%v): %d nodes down (atlas allows %d), or keep outside [0, 1], or a negative lag or down time, or until before the start", i, e, len(down), atlas.MaxDown)
			}
		case OpLoneLeaderHeal:
			delete(down, loneLeaderNode)
		case OpRestart, OpResume:
			delete(down, e.Node)
		case OpDiskFaults:
			disk[e.Node] = true
			errorsOK := e.Count == 0 || e.Count <= atlas.MaxDiskErrors && e.Prob > 0 && e.Prob <= atlas.MaxDiskProb
			flipsOK := e.Flips == 0 || e.Flips <= atlas.MaxReadFlips && e.FlipProb > 0 && e.FlipProb <= atlas.MaxFlipProb
			if len(disk) > 1 || e.Count < 0 || e.Flips < 0 || e.Count+e.Flips == 0 || !errorsOK || !flipsOK {
				return fmt.Errorf("event %d (%v): outside the atlas (max %d errors, p <= %.2f; max %d read flips, p <= %.2f; one node at a time)",
					i, e, atlas.MaxDiskErrors, atlas.MaxDiskProb, atlas.MaxReadFlips, atlas.MaxFlipProb)
			}
		case OpDiskHeal:
			delete(disk, e.Node)
		case OpClockJump:
			if abs(e.Offset) > atlas.MaxClockJump {
				return fmt.Errorf("event %d (%v): jump beyond %v", i, e, atlas.MaxClockJump)
			}
			if math.Abs(e.Drift) > atlas.MaxClockDrift || e.TimerJump < 0 || e.TimerJump > atlas.MaxTimerJump {
				return fmt.Errorf("event %d (%v): drift beyond %.4f or timer jump outside [0, %v]", i, e, atlas.MaxClockDrift, atlas.MaxTimerJump)
			}
		case OpLateRequest:
			if e.Hold <= 0 || e.Hold > MaxHold {
				return fmt.Errorf("event %d (%v): hold outside (0, %v]", i, e, MaxHold)
			}
		case OpFlaky:
			if e.Prob <= 0 || e.Prob > atlas.MaxFlakyProb {
				return fmt.Errorf("event %d (%v): p outside (0, %.2f]", i, e, atlas.MaxFlakyProb)
			}
		}
	}
	if len(open) > 0 {
		return fmt.Errorf("faults never healed: %v", slices.Sorted(maps.Keys(open)))
	}
	return nil
}

func triggerOK(e Event) bool {
	if e.Down < 0 || (e.Down > 0 && e.Trigger == TriggerAt) {
		return false
	}
	switch e.Trigger {
	case TriggerAt:
		return true
	case TriggerSync:
		return e.Nth >= 1 && e.Lag >= 0
	case TriggerRoll:
		return e.Ops >= 1
	}
	return false
}
