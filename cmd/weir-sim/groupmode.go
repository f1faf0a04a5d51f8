package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/weir-dev/weir/broker"
	"github.com/weir-dev/weir/workloads/queue"
	"github.com/weir-dev/weir/workloads/registry"
)

// seedStreamGroupMode separates the draw of the consumer group's protocol
// and membership from every other stream, so that a seed's other
// parameters (the group's balancer and members included) stay what they
// were before the modes existed.
const seedStreamGroupMode = 0x7765_6972_6770_6d64 // "weirgpmd"

// groupMode is --group parsed: the queue's consumer-group mode (seed, on,
// off) and, after it, the protocol (classic or consumer) and the
// membership (static or dynamic) the flag forces on every consumer group
// of the run: the queue's when it has one, and each pipeline workload's
// processing group (registry.DrawGroupMode); empty: the seed draws.
type groupMode struct {
	mode       string
	protocol   string
	membership string
}

// parseGroupMode parses --group: seed, off or on, followed by any of
// ",classic" or ",consumer" and ",static" or ",dynamic".
func parseGroupMode(s string) (groupMode, error) {
	parts := strings.Split(s, ",")
	g := groupMode{mode: parts[0]}
	if !slices.Contains([]string{"seed", "on", "off"}, g.mode) {
		return g, fmt.Errorf("--group %q: want seed, off or on, each followed by ,classic or ,consumer and ,static or ,dynamic if wanted", s)
	}
	for _, p := range parts[1:] {
		switch {
		case (p == queue.ProtocolClassic || p == queue.ProtocolConsumer) && g.protocol == "":
			g.protocol = p
		case (p == "static" || p == "dynamic") && g.membership == "":
			g.membership = p
		default:
			return g, fmt.Errorf("--group %q: %q is not classic, consumer, static or dynamic, or is said twice", s, p)
		}
	}
	return g, nil
}

// withDefect forces the mode a group coordinator's defect needs to show:
// the consumer protocol for the KIP-848 ones, static members of the
// classic protocol for the static-membership one (a zombie of the
// consumer protocol is refused its instance, UNRELEASED_INSTANCE_ID, until
// its session ends, so only the classic protocol replaces it while it
// lives), the classic protocol for those that change only its code, and
// dynamic members of it for the forgotten SyncGroup (only a LeaveGroup
// removes a member whose SyncGroup is parked, and a static member sends
// none). A flag that says otherwise is an error.
func (g groupMode) withDefect(defect string) (groupMode, error) {
	want := groupMode{}
	switch defect {
	case broker.GroupStaleEpochCommit, broker.GroupAssignUnreleased:
		want.protocol = queue.ProtocolConsumer
	case broker.GroupStaticUnfenced:
		want.protocol, want.membership = queue.ProtocolClassic, "static"
	case broker.GroupForgetParkedSync:
		want.protocol, want.membership = queue.ProtocolClassic, "dynamic"
	case broker.GroupOneAssignment, broker.GroupAcceptStaleCommit:
		want.protocol = queue.ProtocolClassic
	default:
		return g, nil
	}
	if (g.protocol != "" && g.protocol != want.protocol) || (want.membership != "" && g.membership != "" && g.membership != want.membership) {
		return g, fmt.Errorf("--group %s: the defect %s needs protocol %s%s", g, defect, want.protocol, map[bool]string{true: " and " + want.membership + " members"}[want.membership != ""])
	}
	g.protocol = want.protocol
	if want.membership != "" {
		g.membership = want.membership
	}
	return g, nil
}

func (g groupMode) String() string {
	return strings.Join(slices.DeleteFunc([]string{g.mode, g.protocol, g.membership}, func(s string) bool { return s == "" }), ",")
}

// groupModeShares: the consumer protocol on half the group seeds, static
// members on half, independently.
const (
	consumerProtocolShare = 0.5
	staticShare           = 0.5
)

