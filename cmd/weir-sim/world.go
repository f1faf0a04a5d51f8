package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kmsg"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/broker/quorum"
	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/faults"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/sim/simnet"
	"github.com/weir-dev/weir/sim/world"
	"github.com/weir-dev/weir/workloads/queue"
)

// seedStreamWorld separates the world's random stream (network latencies,
// crash tears, fault schedule, workload choices) from the parameter stream.
const seedStreamWorld = 0x7765_6972_776f_726c // "weirworl"

// worldParams are the parameters of the real scenario that the seed decides.
type worldParams struct {
	Nodes int `json:"nodes"` // brokers
	// ControllerMode is where the metadata quorum runs: "combined" (every
	// broker a voter) or "dedicated" (Controllers nodes with
	// process.roles=controller); controllers.go, --controllers. Empty in
	// parameters recorded before it was drawn: combined.
	ControllerMode string `json:"controller_mode,omitempty"`
	Controllers    int    `json:"controllers,omitempty"`
	Partitions     int32  `json:"partitions"`
	Producers      int    `json:"producers"` // producer clients
	Consumers      int    `json:"consumers"`
	// Rate is the queue's sends per virtual second across its producer
	// clients (--rate, else drawn: load.go); RatePerSec is each client's
	// share of it.
	Rate           float64 `json:"rate,omitempty"`
	RatePerSec     float64 `json:"rate_per_producer_per_sec"`
	Keys           int     `json:"keys"`
	LatencyMinUs   int64   `json:"latency_min_us"`
	LatencyMaxUs   int64   `json:"latency_max_us"`
	JitterUs       int64   `json:"jitter_us"`
	SyncLatencyUs  int64   `json:"sync_latency_us"`
	MeanFaultGapNs int64   `json:"mean_fault_gap_ns"`
	// SegmentBytes is the topics' segment.bytes: Kafka's 1 GiB on half the
	// seeds, a few KiB on the others, so that segment rolls, the producer
	// state snapshots taken at each roll and recovery across segments meet
	// the faults too.
	SegmentBytes int64 `json:"segment_bytes"`
	// InFlight is the number of processes sharing each producer client,
	// each with one send open; LingerUs the clients' linger, so requests
	// carry multi-record batches.
	InFlight int   `json:"in_flight_per_producer"`
	LingerUs int64 `json:"linger_us"`
	// PowerLossKeep, when not negative, cuts the power of every node at
	// once before the final reads (each disk keeps this fraction of its
	// unsynced tails at most), so that every acknowledgement is tested for
	// durability; -1 on the seeds that skip it. Runs without faults
	// (--faults none) skip it too.
	PowerLossKeep float64 `json:"power_loss_keep"`
	// ReplicationFactor and MinInsync are the queue topic's.
	ReplicationFactor int16 `json:"replication_factor"`
	MinInsync         int   `json:"min_insync_replicas"`
	// Txn runs the queue's producers in transactions, its consumers
	// read_committed (txn.go; --txn, else a quarter of the seeds).
	Txn bool `json:"txn"`
	// ReplicaLagMs is the brokers' replica.lag.time.max.ms
	// (replication.go); 0 in parameters recorded before it was drawn.
	ReplicaLagMs int64 `json:"replica_lag_ms,omitempty"`
	// GroupBalancer, when set, runs the consumers as members of one
	// consumer group with this assignor (queue.GroupConfig): on a third of
	// the seeds, and always with a group coordinator's defect.
	GroupBalancer string `json:"group_balancer,omitempty"`
	// GroupAssignDelayNs is the mean time the group's leader takes to
	// assign (queue.GroupConfig.AssignDelay): 0 on a quarter of the group
	// seeds, else 1, 2 or 3 s, so that members leave while their
	// SyncGroups wait at the coordinator for the leader's.
	GroupAssignDelayNs int64 `json:"group_assign_delay_ns,omitempty"`
	// GroupProtocol is the group's protocol, classic or consumer
	// (KIP-848), and GroupStatic whether its members are static
	// (group.instance.id): drawn from a stream of their own
	// (groupmode.go); empty in parameters recorded before: classic.
	GroupProtocol string `json:"group_protocol,omitempty"`
	GroupStatic   bool   `json:"group_static,omitempty"`
	// Compaction, when set, makes the brokers' log cleaner run within the
	// run, on small segments of the internal topics and of a compacted
	// topic the queue writes (compaction.go; --compaction, else a third
	// of the seeds).
	Compaction compactionParams `json:"compaction,omitzero"`
}

