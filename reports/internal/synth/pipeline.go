package synth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// Pipeline writes a valid run folder of the payments and vitals
// workloads (default topics, vitals' alert bound 5 s) whose numbers are
// known, into dir, with SimTrace as its trace:
//   - payments: commands at offsets 0, 1, 2 of payments/0, acknowledged
//     at 1 s, 2 s and 3 s; a transaction committed at 4 s (asked at
//     3.9 s) writes the ledger entries of offsets 0 and 1, and one at 6 s
//     writes offset 0's again with a barrier entry. So two samples at
//     4 s, of 3 s and 2 s, and one command unprocessed.
//   - vitals: a reading at vitals/0 offset 0 acknowledged at 1.5 s; a
//     transaction completed at 2.5 s (asked to commit at 2.4 s) writes
//     its processed record and an alert. So one sample of 1 s at 2.5 s
//     and one alert delay of 900 ms at 2.4 s.
func Pipeline(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b builder
	cmds := []string{"cmd|p0.1|deposit|b0a0||100|0", "cmd|p0.2|deposit|b0a1||50|0", "cmd|p0.3|withdraw|b0a0||10|0"}
	for i, c := range cmds {
		b.send(0, "payments", "b0", c, 0, int64(i), float64(i)+0.9, float64(i)+1)
	}
	reading := "rd|p1.1|pat1|hr|190|1000"
	b.send(1, "vitals", "pat1", reading, 0, 0, 1.4, 1.5)
	ledger := []string{`{"cmd":"p0.1","p":0,"o":0,"w":"t1"}`, `{"cmd":"p0.2","p":0,"o":1,"w":"t2"}`, `{"cmd":"p0.1","p":0,"o":0,"w":"t3"}`, `{"barrier":"barrier|0|3","p":0,"o":3,"w":"t4"}`}
	processed := `{"id":"p1.1","pid":"pat1","k":"hr","v":190,"ms":1000,"o":0,"w":"t5"}`
	alert := `{"rule":"hr-high","pid":"pat1","reading":"p1.1","ms":1000,"v":190,"w":"t6"}`
	b.txn(2, true, 2.1, 2.4, 2.5, out("vitals-processed", "pat1", processed, 0), out("vitals-alerts", "pat1", alert, 0))
	b.txn(3, true, 3.5, 3.9, 4, out("ledger", "b0", ledger[0], 0), out("ledger", "b0", ledger[1], 1))
	b.txn(3, true, 5.5, 5.9, 6, out("ledger", "b0", ledger[2], 2), out("ledger", "b0", ledger[3], 3))
	b.final(100, "payments", 31, cmds...)
	b.final(102, "ledger", 31.1, ledger...)
	b.final(104, "vitals", 31.2, reading)
	b.final(106, "vitals-processed", 31.3, processed)
	b.final(108, "vitals-alerts", 31.4, alert)
	return writeRun(dir, seed, b.ops, `{"seed":1,"scenario":"world","workload":"payments,vitals","workload_params":{"payments":{},"vitals":{"alert_bound_ns":5000000000}}}`)
}

// Clickstream writes a valid clickstream run folder (default topics)
// into dir: events at clicks/0 offsets 0, 1, 2 acknowledged at 1 s, 2 s
// and 3 s; a summary counting offsets 0 and 1 acknowledged at 5 s, then
// the same session written again at 7 s (a replay) and a barrier answer.
// So samples of 4 s and 3 s at 5 s, and one event unprocessed.
func Clickstream(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b builder
	evs := []string{"ev|u1|1|view|1000", "ev|u1|2|click|2000", "ev|u2|1|view|3000"}
	for i, e := range evs {
		b.send(0, "clicks", "u", e, 0, int64(i), float64(i)+0.5, float64(i)+1)
	}
	sums := []string{`{"sid":"u1@0","user":"u1","offs":[0,1],"t0":1000,"t1":2000,"w":"a"}`, `{"sid":"u1@0","user":"u1","offs":[0,1],"t0":1000,"t1":2000,"w":"b"}`, `{"barrier":"barrier|0|3","offset":3,"w":"c"}`}
	b.txn(2, false, 4.5, 0, 5, out("sessions", "u1", sums[0], 0))
	b.txn(2, false, 6.5, 0, 7, out("sessions", "u1", sums[1], 1), out("sessions", "barrier", sums[2], 2))
	b.final(100, "clicks", 31, evs...)
	b.final(102, "sessions", 31.1, sums...)
	return writeRun(dir, seed, b.ops, `{"seed":1,"scenario":"world","workload":"clickstream","workload_params":{"clickstream":{}}}`)
}

