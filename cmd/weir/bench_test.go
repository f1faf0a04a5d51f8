package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-dev/weir/bench/results"
)

// TestBenchNullAndCompare runs `weir bench` for a second against the null
// sink, then compares the file with itself (exit 0) and with a copy whose
// throughput dropped 20% (exit 1).
func TestBenchNullAndCompare(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "s.yaml")
	os.WriteFile(specPath, []byte("name: cli-test\nmessage_size: 100\nproducer_rate: 2000\nwarmup: 200ms\nduration: 10s\n"), 0o644)
	out := filepath.Join(dir, "run")
	code, stdout, stderr := runWeir(t, "", "bench", "--spec", specPath, "--duration", "1s", "--targets", "null", "--out", out)
	if code != 0 || !strings.Contains(stdout, "null") || !strings.Contains(stdout, "results.json") {
		t.Fatalf("bench: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("progress line written to a non-terminal: %q", stderr)
	}
	base := filepath.Join(out, "results.json")
	f, err := results.Read(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}

	code, stdout, _ = runWeir(t, "", "bench", "compare", base, base, "--max-regression", "5%")
	if code != 0 || !strings.Contains(stdout, "PASS") {
		t.Errorf("self compare: exit %d\n%s", code, stdout)
	}

	for i := range f.Targets[0].Runs {
		f.Targets[0].Runs[i].ProducedRecordsPerSec *= 0.8
	}
	f.Finish()
	slow, err := f.Write(filepath.Join(dir, "slow"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runWeir(t, "", "bench", "compare", "--max-regression", "0.05", base, slow)
	if code != 1 || !strings.Contains(stdout, "REGRESSION") || !strings.Contains(stdout, "produced_records_per_sec") {
		t.Errorf("20%% regression: exit %d\n%s", code, stdout)
	}
	// 25% tolerated: passes.
	if code, stdout, _ = runWeir(t, "", "bench", "compare", base, slow, "--max-regression", "25%"); code != 0 {
		t.Errorf("within 25%%: exit %d\n%s", code, stdout)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--out", "x"}, "--spec is required"},
		{[]string{"bench", "--spec", "x.yaml"}, "--out is required"},
		{[]string{"bench", "--spec", "x", "--out", "y", "--targets", "kfake"}, "unknown target"},
		{[]string{"bench", "compare", "a.json"}, "want BASELINE.json NEW.json"},
		{[]string{"bench", "compare", "a", "b", "--max-regression", "lots"}, "--max-regression"},
	} {
		code, _, stderr := runWeir(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// A spec error names the file and the line.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nmessage_size: 1\nduration: 1s\nlinger_ms: 5\n"), 0o644)
	code, _, stderr := runWeir(t, "", "bench", "--spec", bad, "--out", dir)
	if code != 1 || !strings.Contains(stderr, "bad.yaml: line 4: unknown key linger_ms") {
		t.Errorf("bad spec: exit %d, stderr %q", code, stderr)
	}
	// A workload spec needs a broker with groups and transactions.
	code, _, stderr = runWeir(t, "", "bench", "--spec", "../../bench/specs/payments.yaml", "--targets", "null", "--out", dir)
	if code != 1 || !strings.Contains(stderr, "null sink does not serve") {
		t.Errorf("workload spec on null: exit %d, stderr %q", code, stderr)
	}
}
