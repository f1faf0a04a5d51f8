package main

import (
	"encoding/json"
	"maps"
	"strconv"
	"testing"

	"github.com/weir-dev/weir/workloads/registry"
)

// --group on and off force the consumer-group mode and change nothing
// else a seed draws: a seed that draws the mode gets the same group with
// --group on, and every other parameter stays the seed's.
func TestGroupFlag(t *testing.T) {
	derive := func(seed int, args ...string) *worldParams {
		f, err := parseFlags(append([]string{"--seed", strconv.Itoa(seed)}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"]).World
	}
	drawn := 0
	for seed := 1; seed <= 300; seed++ {
		byseed, on, off := derive(seed), derive(seed, "--group", "on"), derive(seed, "--group", "off")
		if on.GroupBalancer == "" || off.GroupBalancer != "" {
			t.Fatalf("seed %d: --group on gives %q, off %q", seed, on.GroupBalancer, off.GroupBalancer)
		}
		if byseed.GroupBalancer != "" {
			drawn++
			if *on != *byseed {
				t.Fatalf("seed %d: --group on %+v, the seed's own group %+v", seed, on, byseed)
			}
		}
		// Without the group's own fields the worlds are the seed's.
		for _, w := range []*worldParams{on, off} {
			c, b := *w, *byseed
			c.GroupBalancer, c.GroupAssignDelayNs, b.GroupBalancer, b.GroupAssignDelayNs = "", 0, "", 0
			c.GroupProtocol, c.GroupStatic, b.GroupProtocol, b.GroupStatic = "", false, "", false
			c.Consumers, b.Consumers = 0, 0
			if c != b {
				t.Fatalf("seed %d: %+v differs from the seed's %+v", seed, c, b)
			}
		}
	}
	if drawn < 70 || drawn > 130 {
		t.Errorf("%d of 300 seeds drew the group mode, want about a third", drawn)
	}
	if _, err := parseFlags([]string{"--group", "sometimes"}); err == nil {
		t.Error("--group sometimes accepted")
	}
	if _, err := parseFlags([]string{"--group", "off", "--defect", "group-one-assignment"}); err == nil {
		t.Error("--group off accepted with a group coordinator's defect")
	}
}

// The group's protocol and membership come from a stream of their own:
// about half the group seeds each; --group on,<protocol>,<membership> and
// the KIP-848 and static-membership defects force them, changing nothing
// else the seed drew; the flag's bad forms are refused.
func TestGroupModeDraw(t *testing.T) {
	derive := func(seed int, args ...string) *worldParams {
		f, err := parseFlags(append([]string{"--seed", strconv.Itoa(seed)}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"]).World
	}
	consumer, static := 0, 0
	for seed := 1; seed <= 200; seed++ {
		on := derive(seed, "--group", "on")
		if on.GroupProtocol == "consumer" {
			consumer++
			if on.GroupAssignDelayNs != 0 || on.GroupBalancer == "roundrobin" {
				t.Fatalf("seed %d: consumer protocol with %+v", seed, on)
			}
		}
		if on.GroupStatic {
			static++
		}
		forced := derive(seed, "--group", "on,consumer,static")
		if forced.GroupProtocol != "consumer" || !forced.GroupStatic {
			t.Fatalf("seed %d: --group on,consumer,static gives %+v", seed, forced)
		}
		if c := derive(seed, "--group", "on,classic,dynamic"); c.GroupProtocol != "classic" || c.GroupStatic || c.GroupBalancer == "" {
			t.Fatalf("seed %d: --group on,classic,dynamic gives %+v", seed, c)
		}
		if d := derive(seed, "--defect", "group-848-stale-epoch-commit"); d.GroupProtocol != "consumer" || d.GroupStatic != on.GroupStatic {
			t.Fatalf("seed %d: the KIP-848 defect gives %+v, --group on %+v", seed, d, on)
		}
		if d := derive(seed, "--defect", "group-static-unfenced"); d.GroupProtocol != "classic" || !d.GroupStatic {
			t.Fatalf("seed %d: the static defect gives %+v", seed, d)
		}
		if d := derive(seed, "--defect", "group-forget-parked-sync"); d.GroupProtocol != "classic" || d.GroupStatic {
			t.Fatalf("seed %d: the forgotten-SyncGroup defect gives %+v", seed, d)
		}
		for _, classicOnly := range []string{"group-one-assignment", "group-accept-stale-commit"} {
			if d := derive(seed, "--defect", classicOnly); d.GroupProtocol != "classic" || d.GroupStatic != on.GroupStatic {
				t.Fatalf("seed %d: %s gives %+v, --group on %+v", seed, classicOnly, d, on)
			}
		}
		if on.GroupProtocol == "classic" {
			// The mode draws changed nothing else.
			c := derive(seed, "--group", "on,classic,"+map[bool]string{true: "static", false: "dynamic"}[on.GroupStatic])
			if *c != *on {
				t.Fatalf("seed %d: %+v, want %+v", seed, c, on)
			}
		}
	}
	if consumer < 70 || consumer > 130 || static < 70 || static > 130 {
		t.Errorf("of 200 group seeds %d drew the consumer protocol and %d static members, want about half", consumer, static)
	}
	for _, bad := range []string{"on,consumer,classic", "sometimes,static", "on,zombie", "on,static,static", "consumer"} {
		if _, err := parseFlags([]string{"--group", bad}); err == nil {
			t.Errorf("--group %s accepted", bad)
		}
	}
	if _, err := parseFlags([]string{"--group", "on,classic", "--defect", "group-848-stale-epoch-commit"}); err == nil {
		t.Error("--group on,classic accepted with the KIP-848 defect")
	}
	if _, err := parseFlags([]string{"--group", "on,dynamic", "--defect", "group-static-unfenced"}); err == nil {
		t.Error("--group on,dynamic accepted with the static-membership defect")
	}
	for _, bad := range [][]string{{"on,static", "group-forget-parked-sync"}, {"on,consumer", "group-forget-parked-sync"}, {"on,consumer", "group-one-assignment"}, {"on,consumer", "group-accept-stale-commit"}} {
		if _, err := parseFlags([]string{"--group", bad[0], "--defect", bad[1]}); err == nil {
			t.Errorf("--group %s accepted with %s", bad[0], bad[1])
		}
	}
}

// Each pipeline workload's processing group draws its protocol and
// membership from a stream of its own: about half the seeds each, the
// same whichever other workloads run beside it; --group's protocol and
// membership (after seed, on or off) force them; nothing else the seed
// drew for the workload moves; and the brokers get the consumer
// protocol's 6 s session when any group speaks it.
func TestPipelineGroupModes(t *testing.T) {
	derive := func(seed int, args ...string) params {
		f, err := parseFlags(append([]string{"--seed", strconv.Itoa(seed)}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"])
	}
	// without returns a workload's parameters without its group mode.
	without := func(raw json.RawMessage) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["group_protocol"]; !ok {
			t.Fatalf("no group_protocol in %s", raw)
		}
		delete(m, "group_protocol")
		delete(m, "group_static")
		return m
	}
	const all = "clickstream,payments,vitals"
	consumer, static := map[string]int{}, map[string]int{}
	for seed := 1; seed <= 200; seed++ {
		byseed := derive(seed, "--workload", all)
		for _, name := range []string{"clickstream", "payments", "vitals"} {
			m, err := registry.GroupModeOf(byseed.WorkloadParams[name])
			if err != nil {
				t.Fatal(err)
			}
			if m.Consumer() {
				consumer[name]++
			}
			if m.Static {
				static[name]++
			}
			alone := derive(seed, "--workload", name)
			if a, _ := registry.GroupModeOf(alone.WorkloadParams[name]); a != m {
				t.Fatalf("seed %d: %s alone draws %+v, beside the others %+v", seed, name, a, m)
			}
			for _, force := range []string{"seed,consumer,static", "off,classic,dynamic", "on,static"} {
				forced := derive(seed, "--workload", name, "--group", force)
				f, _ := registry.GroupModeOf(forced.WorkloadParams[name])
				g, _ := parseGroupMode(force)
				if (g.protocol != "" && f.Protocol != g.protocol) || f.Static != (g.membership == "static" || (g.membership == "" && m.Static)) || (g.protocol == "" && f.Protocol != m.Protocol) {
					t.Fatalf("seed %d: --group %s gives %s %+v (drawn %+v)", seed, force, name, f, m)
				}
				if !maps.EqualFunc(without(forced.WorkloadParams[name]), without(alone.WorkloadParams[name]), func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
					t.Fatalf("seed %d: --group %s changed %s's other parameters: %s, want %s", seed, force, name, forced.WorkloadParams[name], alone.WorkloadParams[name])
				}
				if consumerProtocolInRun(forced) != (f.Consumer() || forced.World.GroupProtocol == "consumer") {
					t.Fatalf("seed %d: --group %s: consumer protocol in the run %v", seed, force, consumerProtocolInRun(forced))
				}
			}
		}
	}
	for _, name := range []string{"clickstream", "payments", "vitals"} {
		if consumer[name] < 70 || consumer[name] > 130 || static[name] < 70 || static[name] > 130 {
			t.Errorf("%s: of 200 seeds %d drew the consumer protocol and %d static members, want about half", name, consumer[name], static[name])
		}
	}
}
