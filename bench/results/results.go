package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/spec"
)

// SchemaVersion is the version of the results.json layout.
const SchemaVersion = 1

// FileName is the name of the results file in a run directory.
const FileName = "results.json"

// File is one results.json.
type File struct {
	SchemaVersion int       `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	Command       string    `json:"command,omitempty"`
	Machine       Machine   `json:"machine"`
	Commit        string    `json:"commit"`
	CommitDirty   bool      `json:"commit_dirty,omitempty"`
	Spec          spec.Spec `json:"spec"`
	Targets       []Target  `json:"targets"`
	Ratios        []Ratio   `json:"ratios,omitempty"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	CPUModel    string `json:"cpu_model"`
	Cores       int    `json:"cores"`
	MemoryBytes int64  `json:"memory_bytes"`
	Kernel      string `json:"kernel"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	GoVersion   string `json:"go_version"`
}

// Target is every run against one target.
type Target struct {
	Name             string             `json:"name"`
	Bootstrap        string             `json:"bootstrap"`
	ConsumersSkipped string             `json:"consumers_skipped,omitempty"`
	Runs             []Run              `json:"runs"`
	Median           map[string]float64 `json:"median"`
	Spread           map[string]float64 `json:"spread"`
}

// Run is one run of the spec against a target.
type Run struct {
	StartedAt             time.Time       `json:"started_at"`
	ProducedRecords       int64           `json:"produced_records"`
	ProducedBytes         int64           `json:"produced_bytes"`
	ProduceErrors         int64           `json:"produce_errors"`
	ProduceSec            float64         `json:"produce_sec"`
	ProducedRecordsPerSec float64         `json:"produced_records_per_sec"`
	ProducedMBPerSec      float64         `json:"produced_mb_per_sec"`
	ConsumedRecords       int64           `json:"consumed_records"`
	ConsumeSec            float64         `json:"consume_sec"`
	ConsumedRecordsPerSec float64         `json:"consumed_records_per_sec"`
	ConsumedMBPerSec      float64         `json:"consumed_mb_per_sec"`
	ConsumersSkipped      string          `json:"consumers_skipped,omitempty"`
	PublishLatency        Latency         `json:"publish_latency"`
	PublishServiceLatency Latency         `json:"publish_service_latency"`
	EndToEndLatency       *Latency        `json:"end_to_end_latency,omitempty"`
	Series                []driver.Sample `json:"series"`
	// Workload is set for a workload spec's run (package bench/workload):
	// then "consumed" is the processed input records and end-to-end
	// latency runs to their committed output.
	Workload *WorkloadRun `json:"workload,omitempty"`
}

// WorkloadRun is what a workload spec's run measured beside the common
// fields.
type WorkloadRun struct {
	Name string `json:"name"`
	// Params are the workload's parameters as run (registry JSON).
	Params      json.RawMessage `json:"params"`
	InputTopic  string          `json:"input_topic"`
	OutputTopic string          `json:"output_topic"`
	// Definition says what an end-to-end sample measures.
	Definition string `json:"definition"`
	// Unprocessed counts acknowledged input records, over the whole run,
	// with no committed output in the final reads.
	Unprocessed int `json:"unprocessed"`
	// AlertLatency (vitals) is the delay from a breaching reading's
	// acknowledgement to its alert's commit, for readings acknowledged in
	// the measured window; AlertBoundMs the bound the checker holds it to.
	AlertLatency *Latency `json:"alert_latency,omitempty"`
	AlertBoundMs float64  `json:"alert_bound_ms,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	Count     int64   `json:"count"`
	Mean      float64 `json:"mean"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
	P999      float64 `json:"p999"`
	Max       float64 `json:"max"`
	Histogram string  `json:"histogram,omitempty"`
}

// Ratio is Numerator's metric divided by Denominator's (medians).
type Ratio struct {
	Metric      string  `json:"metric"`
	Numerator   string  `json:"numerator"`
	Denominator string  `json:"denominator"`
	Ratio       float64 `json:"ratio"`
}

// LatencyOf summarizes a histogram of nanoseconds.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	l := Latency{
		Count: h.TotalCount(), Mean: h.Mean() / 1e6,
		P50: ms(h.ValueAtQuantile(50)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
	}
	if b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		l.Histogram = string(b)
	}
	return l
}

// FromDriver converts a driver result.
func FromDriver(r *driver.Result) Run {
	run := Run{
		StartedAt:             r.Start.UTC(),
		ProducedRecords:       r.ProducedRecords,
		ProducedBytes:         r.ProducedBytes,
		ProduceErrors:         r.ProduceErrors,
		ProduceSec:            r.ProduceSec,
		ProducedRecordsPerSec: r.ProducedRecordsPerSec(),
		ProducedMBPerSec:      r.ProducedMBPerSec(),
		ConsumedRecords:       r.ConsumedRecords,
		ConsumeSec:            r.ConsumeSec,
		ConsumedRecordsPerSec: r.ConsumedRecordsPerSec(),
		ConsumedMBPerSec:      r.ConsumedMBPerSec(),
		ConsumersSkipped:      r.ConsumersSkipped,
		PublishLatency:        LatencyOf(r.Publish),
		PublishServiceLatency: LatencyOf(r.PublishService),
		Series:                r.Series,
	}
	if r.EndToEnd != nil {
		l := LatencyOf(r.EndToEnd)
		run.EndToEndLatency = &l
	}
	return run
}

// Metric describes one compared quantity.
type Metric struct {
	Name           string
	HigherIsBetter bool
	Gate           bool // regressions of it fail a comparison
}

// Metrics lists every metric, in table order.
var Metrics = []Metric{
	{"produced_records_per_sec", true, true},
	{"produced_mb_per_sec", true, true},
	{"consumed_records_per_sec", true, true},
	{"publish_p50_ms", false, true},
	{"publish_p99_ms", false, true},
	{"publish_p999_ms", false, true},
	{"publish_max_ms", false, false},
	{"e2e_p50_ms", false, true},
	{"e2e_p99_ms", false, true},
	{"e2e_p999_ms", false, true},
	{"e2e_max_ms", false, false},
	{"alert_p50_ms", false, true},
	{"alert_p99_ms", false, true},
	{"alert_max_ms", false, false},
}

// Values returns the run's metrics by name; those it did not measure are
// absent.
func (r *Run) Values() map[string]float64 {
	m := map[string]float64{
		"produced_records_per_sec": r.ProducedRecordsPerSec,
		"produced_mb_per_sec":      r.ProducedMBPerSec,
		"publish_p50_ms":           r.PublishLatency.P50,
		"publish_p99_ms":           r.PublishLatency.P99,
		"publish_p999_ms":          r.PublishLatency.P999,
		"publish_max_ms":           r.PublishLatency.Max,
	}
	if l := r.EndToEndLatency; l != nil && r.ConsumersSkipped == "" {
		m["consumed_records_per_sec"] = r.ConsumedRecordsPerSec
		m["e2e_p50_ms"], m["e2e_p99_ms"], m["e2e_p999_ms"], m["e2e_max_ms"] = l.P50, l.P99, l.P999, l.Max
	}
	if w := r.Workload; w != nil && w.AlertLatency != nil && w.AlertLatency.Count > 0 {
		m["alert_p50_ms"], m["alert_p99_ms"], m["alert_max_ms"] = w.AlertLatency.P50, w.AlertLatency.P99, w.AlertLatency.Max
	}
	return m
}

// samples returns every run's value of metric name (runs without it are
// skipped).
func (t *Target) samples(name string) []float64 {
	var v []float64
	for i := range t.Runs {
		if x, ok := t.Runs[i].Values()[name]; ok {
			v = append(v, x)
		}
	}
	return v
}

// Summarize fills Median and Spread from Runs.
func (t *Target) Summarize() {
	t.Median, t.Spread = map[string]float64{}, map[string]float64{}
	for _, m := range Metrics {
		v := t.samples(m.Name)
		if len(v) == 0 {
			continue
		}
		t.Median[m.Name] = median(v)
		t.Spread[m.Name] = spread(v)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is (max-min)/median, 0 for one sample or a zero median.
func spread(v []float64) float64 {
	m := median(v)
	if len(v) < 2 || m == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / math.Abs(m)
}

// ratioMetrics are the metrics the ratios between targets are given for.
var ratioMetrics = []string{"produced_records_per_sec", "produced_mb_per_sec", "consumed_records_per_sec", "publish_p99_ms", "e2e_p99_ms"}

// Finish summarizes every target and computes the ratios between them.
func (f *File) Finish() {
	for i := range f.Targets {
		f.Targets[i].Summarize()
	}
	f.Ratios = nil
	for i := range f.Targets {
		for j := range f.Targets {
			a, b := &f.Targets[i], &f.Targets[j]
			if i == j {
				continue
			}
			for _, m := range ratioMetrics {
				x, ok1 := a.Median[m]
				y, ok2 := b.Median[m]
				if ok1 && ok2 && y != 0 {
					f.Ratios = append(f.Ratios, Ratio{Metric: m, Numerator: a.Name, Denominator: b.Name, Ratio: x / y})
				}
			}
		}
	}
}

// Write writes f as indented JSON to dir/results.json, creating dir.
func (f *File) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, FileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// Read reads a results file; a directory means its results.json.
func Read(path string) (*File, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: schema_version %d, want %d", path, f.SchemaVersion, SchemaVersion)
	}
	for i := range f.Targets {
		if f.Targets[i].Median == nil {
			f.Targets[i].Summarize()
		}
	}
	return &f, nil
}

// Validate checks the invariants every written file holds.
func (f *File) Validate() error {
	if f.SchemaVersion != SchemaVersion {
		return fmt.Errorf("schema_version %d", f.SchemaVersion)
	}
	if f.Spec.Name == "" || len(f.Targets) == 0 {
		return fmt.Errorf("no spec or no targets")
	}
	for _, t := range f.Targets {
		if t.Name == "" || len(t.Runs) == 0 {
			return fmt.Errorf("target %q: no name or no runs", t.Name)
		}
		for i, r := range t.Runs {
			l := r.PublishLatency
			if r.ProducedRecords <= 0 || r.ProducedRecordsPerSec <= 0 || l.Count != r.ProducedRecords {
				return fmt.Errorf("target %s run %d: %d records, %v rec/s, %d latencies", t.Name, i, r.ProducedRecords, r.ProducedRecordsPerSec, l.Count)
			}
			if !(0 < l.P50 && l.P50 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				return fmt.Errorf("target %s run %d: publish percentiles out of order: %+v", t.Name, i, l)
			}
			if (r.EndToEndLatency == nil) != (r.ConsumersSkipped != "") {
				return fmt.Errorf("target %s run %d: end-to-end latency present=%v but consumers skipped=%q", t.Name, i, r.EndToEndLatency != nil, r.ConsumersSkipped)
			}
			if len(r.Series) == 0 {
				return fmt.Errorf("target %s run %d: no series", t.Name, i)
			}
		}
	}
	return nil
}

// ThisMachine describes the machine this process runs on (Linux fields are
// empty elsewhere).
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.ParseInt(strings.Fields(kb)[0], 10, 64)
		m.MemoryBytes = n * 1024
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Commit returns git's HEAD commit of the working directory and whether the
// tree has uncommitted changes; "" when git or the repository is missing.
func Commit() (string, bool) {
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "", false
	}
	dirty := exec.Command("git", "diff", "--quiet", "HEAD").Run() != nil
	return strings.TrimSpace(string(out)), dirty
}
