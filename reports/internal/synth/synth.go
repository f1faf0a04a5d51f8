// Package synth writes synthetic benchmark results and simulation run
// folders for the reports' tests.
package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/weir-dev/weir/bench/driver"
	"github.com/weir-dev/weir/bench/results"
	"github.com/weir-dev/weir/bench/spec"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// Bench returns a results file with targets "embedded" (with consumers)
// and "null" (consumers skipped), two runs each, and writes it to dir.
func Bench(dir string) (*results.File, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	lat := func(medianMs float64, n int) results.Latency {
		h := hdrhistogram.New(1, int64(time.Minute), 3)
		for range n {
			v := medianMs * (0.5 + rng.ExpFloat64()*0.5)
			if rng.IntN(1000) == 0 {
				v *= 20 // a tail
			}
			h.RecordValue(int64(v * 1e6))
		}
		return results.LatencyOf(h)
	}
	run := func(rate, pubMs, e2eMs float64, consumers bool) results.Run {
		r := results.Run{StartedAt: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), ProduceSec: 6}
		for i := 1; i <= 8; i++ {
			phase := "measure"
			if i <= 2 {
				phase = "warmup"
			}
			s := driver.Sample{Sec: float64(i), Phase: phase, ProducedRecordsPerSec: rate * (0.9 + 0.2*rng.Float64())}
			s.ProducedMBPerSec = s.ProducedRecordsPerSec * 100 / 1e6
			if consumers {
				s.ConsumedRecordsPerSec = s.ProducedRecordsPerSec * 0.98
			}
			r.Series = append(r.Series, s)
		}
		r.PublishLatency = lat(pubMs, 20000)
		r.ProducedRecords = r.PublishLatency.Count
		r.ProducedBytes = r.ProducedRecords * 100
		r.ProducedRecordsPerSec = rate
		r.ProducedMBPerSec = rate * 100 / 1e6
		if consumers {
			l := lat(e2eMs, 20000)
			r.EndToEndLatency = &l
			r.ConsumedRecords, r.ConsumeSec = l.Count, 6
			r.ConsumedRecordsPerSec, r.ConsumedMBPerSec = rate*0.98, rate*0.98*100/1e6
		} else {
			r.ConsumersSkipped = "the null sink does not serve Fetch"
		}
		return r
	}
	f := &results.File{
		SchemaVersion: results.SchemaVersion,
		CreatedAt:     time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		Command:       "weir bench --spec synthetic.yaml",
		Machine:       results.Machine{CPUModel: "Synthetic CPU <b>9000</b>", Cores: 2, MemoryBytes: 8 << 30, Kernel: "6.1.0-test", OS: "linux", Arch: "amd64", GoVersion: "go1.26.0"},
		Commit:        "4f1c0ffee",
		Spec:          spec.Spec{Name: "synthetic-100b", Description: "synthetic <spec> & co", Topics: 1, PartitionsPerTopic: 1, MessageSize: 100, Producers: 1, Consumers: 1, Acks: "all"},
		Targets: []results.Target{
			{Name: "embedded", Bootstrap: "127.0.0.1:1", Runs: []results.Run{run(600e3, 40, 120, true), run(620e3, 42, 130, true)}},
			{Name: "null", Bootstrap: "127.0.0.1:2", ConsumersSkipped: "the null sink does not serve Fetch", Runs: []results.Run{run(900e3, 25, 0, false), run(880e3, 27, 0, false)}},
		},
	}
	f.Finish()
	if _, err := f.Write(dir); err != nil {
		return nil, err
	}
	return f, nil
}

// SimTrace is the trace.log of Sim: a crash of n1 from 10 s to 14 s
// (its partition fails over to n2 in 1.5 s; after its restart it is
// unfenced in 0.3 s and back in the ISR in 0.5 s), a partition from 20 s
// to 25 s and a pause of n2 left open until the liveness phase at 30 s.
const SimTrace = `       1989000 world        0.001982s safety phase: 3 fault events over 30s
    1000000000 metadata 10: partition f7cb4cdb/0 replicas=[1 2 3] isr=[1 2 3] leader=1 epoch=0 pepoch=0
   10000000000 world       10.000000s apply +10.000000s crash n1 keep=0.60
   10000100000 world       10.000100s crash n1 (incarnation 1) keep=0.60
   11500100000 metadata 12: fence broker=1 epoch=6
   11500100001 metadata 12: change f7cb4cdb/0 leader=2 isr=[2 3] epoch=1 pepoch=1
   14000000000 world       14.000000s apply +14.000000s restart n1
   14000100000 world       14.000100s restart n1 (incarnation 2) listening on n1:9092
   14200100000 metadata 13: register broker=1 epoch=13 rack="" PLAINTEXT://n1:9092
   14300100000 metadata 14: unfence broker=1 epoch=13
   14500100000 metadata 15: change f7cb4cdb/0 isr=[2 3 1] epoch=1 pepoch=2
   20000000000 world       20.000000s apply +20.000000s partition [n1] [n2 n3]
   25000000000 world       25.000000s apply +25.000000s heal-partition
   27000000000 world       27.000000s apply +27.000000s pause n2
   30000000000 world       30.000000s liveness phase: heal everything, restart every node
   30500000000 world       30.500000s liveness: converged after 1 attempt(s)
`

