package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weir-dev/weir/history"
)

// TestWorkloadRunAndCheck: `weir workload run` drives the queue and the
// clickstream workloads (its processing group in the mode the seed draws)
// against three `weir serve` processes and writes
// run folders that `weir check` judges valid; the queue's folder with an
// acknowledged record taken out of its final read (a lost write, planted
// by hand in history.jsonl) is judged invalid.
func TestWorkloadRunAndCheck(t *testing.T) {
	t.Parallel()
	servers := startCluster(t, 3)
	bootstrap := servers[0].addr + "," + servers[2].addr
	folders := map[string]string{}
	for _, name := range []string{"queue", "clickstream"} {
		dir := filepath.Join(t.TempDir(), name)
		folders[name] = dir
		r := weir(t, "", "workload", "run", name, "--bootstrap", bootstrap, "--duration", "4s", "--out", dir, "--seed", "1")
		if r.code != 0 || !strings.Contains(r.stdout, "SEED=1\n") || !strings.Contains(r.stdout, "weir workload: "+name+": valid (exit 0)") {
			t.Fatalf("weir workload run %s: %s", name, r)
		}
		if !strings.Contains(r.stdout, "3 broker(s)") {
			t.Errorf("the run did not see the three brokers: %s", r.stdout)
		}
		// Seed 1 draws KIP-848's protocol and static members for the
		// clickstream's processing group, which weir serve offers.
		if name == "clickstream" && !strings.Contains(r.stdout, "clickstream processing group: consumer,static") {
			t.Errorf("the processing group's mode is not the one seed 1 draws: %s", r.stdout)
		}
		c := weir(t, "", "check", dir)
		if c.code != 0 || !strings.Contains(c.stdout, "valid (exit 0), workload "+name) {
			t.Fatalf("weir check %s: %s", dir, c)
		}
	}

	value := plantLostWrite(t, filepath.Join(folders["queue"], "history.jsonl"))
	c := weir(t, "", "check", folders["queue"])
	if c.code != 1 || !strings.Contains(c.stdout, "lost-write ×1") || !strings.Contains(c.stdout, value) {
		t.Fatalf("weir check of a lost write of %s: %s", value, c)
	}

	// Wrong command lines are usage errors; a folder that cannot be judged
	// is a harness error, never valid.
	if r := weir(t, "", "workload", "run", "queue", "--out", t.TempDir()); r.code != 2 || !strings.Contains(r.stderr, "--bootstrap") {
		t.Errorf("no --bootstrap: %s", r)
	}
	if r := weir(t, "", "check", t.TempDir()); r.code != 3 || !strings.Contains(r.stderr, "not a run folder") {
		t.Errorf("an empty folder: %s", r)
	}
}

// plantLostWrite takes the first acknowledged send's record out of the
// final read of the history at path, as a broker that lost it would show,
// and returns its value.
func plantLostWrite(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := history.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	value, reader := "", -1
	for _, op := range ops {
		if value == "" && op.Type == history.OK && op.Send != nil {
			value = op.Send.Value
		}
		if op.Final != nil {
			reader = op.Final.Reader
		}
	}
	removed := 0
	for _, op := range ops {
		if op.Process != reader || op.Poll == nil {
			continue
		}
		for i := range op.Poll.Reads {
			r := &op.Poll.Reads[i]
			n := len(r.Records)
			r.Records = slices.DeleteFunc(r.Records, func(rec history.Record) bool { return rec.Value == value })
			removed += n - len(r.Records)
		}
	}
	if removed != 1 {
		t.Fatalf("the final read held %s %d times", value, removed)
	}
	var out bytes.Buffer
	if err := history.Encode(&out, ops); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return value
}