// worldParamsFromSeed draws the cluster, the workload's shape and the
// network from the parameter stream. The fault schedule is drawn in
// runWorld from the world stream, and recorded in the trace.
func worldParamsFromSeed(p *params, rng *rand.Rand) {
	minLat := 50 + rng.Int64N(450)
	p.World = &worldParams{
		Nodes:          1, // drawn below, last
		Partitions:     1 + rng.Int32N(4),
		Producers:      1 + rng.IntN(3),
		Consumers:      1 + rng.IntN(2),
		Rate:           drawRate(rng),
		Keys:           2 + rng.IntN(10),
		LatencyMinUs:   minLat,
		LatencyMaxUs:   minLat + rng.Int64N(2000),
		JitterUs:       rng.Int64N(500),
		SyncLatencyUs:  100 + rng.Int64N(4900),
		MeanFaultGapNs: int64(time.Duration(p.DurationNs) / time.Duration(2+rng.IntN(6))),
		// Drawn last, so that the draws above are what they were before.
		SegmentBytes: []int64{1 << 30, 1 << 30, 4 << 10, 16 << 10}[rng.IntN(4)],
	}
	// The workload's pipelining, drawn after the rest so that the draws
	// above stay what they were.
	p.World.InFlight = 8 + rng.IntN(41)
	setLoad(p)
	p.World.LingerUs = 2000 + rng.Int64N(8000)
	p.World.PowerLossKeep = -1
	if rng.IntN(2) == 0 {
		p.World.PowerLossKeep = rng.Float64()
	}
	// The cluster: 1 to 5 brokers, 3 most often, each a voter of the
	// metadata quorum unless the seed draws dedicated controllers
	// (controllers.go, drawn from a stream of its own); topics replicated 3 ways (fewer on fewer brokers)
	// with min.insync.replicas 2, the configuration Kafka promises to keep
	// acknowledged writes in while a majority of replicas survives.
	p.World.Nodes = brokerTable[rng.IntN(len(brokerTable))]
	r, _ := parseBrokers(p.Brokers) // parseFlags checked it
	p.World.Nodes = r.brokers(p.World.Nodes, p.Seed)
	p.World.ReplicationFactor = int16(min(3, p.World.Nodes))
	p.World.MinInsync = min(2, int(p.World.ReplicationFactor))
	// The documented losses (lossAllowances), decided by flags, not drawn.
	if p.LoneLeader || p.UncleanElection {
		// Two replicas, one of which may be left alone in the ISR: with
		// one node down at a time (the atlas), a third replica would
		// always be a clean choice. At least three brokers: a follower
		// to leave out of the ISR, and (combined) a metadata quorum that
		// still has a majority while the lone leader is down, to elect.
		p.World.Nodes = max(p.World.Nodes, 3)
		p.World.ReplicationFactor = 2
		p.World.MinInsync = 1
	}
	if p.NoFsync && p.World.PowerLossKeep < 0 {
		p.World.PowerLossKeep = 0
	}
	// Consumer groups, drawn last: 2-4 members that join, leave, crash
	// and commit.
	// The draw is made whatever --group says, so that the draws after it
	// stay the seed's.
	// --group's first part is the queue's: seed (recorded as ""), on or off.
	queueGroup, _, _ := strings.Cut(p.Group, ",")
	if drawn := rng.IntN(3) == 0; (drawn && queueGroup != "off") || queueGroup == "on" || broker.IsGroupDefect(p.Defect) {
		bs := queue.GroupBalancers()
		p.World.GroupBalancer = bs[rng.IntN(len(bs))]
		p.World.Consumers = 2 + rng.IntN(3)
		p.World.GroupAssignDelayNs = int64([]time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}[rng.IntN(4)])
	}
}

