package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// The seed draws the queue's load from defaultRates, half the seeds in
// the thousands; --rate forces it and is recorded in the parameters; a
// producer client gets processes enough for its share, and the draws
// around the rate stay the seed's.
func TestLoad(t *testing.T) {
	derive := func(args ...string) params {
		f, err := parseFlags(args)
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"])
	}
	thousands := 0
	const seeds = 200
	for s := range seeds {
		p := derive("--seed", fmt.Sprint(s))
		wp := p.World
		if !slices.Contains(defaultRates, wp.Rate) || p.Rate != 0 {
			t.Fatalf("seed %d: rate %v (forced %v), want one of %v", s, wp.Rate, p.Rate, defaultRates)
		}
		if wp.Rate >= 1000 {
			thousands++
		}
		if got := wp.RatePerSec * float64(wp.Producers); got != wp.Rate || wp.InFlight < 8 || float64(wp.InFlight*sendsPerProcess) < wp.RatePerSec {
			t.Fatalf("seed %d: %v sends/s over %d clients of %d processes", s, wp.Rate, wp.Producers, wp.InFlight)
		}
		forced := derive("--seed", fmt.Sprint(s), "--rate", "3000")
		fw := forced.World
		if forced.Rate != 3000 || fw.Rate != 3000 || fw.RatePerSec != 3000/float64(fw.Producers) || fw.InFlight < int(fw.RatePerSec/sendsPerProcess) {
			t.Fatalf("seed %d --rate 3000: %+v", s, fw)
		}
		// Everything but the load is the seed's.
		same := *fw
		same.Rate, same.RatePerSec, same.InFlight = wp.Rate, wp.RatePerSec, wp.InFlight
		a, _ := json.Marshal(same)
		b, _ := json.Marshal(wp)
		if string(a) != string(b) {
			t.Fatalf("seed %d: --rate changed other parameters:\n%s\n%s", s, a, b)
		}
	}
	if thousands < seeds*4/10 || thousands > seeds*6/10 {
		t.Fatalf("%d of %d seeds in the thousands, want about half", thousands, seeds)
	}
	for _, bad := range []string{"-1", "NaN", "Inf", "x"} {
		if _, err := parseFlags([]string{"--rate", bad}); err == nil {
			t.Errorf("--rate %s accepted", bad)
		}
	}
}