// Sim writes a simulation run folder for seed into dir: header.json,
// verdict.json (valid or, with invalid, a lost write whose witness holds
// HTML metacharacters), trace.log (SimTrace) and history.jsonl (sends at 20
// per second that stall during the crash).
func Sim(dir string, seed uint64, invalid bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	const base = 1_735_689_600*int64(time.Second) + int64(time.Second)
	var ops []history.Op
	idx := int64(0)
	add := func(op history.Op) {
		op.Index = idx
		idx++
		ops = append(ops, op)
	}
	n := 0
	for t := 100 * time.Millisecond; t < 30*time.Second; t += 50 * time.Millisecond {
		proc := n % 2
		n++
		v := fmt.Sprintf("v%d", n)
		add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Time: base + int64(t), Send: &history.Send{Topic: "queue", Key: "k", Value: v, Partition: -1, Offset: -1}})
		lat := 2 * time.Millisecond
		typ := history.OK
		switch {
		case t >= 10*time.Second && t < 14*time.Second:
			lat, typ = 3*time.Second, history.Info
		case t >= 20*time.Second && t < 25*time.Second && n%3 == 0:
			lat, typ = 500*time.Millisecond, history.Fail
		}
		s := &history.Send{Topic: "queue", Key: "k", Value: v, Partition: 0, Offset: int64(n)}
		if typ != history.OK {
			s.Partition, s.Offset = -1, -1
		}
		add(history.Op{Process: proc, Type: typ, F: history.FnSend, Time: base + int64(t+lat), Send: s})
	}
	hf, err := os.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		return err
	}
	if err := history.Encode(hf, ops); err != nil {
		hf.Close()
		return err
	}
	if err := hf.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "trace.log"), []byte(SimTrace), 0o644); err != nil {
		return err
	}
	code, verdict, summary := 0, "valid", "valid: 1200 ops; sends 580 ok"
	var details any = map[string]any{"valid": true, "anomalies": map[string]any{}, "counts": map[string]int{}}
	if invalid {
		// porcupine's visualisation of the failing partition.
		if err := os.WriteFile(filepath.Join(dir, "linearizability-queue-0.html"), []byte("<html></html>"), 0o644); err != nil {
			return err
		}
		code, verdict, summary = 1, "invalid", "INVALID: lost-write ×1 <script>alert(1)</script>"
		details = map[string]any{
			"valid":  false,
			"counts": map[string]int{"lost-write": 1},
			"anomalies": map[string]any{
				"lost-write": []map[string]any{{
					"values": []string{"v7"}, "ops": []int64{12, 13}, "times": []float64{12.5, 15.25},
					"detail": `acked send v7 at queue/0@7 never read <img src=x onerror="alert(1)">`,
				}},
			},
		}
	}
	vb, err := json.MarshalIndent(map[string]any{"seed": seed, "code": code, "verdict": verdict, "summary": summary, "virtual_ns": int64(31 * time.Second), "details": details}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "verdict.json"), vb, 0o644); err != nil {
		return err
	}
	h := runfolder.Header{
		Seed: seed, Args: []string{"--seed", fmt.Sprint(seed), "--faults", "crash,partition"}, ExtraArgs: []string{"--faults", "crash,partition"},
		GuestSHA256: strings.Repeat("ab", 32), GoVersion: "go1.26.0", WazeroVersion: "v1.12.0",
		Params:   json.RawMessage(`{"seed":1,"world":{"nodes":3}}`),
		ExitCode: code, Verdict: verdict, Message: summary, VirtualNs: int64(31 * time.Second), WallNs: int64(2500 * time.Millisecond), Finished: true,
	}
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "header.json"), hb, 0o644)
}
