package main

import (
	"fmt"
	"strings"

	"github.com/weir-dev/weir/workloads/registry"
)

// Workload defects: --defect takes a processing application's planted bug
// by its registry name, "<workload>/<defect>" (registry.DefectCatalog),
// the same flag as the broker's defects. One flag because a run plants
// one defect: params.Defect records it, a replay passes it back, and the
// host's checks on --defect (weir sim --replay, weir selftest) hold for
// both kinds unchanged. The broker then runs without a defect, and the
// workload's drawn parameters get the defect's field switched on, so the
// PARAMS= line (header.json) shows it where the workload reads it.

// checkWorkloadDefect refuses a workload defect that is unknown or whose
// workload is not in the run's --workload, or a run of a scenario other
// than the world (the only one that runs workloads).
func checkWorkloadDefect(name, workloads, scenario string) error {
	d, ok := registry.LookupDefect(name)
	if !ok {
		return fmt.Errorf("unknown workload defect %q (known: %s)", name, strings.Join(registry.DefectNames(), ", "))
	}
	if scenario != "world" {
		return fmt.Errorf("defect %s needs the world scenario, which runs the workloads", name)
	}
	names, _ := registry.ParseNames(workloads)
	for _, n := range names {
		if n == d.Workload {
			return nil
		}
	}
	return fmt.Errorf("defect %s plants a bug in the %s workload, which this run does not run (add --workload %s)", name, d.Workload, d.Workload)
}

// brokerDefect is the part of p.Defect the broker plants: none when the
// defect is a workload's.
func brokerDefect(p params) string {
	if registry.IsWorkloadDefect(p.Defect) {
		return ""
	}
	return p.Defect
}

// plantWorkloadDefect switches the run's workload defect on in its
// workload's drawn parameters. run checked it (checkWorkloadDefect), so
// a failure here is a bug of the catalog.
func plantWorkloadDefect(p *params) {
	d, ok := registry.LookupDefect(p.Defect)
	if !ok {
		return
	}
	raw, err := registry.PlantDefect(p.WorkloadParams[d.Workload], d)
	if err != nil {
		panic(err)
	}
	p.WorkloadParams[d.Workload] = raw
}

// workloadDefectLines are --list-defects' lines for the workload defects.
func workloadDefectLines() []defect {
	var ds []defect
	for _, d := range registry.DefectCatalog() {
		ds = append(ds, defect{d.Name, fmt.Sprintf("world scenario with --workload %s: %s (caught by %s)", d.Workload, d.Breaks, strings.Join(d.CaughtBy, ", "))})
	}
	return ds
}
