package rejudge

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/runfolder"
)

// clean is a send acknowledged at t/0@0 and a complete final read that
// has it; lost drops it from the final read.
func clean(lost bool) []history.Op {
	var ops []history.Op
	add := func(op history.Op) {
		op.Index, op.Time = int64(len(ops)), int64(len(ops)+1)*1e6
		ops = append(ops, op)
	}
	add(history.Op{Process: 0, Type: history.Invoke, F: history.FnSend, Send: &history.Send{Client: 1, Topic: "t", Key: "k", Value: "a", Partition: -1, Offset: -1}})
	add(history.Op{Process: 0, Type: history.OK, F: history.FnSend, Send: &history.Send{Client: 1, Topic: "t", Key: "k", Value: "a", Partition: 0, Offset: 0}})
	add(history.Op{Process: 9, Type: history.Invoke, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: 10}})
	add(history.Op{Process: 10, Type: history.Invoke, F: history.FnAssign, Assign: &history.Assign{Topic: "t", Partitions: []int32{0}}})
	add(history.Op{Process: 10, Type: history.OK, F: history.FnAssign, Assign: &history.Assign{Topic: "t", Partitions: []int32{0}}})
	read := history.PartitionRead{Topic: "t", Partition: 0, HighWatermark: 1, LogStartOffset: 0, Records: []history.Record{{Offset: 0, Key: "k", Value: "a"}}}
	mark := history.FinalMark{Partition: 0, HighWatermark: 1, ReadTo: 1, Complete: true}
	if lost {
		read = history.PartitionRead{Topic: "t", Partition: 0, HighWatermark: 0, LogStartOffset: 0, Records: []history.Record{}}
		mark = history.FinalMark{Partition: 0, HighWatermark: 0, ReadTo: 0, Complete: true}
	}
	add(history.Op{Process: 10, Type: history.Invoke, F: history.FnPoll})
	add(history.Op{Process: 10, Type: history.OK, F: history.FnPoll, Poll: &history.Poll{Reads: []history.PartitionRead{read}}})
	add(history.Op{Process: 9, Type: history.OK, F: history.FnFinal, Final: &history.Final{Topic: "t", Partitions: 1, Reader: 10, Marks: []history.FinalMark{mark}}})
	return ops
}

// folder writes a run folder: a header with params, the history, and a
// verdict with details.
func folder(t *testing.T, params string, ops []history.Op, rec *runfolder.Verdict) string {
	t.Helper()
	dir := t.TempDir()
	if err := runfolder.WriteHeader(dir, runfolder.Header{Seed: 1, Params: json.RawMessage(params)}); err != nil {
		t.Fatal(err)
	}
	if ops != nil {
		var b bytes.Buffer
		if err := history.Encode(&b, ops); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, runfolder.HistoryFile), b.Bytes(), runfolder.FileMode); err != nil {
			t.Fatal(err)
		}
	}
	if rec != nil {
		if err := runfolder.WriteVerdict(dir, *rec); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const queueParams = `{"scenario":"world","workload":"queue"}`

func TestJudgesAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []history.Op
		want int
		says string
	}{
		{"clean", clean(false), runfolder.ExitValid, "VALID"},
		{"lost write", clean(true), runfolder.ExitInvalid, "lost-write ×1"},
		{"no final read", clean(false)[:2], runfolder.ExitLiveness, "final-read-incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := folder(t, queueParams, tc.ops, &runfolder.Verdict{Code: runfolder.ExitValid, Summary: "VALID"})
			res, err := Folder(dir)
			if err != nil {
				t.Fatal(err)
			}
			if res.Code != tc.want || !strings.Contains(res.Summary, tc.says) {
				t.Fatalf("exit %d, want %d; summary:\n%s", res.Code, tc.want, res.Summary)
			}
			var out, errOut bytes.Buffer
			if code := Command(context.Background(), []string{dir}, nil, &out, &errOut); code != tc.want {
				t.Fatalf("weir check: exit %d, want %d\n%s%s", code, tc.want, out.String(), errOut.String())
			}
			if tc.want != runfolder.ExitValid && !strings.Contains(out.String(), "the run recorded valid (exit 0)") {
				t.Errorf("the output does not say the run recorded another verdict:\n%s", out.String())
			}
		})
	}
}