// builder appends a history's ops; times are seconds since the run began.
type builder struct{ ops []history.Op }

func (b *builder) add(op history.Op) {
	op.Index = int64(len(b.ops))
	b.ops = append(b.ops, op)
}

func secs(sec float64) int64 { return int64(sec * float64(time.Second)) }

// send is a send invoked at inv and acknowledged at ok at p/o.
func (b *builder) send(proc int, topic, key, value string, p int32, o int64, inv, ok float64) {
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnSend, Time: secs(inv), Send: &history.Send{Topic: topic, Key: key, Value: value, Partition: -1, Offset: -1}})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnSend, Time: secs(ok), Send: &history.Send{Client: 1, Topic: topic, Key: key, Value: value, Partition: p, Offset: o}})
}

// txn is an ok txn op of writes, invoked at inv, completed at done, that
// asked to commit at asked (none when 0).
func (b *builder) txn(proc int, transactional bool, inv, asked, done float64, writes ...*history.Send) {
	var mops []history.Mop
	for _, w := range writes {
		mops = append(mops, history.Mop{F: history.FnSend, Send: w})
	}
	b.add(history.Op{Process: proc, Type: history.Invoke, F: history.FnTxn, Time: secs(inv), Txn: &history.Txn{Transactional: transactional, Mops: mops}})
	b.add(history.Op{Process: proc, Type: history.OK, F: history.FnTxn, Time: secs(done), Txn: &history.Txn{Transactional: transactional, Mops: mops, CommitTime: secs(asked)}})
}

// final is a complete final read of partition 0 of topic, by reader+1.
func (b *builder) final(reader int, topic string, at float64, values ...string) {
	b.add(history.Op{Process: reader, Type: history.Invoke, F: history.FnFinal, Time: secs(at), Final: &history.Final{Topic: topic, Partitions: 1, Reader: reader + 1}})
	var rs []history.Record
	for i, v := range values {
		rs = append(rs, history.Record{Offset: int64(i), Value: v})
	}
	b.add(history.Op{Process: reader + 1, Type: history.Invoke, F: history.FnPoll, Time: secs(at + 0.01)})
	b.add(history.Op{Process: reader + 1, Type: history.OK, F: history.FnPoll, Time: secs(at + 0.02), Poll: &history.Poll{Reads: []history.PartitionRead{{Topic: topic, Partition: 0, HighWatermark: int64(len(values)), Records: rs}}}})
	b.add(history.Op{Process: reader, Type: history.OK, F: history.FnFinal, Time: secs(at + 0.03), Final: &history.Final{Topic: topic, Partitions: 1, Reader: reader + 1, Marks: []history.FinalMark{{Partition: 0, Complete: true}}}})
}

// out is an acknowledged write to partition 0 of topic at offset o.
func out(topic, key, value string, o int64) *history.Send {
	return &history.Send{Client: 2, Topic: topic, Key: key, Value: value, Partition: 0, Offset: o}
}

// writeRun writes ops, SimTrace, a valid verdict and a header with params
// into dir.
func writeRun(dir string, seed uint64, ops []history.Op, params string) error {
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
	summary := fmt.Sprintf("valid: %d ops", len(ops))
	vb, err := json.Marshal(map[string]any{"seed": seed, "code": 0, "verdict": "valid", "summary": summary, "virtual_ns": int64(32 * time.Second),
		"details": map[string]any{"valid": true, "anomalies": map[string]any{}, "counts": map[string]int{}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "verdict.json"), vb, 0o644); err != nil {
		return err
	}
	h := runfolder.Header{Seed: seed, Args: []string{"--seed", fmt.Sprint(seed)}, GuestSHA256: strings.Repeat("cd", 32), GoVersion: "go1.26.0", WazeroVersion: "v1.12.0",
		Params: json.RawMessage(params), ExitCode: 0, Verdict: "valid", Message: summary, VirtualNs: int64(32 * time.Second), Finished: true}
	hb, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "header.json"), hb, 0o644)
}