// drawGroupMode draws, for a run whose queue runs a consumer group, the
// group's protocol and membership from their own stream (--group, or the
// defect, may force them) and records them in wp. With the consumer
// protocol the members ask for the coordinator's assignor that their
// balancer names (queue.ConsumerBalancers: range, or uniform for the
// sticky ones); a seed that drew roundrobin draws one of those instead,
// and there is no leader to be slow to assign.
func drawGroupMode(g groupMode, seed uint64, wp *worldParams) {
	if wp.GroupBalancer == "" {
		return
	}
	rng := rand.New(rand.NewPCG(seed, seedStreamGroupMode))
	consumer := rng.Float64() < consumerProtocolShare
	static := rng.Float64() < staticShare
	assignor := queue.ConsumerBalancers()[rng.IntN(len(queue.ConsumerBalancers()))]
	if g.protocol != "" {
		consumer = g.protocol == queue.ProtocolConsumer
	}
	if g.membership != "" {
		static = g.membership == "static"
	}
	wp.GroupProtocol, wp.GroupStatic = queue.ProtocolClassic, static
	if consumer {
		wp.GroupProtocol = queue.ProtocolConsumer
		if !slices.Contains(queue.ConsumerBalancers(), wp.GroupBalancer) {
			wp.GroupBalancer = assignor
		}
		wp.GroupAssignDelayNs = 0
	}
}

// drawPipelineGroupModes draws the protocol and membership of every
// pipeline workload's processing group (registry.DrawGroupMode: a stream
// of the seed per workload; g's protocol and membership force theirs)
// and writes them into the workload's parameters, where its processor
// reads them and the header records them.
func drawPipelineGroupModes(g groupMode, p *params) {
	names, _ := registry.ParseNames(p.Workload)
	for _, name := range names {
		if e, _ := registry.Lookup(name); !e.ProcessingGroup {
			continue
		}
		raw, err := registry.SetGroupMode(p.WorkloadParams[name], registry.DrawGroupMode(p.Seed, name, g.protocol, g.membership))
		if err != nil {
			panic(fmt.Sprintf("workload %s: %v", name, err)) // Draw's parameters are a JSON object
		}
		p.WorkloadParams[name] = raw
	}
}

// consumerProtocolInRun reports whether any consumer group of the run
// speaks the consumer protocol: the queue's or a pipeline's processing
// group.
func consumerProtocolInRun(p params) bool {
	if p.World != nil && p.World.GroupProtocol == queue.ProtocolConsumer {
		return true
	}
	for _, raw := range p.WorkloadParams {
		if m, err := registry.GroupModeOf(raw); err == nil && m.Consumer() {
			return true
		}
	}
	return false
}

// pipelineGroupLines describe the pipeline workloads' processing groups
// for GROUP= lines, in the registry's order.
func pipelineGroupLines(p params) []string {
	var lines []string
	names, _ := registry.ParseNames(p.Workload)
	for _, name := range names {
		if e, _ := registry.Lookup(name); !e.ProcessingGroup {
			continue
		}
		var slots struct {
			Members int `json:"members"`
		}
		_ = json.Unmarshal(p.WorkloadParams[name], &slots) // 0 when missing: said as such
		m, _ := registry.GroupModeOf(p.WorkloadParams[name])
		protocol := "classic protocol (JoinGroup/SyncGroup; assignor cooperative-sticky)"
		if m.Consumer() {
			protocol = "consumer protocol (KIP-848, ConsumerGroupHeartbeat; assignor uniform)"
		}
		members := "dynamic members"
		if m.Static {
			members = "static members (a group.instance.id per slot, kept across crashes and restarts)"
		}
		lines = append(lines, fmt.Sprintf("%s processing group: %d member slots, %s, %s", name, slots.Members, protocol, members))
	}
	return lines
}

// runsQueue reports whether the run's workloads include the queue (the
// world draws its parameters, its group's included, whether it runs or not).
func runsQueue(p params) bool {
	names, _ := registry.ParseNames(p.Workload)
	return slices.Contains(names, "queue")
}

// groupLine describes the run's consumer group for the GROUP= line ("" for
// a run without one).
func groupLine(wp *worldParams) string {
	if wp.GroupBalancer == "" {
		return ""
	}
	members := "dynamic members"
	if wp.GroupStatic {
		members = "static members (group.instance.id; a replaced member may come back as a zombie)"
	}
	if wp.GroupProtocol == queue.ProtocolConsumer {
		return fmt.Sprintf("%d members, consumer protocol (KIP-848, ConsumerGroupHeartbeat; client balancer %s), %s", wp.Consumers, wp.GroupBalancer, members)
	}
	return fmt.Sprintf("%d members, classic protocol (JoinGroup/SyncGroup; assignor %s), %s", wp.Consumers, wp.GroupBalancer, members)
}
