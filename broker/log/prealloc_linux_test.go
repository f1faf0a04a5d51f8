package log

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/weir-dev/weir/env"
)

// allocated is the disk space a file holds, in bytes.
func allocated(t *testing.T, name string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(name, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestPreallocateOS: while a segment is written its blocks are reserved
// ahead of its end (in steps no larger than what it holds, at least 64 KiB,
// at most PreallocateBytes), its size is always exactly its batches, and
// the reservation is given back when it rolls and when the log closes.
func TestPreallocateOS(t *testing.T) {
	dir := t.TempDir() + "/p"
	cfg := Config{SegmentBytes: 2 << 20, PreallocateBytes: 512 << 10}
	l := mustOpen(t, env.OSFS{}, dir, cfg)
	var m model
	rng := rand.New(rand.NewPCG(5, 6))
	ahead := false
	for l.Segments() < 3 {
		m.add(t, l, batch(1+rng.IntN(20), 500+rng.IntN(500), 0))
		l.mu.RLock()
		seg := l.active()
		name, size, prealloc := segmentName(l.dir, seg.base, logSuffix), seg.size, seg.prealloc
		l.mu.RUnlock()
		if prealloc < size {
			t.Fatalf("reserved up to %d, below the segment's %d bytes", prealloc, size)
		}
		if step := prealloc - size; step > max(size, minPreallocate, cfg.PreallocateBytes) {
			t.Fatalf("reserved %d bytes ahead of a %d-byte segment", step, size)
		}
		if got := allocated(t, name); got >= size+64<<10 {
			ahead = true
		}
	}
	if !ahead {
		t.Fatal("no segment ever held reserved blocks ahead of its end")
	}
	m.check(t, l)
	// Released means no more than the data rounded up to blocks, plus a few
	// blocks ext4 may take for the file's extent tree (counted in st_blocks).
	const slack = 16 << 10
	for i, seg := range l.segments {
		name := segmentName(l.dir, seg.base, logSuffix)
		if i < len(l.segments)-1 {
			if got := allocated(t, name); got > seg.size+slack {
				t.Errorf("rolled segment %d holds %d bytes of disk for %d of data", seg.base, got, seg.size)
			}
		}
	}
	active := segmentName(l.dir, l.active().base, logSuffix)
	size := l.active().size
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := allocated(t, active); got > size+slack {
		t.Errorf("closed log's active segment holds %d bytes of disk for %d of data", got, size)
	}
	l = mustOpen(t, env.OSFS{}, dir, cfg)
	defer l.Close()
	m.check(t, l)
}