// lossAllowances are the anomalies that a configuration Kafka documents as
// losing acknowledged writes may show, on top of the workload's own
// (queue.Config.Allowed, which already allows acks=1 its lost writes,
// their offsets taken again and the reads that saw them):
//
//   - acks=1: the leader answers after its own append, and a leader crash
//     before the followers fetched the record loses it;
//   - unclean.leader.election.enable=true (with two replicas and
//     min.insync.replicas=1, Kafka's default, so that the ISR can shrink
//     to the leader alone while the other replica is cut off or paused):
//     when that leader crashes, the replica that is not in sync becomes
//     leader, and what only the old leader had is cut from every log;
//   - weir.fsync.acks.all=false with a power loss of the whole cluster:
//     acknowledgements wait for no fsync, so every replica may lose them.
//
// A lost record's offset is then taken by another (inconsistent-offsets),
// so a producer's later send may be acknowledged at the lost one's offset
// (nonmonotonic-send); a read may have seen what is lost
// (nonlinearizable), a high watermark may go back (watermark-regression)
// and a consumer read offsets again below those it had read, once the log
// was cut under it (nonmonotonic-poll). A lost record no poll had read is
// unseen; a consumer that read the old log and then the new one skipped
// the lost record at its acknowledged offset (poll-skip, int-poll-skip);
// a committed transaction with a record lost is torn (torn-transaction);
// a compacted topic that lost a key's last record ends the key wrongly
// (compaction-lost-key).
// These runs are valid when they find such losses, which the verdict lists
// as allowed: the losses are the configuration's, not a bug. (Seed 25 of
// --faults crash,partition --unclean-election, a transactional run, showed
// the last four once lone-leader crashes made the elections lose data.)
func lossAllowances(p params) []string {
	if p.Acks != "1" && !p.UncleanElection && !p.NoFsync {
		return nil
	}
	return []string{checker.LostWrite, checker.InconsistentOffsets, checker.NonmonotonicSend, checker.NonmonotonicPoll, checker.Nonlinearizable, checker.WatermarkRegression,
		checker.Unseen, checker.PollSkip, checker.IntPollSkip, checker.TornTransaction, checker.CompactionLostKey}
}

// replicaLag is the brokers' replica.lag.time.max.ms in a run of wp.
func replicaLag(wp *worldParams) time.Duration {
	if wp.ReplicaLagMs > 0 {
		return time.Duration(wp.ReplicaLagMs) * time.Millisecond
	}
	return world.DefaultReplicaLagTimeMax
}

