package broker_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/broker/txn"
)

// TestCleanRestartUsesProducerSnapshot: a clean shutdown leaves each
// partition's producer state in a snapshot at its log end, and the next
// start takes the state from it instead of replaying the log (shown by a
// planted snapshot that forgets the producer: its retry is then appended
// anew); with none, or only a corrupt one, it replays the whole log.
func TestCleanRestartUsesProducerSnapshot(t *testing.T) {
	tb := startBroker(t, newConfig(t))
	tb.createTopic("t", 1, nil)
	dir := filepath.Join(tb.cfg.DataDir, "t-0")
	snapshot := filepath.Join(dir, "00000000000000000003.snapshot")
	init := rawRequest(t, tb.addr, kmsg.NewPtrInitProducerIDRequest()).(*kmsg.InitProducerIDResponse)
	batch := func(seq int32, vals ...string) []byte {
		var bs [][]byte
		for _, v := range vals {
			bs = append(bs, []byte(v))
		}
		return recordtest.Batch(recordtest.Options{Idempotent: true, ProducerID: init.ProducerID, BaseSequence: seq}, bs...)
	}
	produceRaw(t, tb, "t", 0, -1, batch(0, "a", "b"))
	produceRaw(t, tb, "t", 0, -1, batch(2, "c")) // offsets 0-2

	// A clean restart: the snapshot at the log end is written and used (the
	// retry of the last batch is a duplicate).
	tb.close()
	if _, err := os.Stat(snapshot); err != nil {
		t.Fatalf("no snapshot at offset 3 after a clean shutdown: %v", err)
	}
	tb.start()
	if retry := produceRaw(t, tb, "t", 0, -1, batch(2, "c")); retry.BaseOffset != 2 || retry.ErrorCode != 0 {
		t.Fatalf("retry after a clean restart: offset %d err %d, want the original 2", retry.BaseOffset, retry.ErrorCode)
	}

	// A planted snapshot of no producers, up to the log end: the start
	// believes it, so the same retry is new to it and appended at 3.
	tb.close()
	empty := (&txn.PartitionProducers{}).AppendSnapshot(nil, 3)
	if err := os.WriteFile(snapshot, empty, 0o644); err != nil {
		t.Fatal(err)
	}
	tb.start()
	if retry := produceRaw(t, tb, "t", 0, -1, batch(2, "c")); retry.BaseOffset != 3 {
		t.Fatalf("with a snapshot that forgets the producer: offset %d err %d, want it appended at 3", retry.BaseOffset, retry.ErrorCode)
	}

	// No snapshot (as after a crash), or a corrupt one: the whole log is
	// replayed and the retry of the last batch is recognised again.
	snapshots := func() []string {
		names, _ := filepath.Glob(filepath.Join(dir, "*.snapshot"))
		return names
	}
	for _, plant := range []func(){
		func() {
			for _, name := range snapshots() {
				os.Remove(name)
			}
		},
		func() {
			for _, name := range snapshots() {
				data, _ := os.ReadFile(name)
				data[len(data)/2] ^= 0x40
				os.WriteFile(name, data, 0o644)
			}
		},
	} {
		tb.close()
		plant()
		tb.start()
		// The log holds sequence 2 twice now (at 2, and at 3 from the
		// planted snapshot); either is an answer, a new append (4) is not.
		if retry := produceRaw(t, tb, "t", 0, -1, batch(2, "c")); (retry.BaseOffset != 2 && retry.BaseOffset != 3) || retry.ErrorCode != 0 {
			t.Fatalf("after a replay of the whole log: offset %d err %d, want a duplicate of 2 or 3", retry.BaseOffset, retry.ErrorCode)
		}
	}
}
