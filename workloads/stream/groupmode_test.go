package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/weir-dev/weir/workloads/gen"
)

// A processor refuses a group protocol it does not know, names its modes
// as --group does, and gives every slot one instance id for good: the
// same for each incarnation and for the drain's processor, another for
// each slot.
func TestGroupModeAndInstanceIDs(t *testing.T) {
	cfg := Config{Group: "g", Input: "in", Partitions: 1, NewApp: func() App { return nil },
		Procs: &gen.Procs{}, IDs: &gen.Counter{}, Rand: rand.New(rand.NewPCG(1, 2)), Members: 3}
	for _, c := range []struct {
		mode GroupMode
		name string
	}{
		{GroupMode{}, "classic,dynamic"},
		{GroupMode{Protocol: ProtocolClassic, Static: true}, "classic,static"},
		{GroupMode{Protocol: ProtocolConsumer}, "consumer,dynamic"},
		{GroupMode{Protocol: ProtocolConsumer, Static: true}, "consumer,static"},
	} {
		cfg.GroupMode = c.mode
		p, err := New(cfg, nil)
		if err != nil {
			t.Fatalf("%+v: %v", c.mode, err)
		}
		if got := c.mode.Name(); got != c.name {
			t.Errorf("%+v named %q, want %q", c.mode, got, c.name)
		}
		drain, _ := New(cfg, nil)
		seen := map[string]bool{}
		for slot := range cfg.Members {
			id := p.instanceID(slot)
			if id != p.instanceID(slot) || id != drain.instanceID(slot) || seen[id] {
				t.Errorf("slot %d: instance id %q not stable or not its own", slot, id)
			}
			seen[id] = true
		}
	}
	cfg.GroupMode = GroupMode{Protocol: "eager"}
	if _, err := New(cfg, nil); err == nil {
		t.Error("group protocol eager accepted")
	}
}
