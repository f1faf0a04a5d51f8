package epoch

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

const dir = "/data/t-0"

func openLog(t testing.TB, fs env.FS) *wlog.Log {
	t.Helper()
	l, err := wlog.Open(fs, env.NewManualClock(time.Unix(1e9, 0)), dir, wlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// appendEpochs appends one batch of n records per element of epochs, each
// stamped with its epoch, as a leader or follower would, and records the
// epochs in c.
func appendEpochs(t testing.TB, l *wlog.Log, c *Cache, n int, epochs ...int32) {
	t.Helper()
	for _, e := range epochs {
		values := make([][]byte, n)
		for i := range values {
			values[i] = []byte{byte(e), byte(i)}
		}
		raw := recordtest.Batch(recordtest.Options{}, values...)
		record.SetLeaderEpoch(raw, e)
		record.SetBaseOffset(raw, l.EndOffset())
		if c != nil {
			if err := c.Assign(e, l.EndOffset()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.AppendReplicated(raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
}

func mustOpenCache(t testing.TB, fs env.FS, l Log) (*Cache, Recovery) {
	t.Helper()
	c, rec, err := Open(fs, dir, l)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

var logEpochs = []Entry{{0, 0}, {2, 4}, {5, 8}}

// A checkpoint written by one Cache is what the next Open reads, and the
// file is Kafka's text format.
func TestCheckpointRoundTrip(t *testing.T) {
	fs := memfs.New()
	l := openLog(t, fs)
	c, rec := mustOpenCache(t, fs, l)
	if !rec.Rebuilt || !errors.Is(rec.Reason, os.ErrNotExist) {
		t.Fatalf("new partition: %+v, want rebuilt because missing", rec)
	}
	appendEpochs(t, l, c, 2, 0, 0, 2, 2, 5)
	data := readAll(t, fs)
	if want := "0\n3\n0 0\n2 4\n5 8\n"; string(data) != want {
		t.Fatalf("checkpoint %q, want %q", data, want)
	}
	c2, rec := mustOpenCache(t, fs, l)
	if rec.Rebuilt || rec.Trimmed {
		t.Fatalf("reopen of a good checkpoint: %+v", rec)
	}
	if !slices.Equal(c2.Entries(), logEpochs) {
		t.Fatalf("reopened %v, want %v", c2.Entries(), logEpochs)
	}
}

func readAll(t testing.TB, fs env.FS) []byte {
	t.Helper()
	data, err := readFile(fs, filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeRaw(t testing.TB, fs env.FS, data string) {
	t.Helper()
	if err := env.WriteFileAtomic(fs, filepath.Join(dir, CheckpointFile), []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// A damaged or missing checkpoint is rebuilt from the batches' leader
// epochs, and rewritten.
func TestCheckpointRebuiltFromLog(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string // "" removes the file
	}{
		{"missing", ""},
		{"garbage", "hello\n"},
		{"wrong version", "1\n1\n0 0\n"},
		{"count too high", "0\n4\n0 0\n2 4\n5 8\n"},
		{"count too low", "0\n2\n0 0\n2 4\n5 8\n"},
		{"not increasing", "0\n3\n0 0\n5 4\n2 8\n"},
		{"torn", "0\n3\n0 0\n2 4\n5"},
		{"negative", "0\n1\n-1 0\n"},
		{"padded", "0\n1\n00 0\n"},
		{"extra field", "0\n1\n0 0 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := memfs.New()
			l := openLog(t, fs)
			appendEpochs(t, l, nil, 2, 0, 0, 2, 2, 5)
			if tc.content == "" {
				_ = fs.Remove(filepath.Join(dir, CheckpointFile))
			} else {
				writeRaw(t, fs, tc.content)
			}
			c, rec := mustOpenCache(t, fs, l)
			if !rec.Rebuilt {
				t.Fatalf("not rebuilt: %+v", rec)
			}
			if !slices.Equal(c.Entries(), logEpochs) {
				t.Fatalf("rebuilt %v, want %v", c.Entries(), logEpochs)
			}
			if got := string(readAll(t, fs)); got != "0\n3\n0 0\n2 4\n5 8\n" {
				t.Fatalf("rebuilt checkpoint not written back: %q", got)
			}
		})
	}
}

// Entries at or past the log's end (a leader recorded its epoch at its log
// end, or a crash cut the tail the entries describe) are dropped at open;
// so is what lies before the log's start.
func TestOpenTrimsToTheLog(t *testing.T) {
	fs := memfs.New()
	l := openLog(t, fs)
	appendEpochs(t, l, nil, 2, 0, 0, 2, 2, 5) // ends at 10
	writeRaw(t, fs, "0\n5\n0 0\n2 4\n5 8\n7 10\n9 12\n")
	c, rec := mustOpenCache(t, fs, l)
	if rec.Rebuilt || !rec.Trimmed {
		t.Fatalf("%+v, want trimmed only", rec)
	}
	if !slices.Equal(c.Entries(), logEpochs) {
		t.Fatalf("%v, want %v", c.Entries(), logEpochs)
	}
	if err := l.TruncateFullyAndStartAt(0); err != nil {
		t.Fatal(err)
	}
	appendEpochs(t, l, nil, 3, 1, 1, 1)
	l.Close()
	l = openLog(t, fs)
	writeRaw(t, fs, "0\n1\n1 0\n")
	if err := l.TruncateFullyAndStartAt(4); err != nil { // the start moved into epoch 1
		t.Fatal(err)
	}
	appendEpochs(t, l, nil, 1, 1)
	c, rec = mustOpenCache(t, fs, l)
	if want := []Entry{{1, 4}}; !slices.Equal(c.Entries(), want) || !rec.Trimmed {
		t.Fatalf("%v %+v, want %v trimmed", c.Entries(), rec, want)
	}
}

// A bit flipped on the way from the disk (a digit for a digit still
// decodes) is not taken for the file's content: reads must agree.
func TestCheckpointReadFlips(t *testing.T) {
	fs := memfs.New()
	l := openLog(t, fs)
	c, _ := mustOpenCache(t, fs, l)
	appendEpochs(t, l, c, 2, 0, 0, 2, 2, 5)
	for flips := 1; flips <= 2; flips++ {
		fs.SetInjector(&memfs.FlipReads{Path: filepath.Join(dir, CheckpointFile), N: flips})
		c2, rec := mustOpenCache(t, fs, l)
		if rec.Rebuilt || !slices.Equal(c2.Entries(), logEpochs) {
			t.Fatalf("%d flipped reads: %v %+v, want %v from the file", flips, c2.Entries(), rec, logEpochs)
		}
	}
	// Every read flipped the same way: the bytes agree but do not decode
	// (here), so the file cannot be used; the log can.
	fs.SetInjector(&memfs.FlipReads{Path: filepath.Join(dir, CheckpointFile), N: 1 << 20})
	c3, rec := mustOpenCache(t, fs, l)
	fs.SetInjector(nil)
	if !rec.Rebuilt || !slices.Equal(c3.Entries(), logEpochs) {
		t.Fatalf("unstable reads: %v %+v", c3.Entries(), rec)
	}
}

// A crash while the checkpoint is rewritten leaves the old file or the new
// one, never a torn one; the log's tail lost with the crash is trimmed.
func TestCheckpointCrash(t *testing.T) {
	for seed := range uint64(20) {
		fs := memfs.New()
		l := openLog(t, fs)
		c, _ := mustOpenCache(t, fs, l)
		appendEpochs(t, l, c, 2, 0, 0, 2) // synced
		// An unsynced tail in a new epoch: its entry is durable, its batch
		// may not be.
		raw := recordtest.Batch(recordtest.Options{}, []byte("x"))
		record.SetLeaderEpoch(raw, 4)
		record.SetBaseOffset(raw, l.EndOffset())
		if err := c.Assign(4, l.EndOffset()); err != nil {
			t.Fatal(err)
		}
		if _, err := l.AppendReplicated(raw); err != nil {
			t.Fatal(err)
		}
		after := fs.Crash(rand.New(rand.NewPCG(seed, 1)), 0.5)
		l2 := openLog(t, after)
		c2, _ := mustOpenCache(t, after, l2)
		want := []Entry{{0, 0}, {2, 4}}
		if l2.EndOffset() == 7 {
			want = append(want, Entry{4, 6})
		}
		if !slices.Equal(c2.Entries(), want) {
			t.Fatalf("seed %d: log ends at %d, cache %v, want %v", seed, l2.EndOffset(), c2.Entries(), want)
		}
		l2.Close()
	}
}

// A failed checkpoint write is returned, so the partition stops.
func TestCheckpointWriteError(t *testing.T) {
	fs := memfs.New()
	l := openLog(t, fs)
	c, _ := mustOpenCache(t, fs, l)
	fs.SetInjector(failAll{})
	defer fs.SetInjector(nil)
	if err := c.Assign(3, 0); err == nil {
		t.Fatal("Assign with a failing disk returned nil")
	}
}

type failAll struct{}

func (failAll) MaybeError(memfs.Op, string) error { return errors.New("injected") }

// flipEveryOther flips a bit on every second read: no agreeingReads reads
// in a row ever agree.
type flipEveryOther struct{ n int }

func (*flipEveryOther) MaybeError(memfs.Op, string) error { return nil }

func (f *flipEveryOther) CorruptRead(_ memfs.Op, path string, _ int64, p []byte) {
	if filepath.Base(path) != CheckpointFile || len(p) == 0 {
		return
	}
	f.n++
	if f.n%2 == 0 {
		p[0] ^= 1
	}
}

func TestCheckpointUnstableReads(t *testing.T) {
	fs := memfs.New()
	l := openLog(t, fs)
	c, _ := mustOpenCache(t, fs, l)
	appendEpochs(t, l, c, 2, 0, 0, 2, 2, 5)
	fs.SetInjector(&flipEveryOther{})
	c2, rec := mustOpenCache(t, fs, l)
	fs.SetInjector(nil)
	if !rec.Rebuilt || !errors.Is(rec.Reason, errUnstable) || !slices.Equal(c2.Entries(), logEpochs) {
		t.Fatalf("unstable reads: %v %+v", c2.Entries(), rec)
	}
}
