package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/weir-dev/weir/sim/world"
	"github.com/weir-dev/weir/workloads/queue"
	"github.com/weir-dev/weir/workloads/registry"
)

// The world scenario runs the workloads --workload names (package
// workloads/registry) side by side on the simulated cluster. The queue's
// parameters are the world's (worldParams: drawn with the cluster, in
// world.go); every other workload's are drawn by its registry entry from a
// stream of their own, so that naming one more workload changes nothing
// the seed drew before, and are printed with SEED= under
// "workload_params". A run of the queue alone is what it was before
// workloads could be chosen: the same draws, the same trace.

// seedStreamWorkloads separates the workloads' parameter draws from the
// other streams of the seed.
const seedStreamWorkloads = 0x7765_6972_776b_6c64 // "weirwkld"

// worldAndWorkloadParams is the world scenario's params: the world's,
// then the workloads'.
func worldAndWorkloadParams(p *params, rng *rand.Rand) {
	worldParamsFromSeed(p, rng)
	drawWorkloadParams(p)
}

// drawWorkloadParams draws the parameters of every workload but the
// queue, in the registry's order, into p.WorkloadParams. The names were
// checked by parseFlags.
func drawWorkloadParams(p *params) {
	names, _ := registry.ParseNames(p.Workload)
	rng := rand.New(rand.NewPCG(p.Seed, seedStreamWorkloads))
	for _, name := range names {
		if name == "queue" {
			continue
		}
		e, _ := registry.Lookup(name)
		raw, err := e.Draw(rng, simCluster(p))
		if err != nil {
			panic(fmt.Sprintf("workload %s: parameters: %v", name, err)) // every entry's parameters encode
		}
		if p.WorkloadParams == nil {
			p.WorkloadParams = map[string]json.RawMessage{}
		}
		p.WorkloadParams[name] = raw
	}
}

// simCluster is what the workloads' parameters depend on: the world's
// replication and the safety phase's length.
func simCluster(p *params) registry.Cluster {
	return registry.Cluster{
		ReplicationFactor: max(p.World.ReplicationFactor, 1),
		MinInsync:         max(p.World.MinInsync, 1),
		Duration:          time.Duration(p.DurationNs),
		Simulated:         true,
	}
}

// workloadHosts are the client hosts of the run's workloads, for the
// fault schedule (partitions may cut them off): the queue's producers and
// consumers, then each other workload's.
func workloadHosts(p params) []string {
	var hosts []string
	names, _ := registry.ParseNames(p.Workload)
	for _, name := range names {
		if name == "queue" {
			hosts = append(hosts, queue.Config{Producers: p.World.Producers, Consumers: p.World.Consumers, Compacted: compactedConfig(p.World.Compaction)}.ClientHosts()...)
			continue
		}
		e, _ := registry.Lookup(name)
		w, err := e.Build(p.WorkloadParams[name], registry.Env{})
		if err != nil {
			continue // newWorkloadSet reports it
		}
		hosts = append(hosts, w.Hosts()...)
	}
	return hosts
}

// newWorkloadSet builds the run's workloads on w: the queue from qcfg (the
// world's queue configuration, its randomness already drawn), the others
// from their parameters, each with randomness drawn from rng in order. It
// adds the workloads' own properties to the checks the run reports.
func newWorkloadSet(p params, qcfg queue.Config, w *world.World, rng *rand.Rand, out *output) (*registry.Set, error) {
	names, err := registry.ParseNames(p.Workload)
	if err != nil {
		return nil, err
	}
	var members []registry.Member
	for _, name := range names {
		m := registry.Member{Name: name, Params: p.WorkloadParams[name], Env: registry.Env{
			Bootstrap:  w.BootstrapAddrs(),
			HostDialer: func(host string) registry.Dialer { return w.ClientDialer(host) },
		}}
		if name == "queue" {
			raw, err := json.Marshal(registry.QueueParamsOf(qcfg))
			if err != nil {
				return nil, err
			}
			m.Params, m.Env.Rand = raw, qcfg.Rand
		} else {
			m.Env.Rand = rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		}
		members = append(members, m)
	}
	set, err := registry.NewSet(members, out.start, time.Now)
	if err != nil {
		return nil, err
	}
	for _, prop := range set.Opts().Properties {
		out.checks = append(out.checks, prop.Name)
	}
	return set, nil
}

// finishTimeout bounds the workloads' Finish: 60 virtual seconds for the
// queue's final read, and 120 more for each other workload, whose drain
// (stream.Drain) may take 60 seconds before its final reads begin.
func finishTimeout(p params) time.Duration {
	names, _ := registry.ParseNames(p.Workload)
	d := 60 * time.Second
	for _, name := range names {
		if name != "queue" {
			d += 120 * time.Second
		}
	}
	return d
}

// workloadFlagHelp is --workload's help.
func workloadFlagHelp() string {
	return "workloads to run side by side, comma-separated: " + strings.Join(registry.Names(), ", ")
}
