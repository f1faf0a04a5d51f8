package reconcile_test

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/reconcile"
)

// genImage draws an image of up to 4 brokers (some fenced, one maybe
// without a registration) and up to 3 topics with random placement and
// leaders (-1: none).
func genImage(t *rapid.T) *metadata.Image {
	var recs []metadata.Record
	brokers := rapid.IntRange(1, 4).Draw(t, "brokers")
	for id := int32(1); id <= int32(brokers); id++ {
		recs = append(recs, &metadata.RegisterBrokerRecord{NodeID: id, Epoch: 1, IncarnationID: [16]byte{byte(id)},
			Fenced: rapid.Bool().Draw(t, "fenced"), Listeners: []metadata.Listener{{Host: fmt.Sprintf("n%d", id), Port: 9092}}})
	}
	topics := rapid.IntRange(0, 3).Draw(t, "topics")
	for ti := range topics {
		id := metadata.TopicID{15: byte(rapid.IntRange(1, 5).Draw(t, "topic id"))}
		if slices.ContainsFunc(recs, func(r metadata.Record) bool { tr, ok := r.(*metadata.TopicRecord); return ok && tr.ID == id }) {
			continue
		}
		recs = append(recs, &metadata.TopicRecord{Name: fmt.Sprintf("t%d", ti), ID: id})
		if rapid.Bool().Draw(t, "override") {
			recs = append(recs, &metadata.ConfigRecord{Resource: metadata.ResourceTopic, Name: fmt.Sprintf("t%d", ti), Key: "retention.ms", Value: "1000"})
		}
		for p := range rapid.IntRange(1, 3).Draw(t, "partitions") {
			replicas := rapid.SliceOfNDistinct(rapid.Int32Range(1, 5), 1, 3, rapid.ID[int32]).Draw(t, "replicas")
			leader := rapid.SampledFrom(append([]int32{-1}, replicas...)).Draw(t, "leader")
			recs = append(recs, &metadata.PartitionRecord{TopicID: id, Partition: int32(p), Replicas: replicas, ISR: replicas, Leader: leader})
		}
	}
	img, err := metadata.Empty(nil).Apply(metadata.Offset{Index: 1, Term: 1}, recs)
	if err != nil {
		t.Fatalf("image: %v", err)
	}
	return img
}

// genHeld draws replicas a node may hold: of topics in the image or not,
// with the image's topic id or another.
func genHeld(t *rapid.T, img *metadata.Image) []reconcile.Replica {
	var held []reconcile.Replica
	seen := map[string]bool{}
	for range rapid.IntRange(0, 6).Draw(t, "held") {
		r := reconcile.Replica{
			Topic:     fmt.Sprintf("t%d", rapid.IntRange(0, 3).Draw(t, "held topic")),
			TopicID:   metadata.TopicID{15: byte(rapid.IntRange(1, 5).Draw(t, "held id"))},
			Partition: rapid.Int32Range(0, 2).Draw(t, "held partition"),
		}
		if k := fmt.Sprintf("%s-%d", r.Topic, r.Partition); !seen[k] {
			seen[k] = true
			held = append(held, r)
		}
	}
	return held
}

// TestDecideProperties: steps are exactly the replicas the image places
// on the node; every held replica is kept or removed, never both; a node
// leads only where it is leader and active, follows only when active; and
// a plan carried out is a fixed point (deciding again opens, removes and
// reconfigures nothing).
func TestDecideProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		img := genImage(t)
		node := reconcile.Node{ID: rapid.Int32Range(1, 5).Draw(t, "node")}
		node.Incarnation[0] = byte(node.ID)
		held := genHeld(t, img)
		plan := reconcile.Decide(node, held, img)

		placed := 0
		for _, ti := range img.Topics() {
			for _, p := range ti.Partitions {
				if slices.Contains(p.Replicas, node.ID) {
					placed++
				}
			}
		}
		if len(plan.Steps) != placed {
			t.Fatalf("%d steps for %d replicas placed on node %d", len(plan.Steps), placed, node.ID)
		}
		var next []reconcile.Replica
		for _, st := range plan.Steps {
			if !slices.Contains(st.Partition.Replicas, node.ID) {
				t.Fatalf("step for %s-%d, not placed on node %d", st.Topic.Name, st.Index, node.ID)
			}
			kept := slices.ContainsFunc(held, func(h reconcile.Replica) bool {
				return h.Topic == st.Topic.Name && h.Partition == st.Index && h.TopicID == st.Topic.ID
			})
			if st.Open == kept {
				t.Fatalf("%s-%d: open=%t but held=%t", st.Topic.Name, st.Index, st.Open, kept)
			}
			switch st.Role {
			case reconcile.Lead:
				if !plan.Active || st.Partition.Leader != node.ID {
					t.Fatalf("%s-%d leads: active=%t leader=%d", st.Topic.Name, st.Index, plan.Active, st.Partition.Leader)
				}
			case reconcile.Follow:
				if !plan.Active || st.Partition.Leader == node.ID || st.Partition.Leader < 0 || st.LeaderAddr == "" {
					t.Fatalf("%s-%d follows: active=%t leader=%d addr=%q", st.Topic.Name, st.Index, plan.Active, st.Partition.Leader, st.LeaderAddr)
				}
			}
			next = append(next, reconcile.Replica{Topic: st.Topic.Name, TopicID: st.Topic.ID, Partition: st.Index, Overrides: st.Topic.Overrides})
		}
		for _, r := range plan.Remove {
			if slices.ContainsFunc(plan.Steps, func(st reconcile.Step) bool {
				return !st.Open && st.Topic.Name == r.Topic && st.Index == r.Partition
			}) {
				t.Fatalf("%s-%d both kept and removed", r.Topic, r.Partition)
			}
		}
		kept := 0
		for _, st := range plan.Steps {
			if !st.Open {
				kept++
			}
		}
		if kept+len(plan.Remove) != len(held) {
			t.Fatalf("held %d replicas: %d kept, %d removed", len(held), kept, len(plan.Remove))
		}
		again := reconcile.Decide(node, next, img)
		if len(again.Remove) > 0 || slices.ContainsFunc(again.Steps, func(st reconcile.Step) bool { return st.Open || st.Reconfigure }) {
			t.Fatalf("not a fixed point: %+v", again)
		}
	})
}