// runWorld is the real simulation: a Weir cluster on the simulated network
// and disks, the queue workload's franz-go clients, a fault schedule drawn
// from the seed, a liveness phase, final reads and the checkers.
func runWorld(ctx context.Context, p params, out *output) int {
	wp := p.World
	rng := rand.New(rand.NewPCG(p.Seed, seedStreamWorld))
	kinds, err := faults.Parse(strings.Join(p.Faults, ","))
	if err != nil {
		out.Verdict(exitHarness, err.Error(), nil)
		return exitHarness
	}
	defects, err := broker.ParseDefect(brokerDefect(p))
	if err != nil {
		out.Verdict(exitHarness, err.Error(), nil)
		return exitHarness
	}
	// The metadata checker records every node's quorum member: every
	// broker's and every dedicated controller's.
	metaHist := quorum.NewHistory()
	traced := map[uint64]bool{} // metadata log indexes already in the trace
	var w *world.World          // set below, before any node starts
	observe := func(e quorum.Event) {
		metaHist.Record(e)
		switch {
		case e.Kind == quorum.EventLeader:
			out.Tracef("metadata", "%s leads the quorum in term %d", w.NodeName(e.Node), e.Term)
		case e.Kind == quorum.EventApply && !traced[e.Index] && len(e.Records) > 0:
			traced[e.Index] = true
			for _, r := range e.Records {
				out.Tracef("metadata", "%d: %v", e.Index, r)
			}
		}
	}
	w = world.New(rng, world.Config{
		Nodes:          wp.Nodes,
		Controllers:    wp.Controllers,
		QuorumObserver: observe,
		Defects:        defects,
		Net: simnet.Options{
			LatencyMin: time.Duration(wp.LatencyMinUs) * time.Microsecond,
			LatencyMax: time.Duration(wp.LatencyMaxUs) * time.Microsecond,
			Jitter:     time.Duration(wp.JitterUs) * time.Microsecond,
		},
		SyncLatency:     time.Duration(wp.SyncLatencyUs) * time.Microsecond,
		LivenessTimeout: 60 * time.Second,
		Broker: func(_ string, cfg *broker.Config) {
			if p.NoFsync {
				cfg.FsyncAcksAll = false
			}
			if wp.SegmentBytes > 0 { // 0: parameters recorded before the field existed
				cfg.TopicDefaults["segment.bytes"] = strconv.FormatInt(wp.SegmentBytes, 10)
			}
			if wp.ReplicaLagMs > 0 {
				cfg.ReplicaLagTimeMax = time.Duration(wp.ReplicaLagMs) * time.Millisecond
			}
			if consumerProtocolInRun(p) {
				// The classic members' 6 s session, not Kafka's 45 s,
				// within a 60 s run; heartbeats every second.
				cfg.Groups.Coordinator.ConsumerSessionTimeoutMs = 6000
				cfg.Groups.Coordinator.ConsumerHeartbeatIntervalMs = 1000
			}
			configureCompaction(wp.Compaction, cfg)
		},
		Trace: func(line string) { out.Tracef("world", "%s", line) },
		Start: out.start, // one time base: the trace's, the history's and faults.jsonl's
	})
	defer w.Close()
	defer func() { out.faultRecords = w.FaultRecords() }()
	out.checks = checkNames()
	duration := time.Duration(p.DurationNs)
	schedule := faults.Schedule{Duration: duration}
	if kinds != 0 {
		schedule = faults.Generate(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), faults.Config{
			Nodes: w.Nodes(), Kinds: kinds, Duration: duration,
			MeanGap:      time.Duration(wp.MeanFaultGapNs),
			SyncLatency:  time.Duration(wp.SyncLatencyUs) * time.Microsecond,
			NetLatency:   time.Duration(wp.LatencyMaxUs+wp.JitterUs) * time.Microsecond,
			SegmentRolls: wp.SegmentBytes < 1<<20,
			// With unclean elections allowed, or to show they are not,
			// crash windows aim at a leader that leads alone
			// (faults.OpLoneLeader), the only way such an election loses
			// acknowledged writes.
			LoneLeader: p.LoneLeader || p.UncleanElection,
			ReplicaLag: replicaLag(wp),
			LeaderDown: broker.DefaultConfig().SessionTimeout + 3*time.Second,
			// Each client of the workload has a host of its own, which
			// partitions may cut off; a cut between one client and one
			// node aims at a broker (a dedicated controller has no
			// clients to lose).
			Clients:       workloadHosts(p),
			ClientTargets: w.Brokers(),
		})
	}
	if wp.Txn && (kinds.Has(faults.Partition) || kinds.Has(faults.Flaky)) {
		schedule = schedule.Merge(lateRequests(p, duration))
	}
	schedule = schedule.Merge(lateAlters(p, kinds, w.Brokers(), schedule, duration))
	for _, e := range schedule.Events {
		out.Tracef("nemesis", "scheduled %s", e)
	}
	qcfg := queue.Config{
		Topic:             "queue",
		Partitions:        wp.Partitions,
		ReplicationFactor: max(wp.ReplicationFactor, 1),
		TopicConfigs:      map[string]string{"min.insync.replicas": strconv.Itoa(max(wp.MinInsync, 1))},
		Producers:         wp.Producers,
		InFlight:          wp.InFlight,
		Consumers:         wp.Consumers,
		Rate:              wp.RatePerSec,
		Keys:              wp.Keys,
		Linger:            time.Duration(wp.LingerUs) * time.Microsecond,
		// A consumer that assigns or subscribes anew reads the log from
		// its start again: at thousands of records a second, rarely.
		ReassignChance: 0.0002,
		// Fetches that carry many records: a fetch per record costs the
		// guest more than the records do.
		PollInterval: 100 * time.Millisecond,
		Duration:     duration,
		Rand:         rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
		Group:        groupConfig(wp),
		Bootstrap:    w.BootstrapAddrs(),
		HostDialer:   w.ClientDialer,
		Txn:          txnConfig(wp),
		Compacted:    compactedConfig(wp.Compaction),
	}
	if p.UncleanElection {
		qcfg.TopicConfigs["unclean.leader.election.enable"] = "true"
	}
	if p.Acks == "1" {
		qcfg.Acks = queue.AcksLeader
	}
	// The workloads --workload names (workloads.go), the queue built from
	// qcfg. One time base: the history's times are virtual time since the
	// run began, trace.log's first column.
	set, err := newWorkloadSet(p, qcfg, w, rng, out)
	if err != nil {
		out.Verdict(exitHarness, fmt.Sprintf("workloads: %v", err), nil)
		return exitHarness
	}
	var runErr error
	// The topics are created in the setup phase, before the first fault:
	// a cluster that cannot create them then fails liveness.
	err = w.Setup(ctx, set.Setup)
	if err == nil {
		err = w.Run(ctx, schedule, func(ctx context.Context, _ *world.World) {
			runErr = set.Run(ctx)
		})
	}
	var liveness error
	switch {
	case errors.Is(err, world.ErrLiveness):
		liveness = err
	case err != nil:
		out.Verdict(exitHarness, fmt.Sprintf("world: %v", err), nil)
		return exitHarness
	case runErr != nil:
		out.Verdict(exitHarness, fmt.Sprintf("workload: %v", runErr), nil)
		return exitHarness
	}
	// On half the seeds, a power loss of every node before the final read
	// tests every acknowledgement for durability once more.
	if liveness == nil && wp.PowerLossKeep >= 0 && (kinds != 0 || p.NoFsync) {
		w.PowerLoss(wp.PowerLossKeep)
		if err := w.Liveness(ctx); err != nil {
			liveness = err
		}
	}
	// The final read runs whatever the liveness phase said: the safety
	// checkers judge every run, and an incomplete final read is itself a
	// liveness failure.
	fctx, cancel := context.WithTimeout(ctx, finishTimeout(p))
	if err := set.Finish(fctx); err != nil {
		out.Tracef("checker", "final read: %v", err)
	}
	cancel()
	ops, err := set.History()
	if err != nil {
		out.Verdict(exitHarness, fmt.Sprintf("history: %v", err), nil)
		return exitHarness
	}
	out.History(history.CurrentHeader())
	for _, op := range ops {
		out.History(op)
	}
	opts := set.Opts()
	opts.Allowed = slices.Compact(slices.Sorted(slices.Values(append(opts.Allowed, lossAllowances(p)...))))
	opts.VisualizationPath = func(topic string, p int32) string {
		return filepath.Join(out.dir, fmt.Sprintf("linearizability-%s-%d.html", topic, p))
	}
	code, summary, v := checker.Judge(ops, opts, liveness,
		func(v *checker.Verdict) { checkMetadata(metaHist, v) },
		func(v *checker.Verdict) { addBreaches(v, w.Breaches()) })
	for _, r := range v.Linearizability {
		out.Tracef("checker", "linearizability %s/%d: %s (%d appends, %d reads, %d windows, %d steps)", r.Topic, r.Partition, r.Result, r.Appends, r.Reads, r.Windows, r.Steps)
	}
	out.Verdict(code, summary, v)
	return code
}

