package faults_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/faults"
)

// TestLateRequests: the arms and their heals pass Check merged into a
// generated schedule, each hold is within its bounds, the draw is a
// function of the seed, and the merge leaves Generate's events as they were.
func TestLateRequests(t *testing.T) {
	nodes, clients := []string{"n1", "n2", "n3"}, []string{"producer-0", "producer-1", "consumer-0"}
	cfg := faults.LateConfig{Hosts: clients[:2], Requests: []int16{kmsg.EndTxn.Int16()}, Duration: time.Minute, MinHold: 2 * time.Second, MaxHold: 14 * time.Second}
	arms := 0
	for seed := range uint64(50) {
		late := faults.LateRequests(rand.New(rand.NewPCG(seed, 1)), cfg)
		again := faults.LateRequests(rand.New(rand.NewPCG(seed, 1)), cfg)
		if len(late) != len(again) {
			t.Fatalf("seed %d: %d then %d events", seed, len(late), len(again))
		}
		base := faults.Generate(rand.New(rand.NewPCG(seed, 2)), faults.Config{Nodes: nodes, Kinds: faults.All, Duration: time.Minute, Clients: clients})
		s := base.Merge(late)
		if err := s.Check(faults.AtlasFor(3), nodes, clients...); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if len(s.Events) != len(base.Events)+len(late) {
			t.Fatalf("seed %d: merge lost events", seed)
		}
		for i, e := range late {
			if e.String() != again[i].String() {
				t.Fatalf("seed %d: event %d differs: %v, %v", seed, i, e, again[i])
			}
			if e.Op != faults.OpLateRequest {
				continue
			}
			arms++
			if e.Hold < cfg.MinHold || e.Hold > cfg.MaxHold || e.Node == "consumer-0" {
				t.Errorf("seed %d: %v", seed, e)
			}
			if !strings.Contains(e.String(), "late-request producer-") || !strings.Contains(e.String(), "request=EndTxn") {
				t.Errorf("event string %q", e.String())
			}
		}
	}
	if arms < 50 {
		t.Errorf("%d arms over 50 seeds", arms)
	}
	bad := faults.Schedule{Duration: time.Minute, Events: []faults.Event{{At: time.Second, Op: faults.OpLateRequest, Node: "producer-0", Hold: time.Hour}, {At: 2 * time.Second, Op: faults.OpLateRequestHeal, Node: "producer-0"}}}
	if err := bad.Check(faults.AtlasFor(3), nodes, clients...); err == nil {
		t.Error("a hold of an hour passed Check")
	}
}

// TestLateRequestsLandBy: with LandBy every late request arrives by then,
// even one written at its window's very end, each hold still at least
// MinHold; no arm is drawn that could not.
func TestLateRequestsLandBy(t *testing.T) {
	cfg := faults.LateConfig{Hosts: []string{"producer-0"}, Requests: []int16{kmsg.EndTxn.Int16()}, Duration: 20 * time.Second,
		MeanGap: 2 * time.Second, Window: 2 * time.Second, MinHold: 5500 * time.Millisecond, MaxHold: 14 * time.Second, LandBy: 20 * time.Second}
	arms, late := 0, 0
	for seed := range uint64(200) {
		events := faults.LateRequests(rand.New(rand.NewPCG(seed, 1)), cfg)
		for i, e := range events {
			if e.Op != faults.OpLateRequest {
				continue
			}
			arms++
			end := events[i+1].At // the arm's heal ends its window
			if e.Hold < cfg.MinHold || end+e.Hold > cfg.LandBy {
				t.Errorf("seed %d: %v (window ends %v): lands after %v", seed, e, end, cfg.LandBy)
			}
		}
		without := cfg
		without.LandBy = 0
		for _, e := range faults.LateRequests(rand.New(rand.NewPCG(seed, 1)), without) {
			if e.Op == faults.OpLateRequestHeal && e.At+cfg.MaxHold > cfg.LandBy {
				late++
			}
		}
	}
	if arms < 200 {
		t.Errorf("%d arms over 200 seeds", arms)
	}
	if late == 0 {
		t.Error("without LandBy no window could land late: the test shows nothing")
	}
}
