package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const valid = `
name: t
partitions_per_topic: 4
message_size: 100
producer_rate: 1000
linger: 5ms
warmup: 1s
duration: 2s
`

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if s.Topics != 1 || s.PartitionsPerTopic != 4 || s.Producers != 1 || s.Consumers != 0 ||
		s.Acks != "all" || !s.IsIdempotent() || s.Compression != "none" || s.Payload != "random" ||
		s.KeyDistribution != "none" || s.Linger.D() != 5*time.Millisecond || s.Duration.D() != 2*time.Second {
		t.Errorf("defaults not applied: %+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown key with its line", "name: t\nmessage_size: 1\nduration: 1s\nmesage_size: 2\n", []string{"line 4: unknown key mesage_size"}},
		{"wrong type", "name: t\nmessage_size: big\nduration: 1s\n", []string{"line 2", "big"}},
		{"bad duration", "name: t\nmessage_size: 1\nduration: soon\n", []string{"line 3", `duration "soon"`}},
		{"empty", "", []string{"empty spec"}},
		{"two documents", valid + "---\nname: u\n", []string{"more than one"}},
		{"missing required", "topics: 2\n", []string{"name: required", "message_size: 0", "duration: required"}},
		{"every bad field at once", `
name: "a b"
topics: -1
partitions_per_topic: 2
message_size: 100
payload: zeros
key_distribution: hash
producers: 0
consumers: 9
producer_rate: -5
acks: "1"
idempotent: true
compression: brotli
batch_max_bytes: 50
linger: -1s
warmup: -1s
duration: 0
`, []string{
			`name: "a b"`, "topics: -1", "payload: \"zeros\"", "key_distribution: \"hash\"",
			"producer_rate: -5", "idempotent: needs acks: all", "compression: \"brotli\"",
			"batch_max_bytes: 50 is smaller", "linger: -1s", "warmup: -1s", "duration: required",
		}},
		{"more consumers than partitions", "name: t\nmessage_size: 1\nduration: 1s\nconsumers: 2\n", []string{"consumers: 2 consumers for 1 partitions"}},
		{"key_count without round robin", "name: t\nmessage_size: 1\nduration: 1s\nkey_count: 5\n", []string{"key_count: only with"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestShippedSpecs keeps bench/specs valid.
func TestShippedSpecs(t *testing.T) {
	files, err := filepath.Glob("../specs/*.yaml")
	if err != nil || len(files) < 2 {
		t.Fatalf("specs: %v %v", files, err)
	}
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Error(err)
			continue
		}
		if want := strings.TrimSuffix(filepath.Base(f), ".yaml"); s.Name != want {
			t.Errorf("%s: name %q, want the file name %q", f, s.Name, want)
		}
	}
	if _, err := os.Stat("../specs/1-topic-16-partitions-1kb.yaml"); err != nil {
		t.Error(err)
	}
}

func TestParseWorkload(t *testing.T) {
	s, err := Parse([]byte(`
name: w
warmup: 1s
duration: 2s
workload:
  name: payments
  seed: 7
  params:
    partitions: 2
    window_ns: 5m
    lifetime_ns: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Workload.Cooldown.D() != 5*time.Second || s.Topics != 0 || s.Producers != 0 || s.Acks != "" {
		t.Errorf("a workload spec got record defaults or no cooldown: %+v", s)
	}
	p, err := s.Workload.ParamsJSON()
	if err != nil || string(p) != `{"lifetime_ns":0,"partitions":2,"window_ns":300000000000}` {
		t.Errorf("params %s %v", p, err)
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"record field", "name: w\nduration: 1s\nmessage_size: 10\nworkload:\n  name: vitals\n", "message_size: not with workload"},
		{"no name", "name: w\nduration: 1s\nworkload:\n  seed: 1\n", "workload.name: required"},
		{"reserved", "name: w\nduration: 1s\nworkload:\n  name: vitals\n  params:\n    duration_ns: 5\n", "workload.params.duration_ns: set by the harness"},
		{"bad duration", "name: w\nduration: 1s\nworkload:\n  name: vitals\n  params:\n    lateness_ns: soon\n", `lateness_ns: "soon"`},
		{"unknown key", "name: w\nduration: 1s\nworkload:\n  name: vitals\n  cooldwn: 1s\n", "line 5: unknown key cooldwn"},
	} {
		_, err := Parse([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}