// seedStreamLate separates the draw of late requests (lateRequests) from
// every other stream, so that transactional runs keep the rest of their
// schedule.
const seedStreamLate = 0x7765_6972_6c61_7465 // "weirlate"

// lateRequests are a transactional run's late requests (network faults):
// an EndTxn (three times in four) or a produce of a transactional
// producer host held back 5.5-14 s on its connection, while the client,
// after its 5 s request timeout, sends it again over a new connection and
// goes on with its next transaction. The Bufstream finding (Jepsen, 2024): without
// KIP-890's epoch bump the late EndTxn ends that next transaction. Every
// late request lands within the safety phase (LandBy), while the clients
// still run transactions it could land in.
func lateRequests(p params, duration time.Duration) []faults.Event {
	qc := queue.Config{Producers: p.World.Producers}
	return faults.LateRequests(rand.New(rand.NewPCG(p.Seed, seedStreamLate)), faults.LateConfig{
		Hosts:    qc.ProducerHosts(),
		Requests: []int16{kmsg.EndTxn.Int16(), kmsg.EndTxn.Int16(), kmsg.EndTxn.Int16(), kmsg.Produce.Int16()},
		Duration: duration,
		MeanGap:  duration / 20,
		Window:   duration / 20,
		MinHold:  5500 * time.Millisecond,
		MaxHold:  14 * time.Second,
		LandBy:   duration,
	})
}

// lateAlters are a run's late AlterPartitions: the windows
// (lateAlterWindows) in runs with partitions and crashes on three brokers
// or more, random late deliveries (lateAlterPartitions) in other runs with
// partitions, and none in lone-leader and unclean-election runs, whose
// lone-leader windows make their moment (a leader whose ISR shrank to
// itself, then crashed): holding the ISR changes those windows wait for,
// and crashing more nodes, breaks it (elect-outside-isr went from caught
// at seed 4 to not caught by seed 46 with them).
func lateAlters(p params, kinds faults.Set, brokers []string, busy faults.Schedule, duration time.Duration) []faults.Event {
	switch {
	case p.LoneLeader || p.UncleanElection:
		return nil
	case kinds.Has(faults.Partition) && kinds.Has(faults.Crash) && len(brokers) >= 3:
		return lateAlterWindows(p.Seed, brokers, busy, duration)
	case kinds.Has(faults.Partition):
		return lateAlterPartitions(p.Seed, brokers, duration)
	}
	return nil
}

