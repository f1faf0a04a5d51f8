package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestWorkloadFlag(t *testing.T) {
	f, err := parseFlags([]string{"--workload", "clickstream,queue"})
	if err != nil || f.workload != "queue,clickstream" {
		t.Fatalf("--workload clickstream,queue: %q, %v", f.workload, err)
	}
	if _, err := parseFlags([]string{"--workload", "payment"}); err == nil || !strings.Contains(err.Error(), `unknown workload "payment" (known: queue, clickstream`) {
		t.Fatalf("an unknown workload: %v", err)
	}
}

// The queue's parameters are the world's; every other workload's are drawn
// from a stream of their own and printed with the seed, the same whether
// or not the queue runs beside it.
func TestWorkloadParams(t *testing.T) {
	derive := func(workload string, seed uint64) params {
		f, err := parseFlags([]string{"--workload", workload, "--seed", "0"})
		if err != nil {
			t.Fatal(err)
		}
		f.seed = seed
		return deriveParams(f, scenarios["world"])
	}
	q := derive("queue", 3)
	if q.WorkloadParams != nil {
		t.Fatalf("the queue alone records workload parameters: %s", q.WorkloadParams)
	}
	c, qc, other := derive("clickstream", 3), derive("queue,clickstream", 3), derive("clickstream", 4)
	if len(c.WorkloadParams["clickstream"]) == 0 || string(c.WorkloadParams["clickstream"]) != string(qc.WorkloadParams["clickstream"]) {
		t.Fatalf("clickstream's parameters depend on the queue running:\n%s\n%s", c.WorkloadParams["clickstream"], qc.WorkloadParams["clickstream"])
	}
	if string(c.WorkloadParams["clickstream"]) == string(other.WorkloadParams["clickstream"]) {
		t.Fatal("seeds 3 and 4 drew the same clickstream parameters")
	}
	if *c.World != *q.World {
		t.Fatalf("naming a workload changed the world's draws:\n%+v\n%+v", *c.World, *q.World)
	}
	var cp struct {
		ReplicationFactor int `json:"replication_factor"`
		MinInsync         int `json:"min_insync_replicas"`
	}
	if err := json.Unmarshal(c.WorkloadParams["clickstream"], &cp); err != nil || cp.ReplicationFactor != int(c.World.ReplicationFactor) || cp.MinInsync != c.World.MinInsync {
		t.Fatalf("clickstream's topics do not follow the world's replication: %+v, %v", cp, err)
	}
	hosts := workloadHosts(qc)
	if !slices.Contains(hosts, "producer-0") || !slices.Contains(hosts, "clickstream") {
		t.Fatalf("hosts %v", hosts)
	}
}
