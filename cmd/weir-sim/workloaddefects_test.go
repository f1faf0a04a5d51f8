package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// A workload defect is planted in its workload's recorded parameters, and
// only there: the world's draws and the broker are as without it.
func TestWorkloadDefectPlanted(t *testing.T) {
	derive := func(args ...string) params {
		f, err := parseFlags(append([]string{"--seed", "5", "--workload", "payments"}, args...))
		if err != nil {
			t.Fatal(err)
		}
		return deriveParams(f, scenarios["world"])
	}
	with, without := derive("--defect", "payments/no-transaction"), derive()
	var pp struct {
		Defects map[string]bool `json:"defects"`
	}
	if err := json.Unmarshal(with.WorkloadParams["payments"], &pp); err != nil || !pp.Defects["no_transaction"] {
		t.Fatalf("payments parameters %s, %v", with.WorkloadParams["payments"], err)
	}
	if bytes.Contains(without.WorkloadParams["payments"], []byte("no_transaction")) {
		t.Fatalf("the defect is on without --defect: %s", without.WorkloadParams["payments"])
	}
	if *with.World != *without.World || with.Defect != "payments/no-transaction" || brokerDefect(with) != "" {
		t.Fatalf("the workload defect changed the world or reached the broker: %+v", with)
	}
	if brokerDefect(derive("--defect", "ack-before-fsync")) != "ack-before-fsync" {
		t.Fatal("a broker defect does not reach the broker")
	}
}

func TestWorkloadDefectRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--workload", "queue", "--defect", "payments/no-transaction"}, "add --workload payments"},
		{[]string{"--workload", "payments", "--defect", "payments/no-such"}, `unknown workload defect "payments/no-such"`},
		{[]string{"--workload", "payments", "--scenario", "selftest", "--defect", "payments/no-transaction"}, "needs the world scenario"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != exitHarness || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
	var stdout bytes.Buffer
	if code := run([]string{"--list-defects"}, &stdout, &bytes.Buffer{}); code != exitValid || !strings.Contains(stdout.String(), "vitals/hold-alerts") {
		t.Errorf("--list-defects: %d\n%s", code, stdout.String())
	}
}