// seedStreamLateAlter separates the draw of late AlterPartitions
// (lateAlterPartitions) from every other stream; broker i draws from
// seedStreamLateAlter+i.
const seedStreamLateAlter = 0x7765_6972_6973_7200 // "weirisr\0"

// lateAlterPartitions are the late deliveries of leaders' ISR changes (a
// network fault, drawn in runs with partitions and no crashes, where
// lateAlterWindows cannot crash followers): each broker host, on a
// stream of its own, is armed now and then so that its next
// AlterPartition to the controller, and what follows it on that
// connection, arrives 2-12 s late. The request travels on the quorum
// connection of its own (Kafka's AlterPartitionManager channel), so the
// broker's heartbeats flow meanwhile and the leader stays unfenced; the
// controller meanwhile changes the ISR itself when a member is fenced or
// re-registers (a crash, an isolation), and the late request then names a
// partition epoch that is no longer current. A correct controller refuses
// it (INVALID_UPDATE_VERSION) and the leader proposes again from the new
// epoch; the skip-partition-epoch-check defect applies it, and when the
// removed member has returned meanwhile the stale ISR it names is written
// (the metadata checker's alter-partition rule). Every late request lands
// within the safety phase.
func lateAlterPartitions(seed uint64, brokers []string, duration time.Duration) []faults.Event {
	var out []faults.Event
	for i, b := range brokers {
		out = append(out, faults.LateRequests(rand.New(rand.NewPCG(seed, seedStreamLateAlter+uint64(i))), faults.LateConfig{
			Hosts:    []string{b},
			Requests: []int16{kmsg.AlterPartition.Int16()},
			Duration: duration,
			MeanGap:  duration / 10,
			Window:   duration / 8,
			MinHold:  2 * time.Second,
			MaxHold:  12 * time.Second,
			LandBy:   duration,
		})...)
	}
	return out
}

// seedStreamAlterWindows separates the draw of late-AlterPartition
// windows (lateAlterWindows) from every other stream.
const seedStreamAlterWindows = 0x7765_6972_6973_7277 // "weirisrw"

// lateAlterWindows are the late-AlterPartition windows of a run with
// partitions and crashes (faults.LateAlterWindows): a follower crashes and
// returns, every other broker's next AlterPartition (the leaders putting
// it back into their ISRs) is held 9-13 s, and meanwhile a second
// follower crashes and returns, so that the held changes name a partition
// epoch from before the controller took the second one out. The windows
// go around the schedule's own crashes and pauses.
func lateAlterWindows(seed uint64, brokers []string, busy faults.Schedule, duration time.Duration) []faults.Event {
	return faults.LateAlterWindows(rand.New(rand.NewPCG(seed, seedStreamAlterWindows)), faults.AlterWindowConfig{
		Brokers:        brokers,
		AlterPartition: kmsg.AlterPartition.Int16(),
		Duration:       duration,
		Busy:           busy,
	})
}

// checkMetadata adds the metadata checker's verdict (quorum.History.Check:
// one leader per term, every broker's images a prefix of one committed log,
// epochs that only grow, one leader per partition leader epoch) to v: a
// violation makes the run invalid.
func checkMetadata(h *quorum.History, v *checker.Verdict) {
	violations, _ := h.Check()
	var details []string
	for _, vi := range violations {
		details = append(details, vi.String())
	}
	v.AddFound(metadataAnomaly, details)
}

// metadataAnomaly names the metadata checker's findings in the verdict.
const metadataAnomaly = "metadata"

// groupConfig is the queue's consumer group on the seeds that draw one.
func groupConfig(wp *worldParams) queue.GroupConfig {
	if wp.GroupBalancer == "" {
		return queue.GroupConfig{}
	}
	return queue.GroupConfig{Name: "queue-group", Balancer: wp.GroupBalancer, AssignDelay: time.Duration(wp.GroupAssignDelayNs),
		Protocol: wp.GroupProtocol, Static: wp.GroupStatic}
}