// What the run found beyond its history, and a failed liveness phase,
// stay in the verdict.
func TestCarriesOverWhatTheHistoryCannotShow(t *testing.T) {
	old := checker.Check(clean(false), checker.Opts{})
	old.AddFound("metadata", []string{"two leaders in term 3"})
	old.AddFound("undurable-read", nil)
	details, _ := json.Marshal(old)
	dir := folder(t, queueParams, clean(false), &runfolder.Verdict{Code: runfolder.ExitInvalid, Summary: "INVALID", Details: details})
	res, err := Folder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != runfolder.ExitInvalid || !strings.Contains(res.Summary, "metadata ×1, e.g. two leaders in term 3") || !strings.Contains(res.Summary, "undurable-read") {
		t.Fatalf("exit %d; summary:\n%s", res.Code, res.Summary)
	}
	if strings.Join(res.CarriedOver, ",") != "metadata,undurable-read" {
		t.Errorf("carried over %v", res.CarriedOver)
	}

	liveness := &runfolder.Verdict{Code: runfolder.ExitLiveness, Summary: "LIVENESS: liveness: the healed cluster did not converge within 60s: n2 down\nVALID: ..."}
	res, err = Folder(folder(t, queueParams, clean(false), liveness))
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != runfolder.ExitLiveness || !strings.Contains(res.Summary, "LIVENESS: liveness: the healed cluster did not converge within 60s: n2 down") {
		t.Fatalf("exit %d; summary:\n%s", res.Code, res.Summary)
	}
}

// A folder that cannot be judged is an error with the harness's code,
// never valid.
func TestRefusesWhatItCannotJudge(t *testing.T) {
	rec := &runfolder.Verdict{Code: runfolder.ExitValid, Summary: "VALID"}
	corrupt := func(t *testing.T, dir string, data string) {
		if err := os.WriteFile(filepath.Join(dir, runfolder.HistoryFile), []byte(data), runfolder.FileMode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		says string
	}{
		{"not a run folder", func(t *testing.T) string { return t.TempDir() }, "no header.json: not a run folder"},
		{"no parameters", func(t *testing.T) string { return folder(t, "", clean(false), rec) }, "no parameters recorded"},
		{"unknown workload", func(t *testing.T) string {
			return folder(t, `{"scenario":"world","workload":"vitalz"}`, clean(false), rec)
		}, `unknown workload "vitalz"`},
		{"parameters missing", func(t *testing.T) string {
			return folder(t, `{"scenario":"external","workload":"clickstream"}`, clean(false), rec)
		}, "recorded no parameters for workload"},
		{"harness scenario", func(t *testing.T) string {
			return folder(t, `{"scenario":"selftest","workload":"queue"}`, nil, rec)
		}, "no workload history"},
		{"no history", func(t *testing.T) string { return folder(t, queueParams, nil, rec) }, "left no history"},
		{"no verdict", func(t *testing.T) string { return folder(t, queueParams, clean(false), nil) }, "did not finish writing"},
		{"corrupt history", func(t *testing.T) string {
			dir := folder(t, queueParams, clean(false), rec)
			corrupt(t, dir, `{"format":"weir-history","version":3}`+"\n{\"index\":0,\"process\":0,\"type\":\"ok\",\"f\":\"send\",\"time\":1,\"send\":{\n")
			return dir
		}, "not a history this build reads"},
		{"unpaired history", func(t *testing.T) string {
			dir := folder(t, queueParams, clean(false)[1:], rec)
			return dir
		}, "ill-formed history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			if _, err := Folder(dir); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Folder: %v, want an error saying %q", err, tc.says)
			}
			var out, errOut bytes.Buffer
			if code := Command(context.Background(), []string{dir}, nil, &out, &errOut); code != runfolder.ExitHarness {
				t.Fatalf("exit %d, want %d", code, runfolder.ExitHarness)
			}
			if !strings.Contains(errOut.String(), tc.says) || strings.Contains(out.String(), "valid (exit 0)") {
				t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, args := range [][]string{nil, {"a", "b"}, {"--out", "x"}} {
		var out, errOut bytes.Buffer
		if code := Command(context.Background(), args, nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "usage: weir check DIR") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut.String())
		}
	}
	var out bytes.Buffer
	if code := Command(context.Background(), []string{"--help"}, nil, &out, &out); code != 0 || !strings.Contains(out.String(), "usage: weir check DIR") {
		t.Errorf("--help: exit %d, %q", code, out.String())
	}
}
