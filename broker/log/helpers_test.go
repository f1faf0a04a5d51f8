package log

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// fsKind is a file system the storage tests run on. Every storage test runs
// its one body on each kind (nats-server's testAllStoreAllPermutations).
type fsKind struct {
	name string
	// newDir returns a fresh FS (or the shared OS one) and a directory for
	// one log that does not exist yet.
	newDir func(t testing.TB) (env.FS, string)
}

var dirSeq atomic.Int64 // test-only: unique names for dirs made inside rapid runs

func fsKinds() []fsKind {
	return []fsKind{
		{"osfs", func(t testing.TB) (env.FS, string) {
			return env.OSFS{}, filepath.Join(t.TempDir(), fmt.Sprintf("p%d", dirSeq.Add(1)))
		}},
		{"memfs", func(t testing.TB) (env.FS, string) {
			return memfs.New(), "/data/topic-0"
		}},
	}
}

// forEachFS runs body once per file system as a subtest.
func forEachFS(t *testing.T, body func(t *testing.T, k fsKind)) {
	for _, k := range fsKinds() {
		t.Run(k.name, func(t *testing.T) { body(t, k) })
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustOpen(t tb, fs env.FS, dir string, cfg Config) *Log {
	t.Helper()
	l, err := Open(fs, env.NewManualClock(t0), dir, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// crash simulates a power loss under l and returns the FS as found on
// reboot; l must not be used again.
//
// On memfs that is memfs.Crash, keeping a fraction keep of each unsynced tail.
// On the OS FS, where the kernel keeps everything, it is approximated: l's
// files are closed without a sync, then the active segment is cut to a
// random length between what was synced and what was written (a torn
// unsynced tail).
func crash(t tb, fs env.FS, l *Log, rng *rand.Rand, keep float64) env.FS {
	t.Helper()
	if m, ok := fs.(*memfs.FS); ok {
		return m.Crash(rng, keep)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seg := l.active()
	syncedPos := seg.size
	if l.synced < l.end {
		syncedPos = 0
		if l.synced > seg.base {
			var hdr [hdrPrefix]byte
			pos, _, err := seg.find(l.synced, hdr[:])
			if err != nil {
				t.Fatal(err)
			}
			syncedPos = pos
		}
	}
	st, err := seg.f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.segments {
		s.f.Close()
	}
	l.closed = true
	cut := syncedPos + int64(keep*float64(st.Size()-syncedPos)*rng.Float64())
	if err := os.Truncate(segmentName(l.dir, seg.base, logSuffix), cut); err != nil {
		t.Fatal(err)
	}
	return fs
}

// batch builds a valid batch of n records of valueSize bytes with
// timestamps ts, ts+1, ...
func batch(n, valueSize int, ts int64) []byte {
	values := make([][]byte, n)
	for i := range values {
		v := make([]byte, valueSize)
		for j := range v {
			v[j] = byte(i + j + int(ts))
		}
		values[i] = v
	}
	return recordtest.Batch(recordtest.Options{TimestampMs: ts}, values...)
}

// compressed marks raw as gzip-compressed and fixes its CRC. The log never
// decompresses, so the records need not really be gzip.
func compressed(raw []byte) []byte {
	raw[22] |= 1 // attributes low byte
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	raw[17], raw[18], raw[19], raw[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return raw
}

// model is what a log should hold: the appended batches in order, with the
// base offsets the log assigned.
type model struct {
	start   int64
	batches [][]byte
	bases   []int64
}

func (m *model) end() int64 {
	if len(m.batches) == 0 {
		return m.start
	}
	b, _ := record.Parse(m.batches[len(m.batches)-1])
	return b.LastOffset() + 1
}

// add appends raw to l and to the model.
func (m *model) add(t tb, l *Log, raw []byte) {
	t.Helper()
	want := m.end()
	base, err := l.Append(raw)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if base != want {
		t.Fatalf("Append gave base %d, want %d", base, want)
	}
	m.batches = append(m.batches, bytes.Clone(raw))
	m.bases = append(m.bases, base)
}

// containing returns the index of the batch holding offset.
func (m *model) containing(offset int64) int {
	for i := len(m.bases) - 1; i >= 0; i-- {
		if m.bases[i] <= offset {
			return i
		}
	}
	return -1
}

// truncate keeps the batches below offset (rounded down to a batch base).
func (m *model) truncate(offset int64) {
	if offset <= m.start {
		m.start, m.batches, m.bases = offset, nil, nil
		return
	}
	i := m.containing(offset)
	if i < 0 || offset >= m.end() {
		return
	}
	m.batches, m.bases = m.batches[:i], m.bases[:i]
	if m.end() < m.start {
		// Rounded down into the batch holding the start: nothing
		// readable is left, and the log restarts at its start.
		m.batches, m.bases = nil, nil
	}
}

// advanceStart moves the model's start as AdvanceStartOffset(offset) does.
func (m *model) advanceStart(offset int64) {
	m.start = max(m.start, offset)
}

// visible returns the index of the first batch that reaches the start:
// batches before it are below the log start offset.
func (m *model) visible() int {
	for i, raw := range m.batches {
		if b, _ := record.Parse(raw); b.LastOffset() >= m.start {
			return i
		}
	}
	return len(m.batches)
}

// check compares l with the model through every read path a user has.
func (m *model) check(t tb, l *Log) {
	t.Helper()
	if got, want := l.StartOffset(), m.start; got != want {
		t.Fatalf("StartOffset %d, want %d", got, want)
	}
	if got, want := l.EndOffset(), m.end(); got != want {
		t.Fatalf("EndOffset %d, want %d", got, want)
	}
	// The batches still on disk: from the first segment's base on (the
	// first segment may hold batches below the start).
	l.mu.RLock()
	firstBase := l.segments[0].base
	l.mu.RUnlock()
	var total int64
	for i, b := range m.batches {
		if m.bases[i] >= firstBase {
			total += int64(len(b))
		}
	}
	if got := l.Size(); got != total {
		t.Fatalf("Size %d, want %d", got, total)
	}
	first := m.visible()
	i := first
	err := l.Batches(l.StartOffset(), func(b *record.Batch) error {
		if i >= len(m.batches) {
			return fmt.Errorf("extra batch at offset %d", b.FirstOffset)
		}
		if !bytes.Equal(b.Raw, m.batches[i]) {
			return fmt.Errorf("batch %d (offset %d) differs", i, m.bases[i])
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatalf("Batches: %v", err)
	}
	if i != len(m.batches) {
		t.Fatalf("Batches visited %d batches, want %d", i-first, len(m.batches)-first)
	}
	// Every batch, read by its last offset with a tiny maxBytes: exactly that
	// batch (KIP-74).
	for i, raw := range m.batches[first:] {
		b, _ := record.Parse(raw)
		got, err := l.Read(b.LastOffset(), 1)
		if err != nil {
			t.Fatalf("Read(%d): %v", b.LastOffset(), err)
		}
		if !bytes.Equal(got, raw) {
			t.Fatalf("Read(%d) is not batch %d", b.LastOffset(), first+i)
		}
	}
	if m.start > 0 {
		if _, err := l.Read(m.start-1, 1); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Read(start-1 = %d): %v, want ErrOffsetOutOfRange", m.start-1, err)
		}
	}
	if got, err := l.Read(m.end(), 1<<20); err != nil || got != nil {
		t.Fatalf("Read(end) = %d bytes, %v", len(got), err)
	}
	if _, err := l.Read(m.end()+1, 1<<20); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read(end+1): %v", err)
	}
}

// tb is what the helpers need of a test: both *testing.T and *rapid.T have it.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func env0() env.Clock { return env.NewManualClock(t0) }

func memfsClock() *env.ManualClock { return env.NewManualClock(t0) }
