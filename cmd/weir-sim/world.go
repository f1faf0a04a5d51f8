package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/broker"
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
	Nodes          int     `json:"nodes"`
	Partitions     int32   `json:"partitions"`
	Producers      int     `json:"producers"`
	Consumers      int     `json:"consumers"`
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
	// PowerLossKeep, when not negative, cuts the power of every node at
	// once before the final reads (each disk keeps this fraction of its
	// unsynced tails at most), so that every acknowledgement is tested for
	// durability; -1 on the seeds that skip it. Runs without faults
	// (--faults none) skip it too.
	PowerLossKeep float64 `json:"power_loss_keep"`
}

// worldParamsFromSeed draws the cluster, the workload's shape and the
// network from the parameter stream. The fault schedule is drawn in
// runWorld from the world stream, and recorded in the trace.
func worldParamsFromSeed(p *params, rng *rand.Rand) {
	minLat := 50 + rng.Int64N(450)
	p.World = &worldParams{
		// One broker until replication lands; nothing below assumes it.
		Nodes:          1,
		Partitions:     1 + rng.Int32N(4),
		Producers:      1 + rng.IntN(3),
		Consumers:      1 + rng.IntN(2),
		RatePerSec:     []float64{2, 5, 10, 20}[rng.IntN(4)],
		Keys:           2 + rng.IntN(10),
		LatencyMinUs:   minLat,
		LatencyMaxUs:   minLat + rng.Int64N(2000),
		JitterUs:       rng.Int64N(500),
		SyncLatencyUs:  100 + rng.Int64N(4900),
		MeanFaultGapNs: int64(time.Duration(p.DurationNs) / time.Duration(2+rng.IntN(6))),
		// Drawn last, so that the draws above are what they were before.
		SegmentBytes: []int64{1 << 30, 1 << 30, 4 << 10, 16 << 10}[rng.IntN(4)],
	}
	p.World.PowerLossKeep = -1
	if rng.IntN(2) == 0 {
		p.World.PowerLossKeep = rng.Float64()
	}
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
	defects, err := broker.ParseDefect(p.Defect)
	if err != nil {
		out.Verdict(exitHarness, err.Error(), nil)
		return exitHarness
	}
	w := world.New(rng, world.Config{
		Nodes:   wp.Nodes,
		Defects: defects,
		Net: simnet.Options{
			LatencyMin: time.Duration(wp.LatencyMinUs) * time.Microsecond,
			LatencyMax: time.Duration(wp.LatencyMaxUs) * time.Microsecond,
			Jitter:     time.Duration(wp.JitterUs) * time.Microsecond,
		},
		SyncLatency:     time.Duration(wp.SyncLatencyUs) * time.Microsecond,
		LivenessTimeout: 60 * time.Second,
		Broker: func(_ string, cfg *broker.Config) {
			if wp.SegmentBytes > 0 { // 0: parameters recorded before the field existed
				cfg.TopicDefaults["segment.bytes"] = strconv.FormatInt(wp.SegmentBytes, 10)
			}
		},
		Trace: func(line string) { out.Tracef("world", "%s", line) },
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
			Clients:      clientHosts,
		})
	}
	for _, e := range schedule.Events {
		out.Tracef("nemesis", "scheduled %s", e)
	}
	rec := history.NewRecorder(time.Now)
	qcfg := queue.Config{
		Topic:      "queue",
		Partitions: wp.Partitions,
		Producers:  wp.Producers,
		Consumers:  wp.Consumers,
		Rate:       wp.RatePerSec,
		Keys:       wp.Keys,
		Duration:   duration,
		Rand:       rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
		Bootstrap:  w.BootstrapAddrs(),
		Dialer:     w.ClientDialer("client"),
	}
	var runErr error
	err = w.Run(ctx, schedule, func(ctx context.Context, _ *world.World) {
		runErr = queue.Run(ctx, qcfg, rec)
	})
	code := exitValid
	switch {
	case errors.Is(err, world.ErrLiveness):
		code = exitLiveness
	case err != nil:
		out.Verdict(exitHarness, fmt.Sprintf("world: %v", err), nil)
		return exitHarness
	case runErr != nil:
		out.Verdict(exitHarness, fmt.Sprintf("workload: %v", runErr), nil)
		return exitHarness
	}
	if code == exitValid && wp.PowerLossKeep >= 0 && kinds != 0 {
		w.PowerLoss(wp.PowerLossKeep)
		if err = w.Liveness(ctx); err != nil {
			code = exitLiveness
		}
	}
	if code == exitValid {
		fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		if err := queue.FinalReads(fctx, qcfg, rec); err != nil {
			out.Tracef("checker", "final reads incomplete: %v", err)
		}
		cancel()
	}
	ops := rec.Ops()
	for _, op := range ops {
		out.History(op)
	}
	if code == exitLiveness {
		out.Verdict(code, fmt.Sprintf("the healed cluster did not converge: %v", err), nil)
		return code
	}
	v := checker.Check(ops, checker.Opts{})
	breaches := addBreaches(&v, w.Breaches())
	if !v.Valid {
		code = exitInvalid
	}
	out.Verdict(code, v.Summary()+breaches, v)
	return code
}
