package main

import (
	"fmt"
	"math/rand/v2"
)

// seedStreamControllers separates the draw of the cluster's controller
// mode from the parameter stream, so that every other parameter of a seed
// stays what it was before dedicated controllers were drawn.
const seedStreamControllers = 0x7765_6972_6374_726c // "weirctrl"

// dedicatedShare is the share of world seeds whose metadata quorum runs
// on dedicated controllers when --controllers leaves it to the seed.
const dedicatedShare = 1.0 / 3

// dedicatedControllers is how many dedicated controllers a dedicated
// cluster has: a quorum that survives one of them down, Kafka's usual.
const dedicatedControllers = 3

// The values of --controllers, and the modes worldParams.ControllerMode
// records.
const (
	modeSeed      = "seed"
	modeCombined  = "combined"
	modeDedicated = "dedicated"
)

func checkControllersMode(mode string) error {
	switch mode {
	case modeSeed, modeCombined, modeDedicated:
		return nil
	}
	return fmt.Errorf("--controllers %q: want seed, combined or dedicated", mode)
}

// drawControllers decides the controller mode of a world run: --controllers
// combined or dedicated, else the seed, dedicated on dedicatedShare of the
// seeds. Combined: every broker is a voter of the metadata quorum (KRaft's
// combined mode). Dedicated: dedicatedControllers nodes with
// process.roles=controller are the voters, and the brokers follow them.
func drawControllers(mode string, seed uint64, wp *worldParams) {
	if mode == modeSeed {
		mode = modeCombined
		if rand.New(rand.NewPCG(seed, seedStreamControllers)).Float64() < dedicatedShare {
			mode = modeDedicated
		}
	}
	wp.ControllerMode, wp.Controllers = mode, 0
	if mode == modeDedicated {
		wp.Controllers = dedicatedControllers
	}
}

// clusterLine describes the run's cluster for the CLUSTER= line.
func clusterLine(wp *worldParams) string {
	s := fmt.Sprintf("%d broker%s", wp.Nodes, map[bool]string{true: "s"}[wp.Nodes != 1])
	if wp.Controllers > 0 {
		return fmt.Sprintf("%s, %d dedicated controllers (process.roles=controller)", s, wp.Controllers)
	}
	return s + ", combined mode (every broker a voter of the metadata quorum)"
}
