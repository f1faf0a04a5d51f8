package registry

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weir-dev/weir/workloads/stream"
)

// The pipeline workloads, and only they, take a processing group's mode;
// setting one in drawn parameters changes those two fields alone, the
// workload builds from them (strictly decoded), and parameters recorded
// before the modes existed read as classic and dynamic. A protocol the
// processor does not know is refused when the workload is built.
func TestSetGroupMode(t *testing.T) {
	for _, e := range Entries() {
		if e.ProcessingGroup != (e.Name != "queue") {
			t.Errorf("%s: ProcessingGroup %v", e.Name, e.ProcessingGroup)
		}
		if !e.ProcessingGroup {
			continue
		}
		raw, err := e.Draw(rand.New(rand.NewPCG(1, 2)), Cluster{ReplicationFactor: 3, Duration: 10 * time.Second, Simulated: true})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := GroupModeOf(raw); err != nil || m != (stream.GroupMode{}) {
			t.Fatalf("%s: drawn parameters read as mode %+v (%v), want classic and dynamic", e.Name, m, err)
		}
		var before map[string]json.RawMessage
		if err := json.Unmarshal(raw, &before); err != nil {
			t.Fatal(err)
		}
		for _, m := range []stream.GroupMode{{Protocol: stream.ProtocolClassic}, {Protocol: stream.ProtocolConsumer, Static: true}, {Protocol: stream.ProtocolConsumer}} {
			set, err := SetGroupMode(raw, m)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := GroupModeOf(set); err != nil || got != m {
				t.Errorf("%s: set %+v, read %+v (%v)", e.Name, m, got, err)
			}
			var after map[string]json.RawMessage
			if err := json.Unmarshal(set, &after); err != nil {
				t.Fatal(err)
			}
			delete(after, "group_protocol")
			delete(after, "group_static")
			if !maps.EqualFunc(before, after, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
				t.Errorf("%s: setting %+v changed other parameters: %s, was %s", e.Name, m, set, raw)
			}
			if _, err := e.Build(set, Env{}); err != nil {
				t.Errorf("%s with %+v: %v", e.Name, m, err)
			}
		}
		bad, err := SetGroupMode(raw, stream.GroupMode{Protocol: "telepathy"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Build(bad, Env{}); err == nil {
			t.Errorf("%s: built with group protocol telepathy", e.Name)
		}
	}
}

// DrawGroupMode draws each workload's mode from a stream of its own: the
// draw depends on the seed and the workload's name alone, and forcing a
// part leaves the other part the seed's.
func TestDrawGroupMode(t *testing.T) {
	differ := 0
	for seed := uint64(1); seed <= 100; seed++ {
		a, b := DrawGroupMode(seed, "clickstream", "", ""), DrawGroupMode(seed, "payments", "", "")
		if a != DrawGroupMode(seed, "clickstream", "", "") {
			t.Fatalf("seed %d: two draws differ", seed)
		}
		if a != b {
			differ++
		}
		if f := DrawGroupMode(seed, "clickstream", stream.ProtocolConsumer, ""); !f.Consumer() || f.Static != a.Static {
			t.Fatalf("seed %d: forcing the consumer protocol gives %+v, drawn %+v", seed, f, a)
		}
		if f := DrawGroupMode(seed, "clickstream", "", "dynamic"); f.Static || f.Protocol != a.Protocol {
			t.Fatalf("seed %d: forcing dynamic members gives %+v, drawn %+v", seed, f, a)
		}
	}
	if differ < 40 {
		t.Errorf("clickstream's and payments' modes differ on %d of 100 seeds: not independent streams", differ)
	}
}
