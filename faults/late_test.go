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
