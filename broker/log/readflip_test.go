package log

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env/memfs"
)

// flipAt is a memfs.ReadCorrupter: it flips a bit of the byte at file offset
// at of the file whose path ends with suffix, in the first times reads that
// cover it (every read if times < 0). With rotate, each flip hits the next
// bit, so no two corrupted reads agree; otherwise it is always bit 0.
// The stored bytes never change.
type flipAt struct {
	mu      sync.Mutex
	suffix  string
	at      int64
	times   int
	rotate  bool
	flipped int
}

func (f *flipAt) MaybeError(memfs.Op, string) error { return nil }

func (f *flipAt) CorruptRead(_ memfs.Op, path string, off int64, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasSuffix(path, f.suffix) || f.at < off || f.at >= off+int64(len(p)) {
		return
	}
	if f.times >= 0 && f.flipped >= f.times {
		return
	}
	bit := 0
	if f.rotate {
		bit = f.flipped % 8
	}
	p[f.at-off] ^= 1 << bit
	f.flipped++
}

func (f *flipAt) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flipped
}

// openFlipped opens the log in dir with inj installed for the Open only.
func openFlipped(t *testing.T, fs *memfs.FS, dir string, inj memfs.Injector) (*Log, error) {
	t.Helper()
	fs.SetInjector(inj)
	defer fs.SetInjector(nil)
	return Open(fs, env0(), dir, smallCfg)
}

// TestRecoverTransientFlipInActiveKeepsEverything: a bit flipped on the way
// from the disk, at any byte of the active segment, on up to agreeingReads
// reads of it in a row, makes the first scan stop there; recovery must read
// again, see intact bytes, and keep every batch. Trusting the one read would
// truncate durable data.
func TestRecoverTransientFlipInActiveKeepsEverything(t *testing.T) {
	fs := memfs.New()
	dir := "/data/topic-0"
	m := buildLog(t, fs, dir)
	path, _, data := activeSegment(t, fs, dir)
	for times := 1; times <= agreeingReads; times++ {
		for i := range int64(len(data)) {
			inj := &flipAt{suffix: path, at: i, times: times}
			l, err := openFlipped(t, fs, dir, inj)
			if err != nil {
				t.Fatalf("flip at byte %d, %d reads: Open: %v", i, times, err)
			}
			if inj.count() == 0 {
				t.Fatalf("flip at byte %d: no read covered it", i)
			}
			if r := l.Recovery(); r.TruncatedBytes != 0 || r.TruncateReason != nil {
				t.Fatalf("flip at byte %d, %d reads: recovery truncated %d bytes (%v) of intact data", i, times, r.TruncatedBytes, r.TruncateReason)
			}
			m.check(t, l)
			l.Close()
			if got := readAll(t, fs, path); !bytes.Equal(got, data) {
				t.Fatalf("flip at byte %d: the segment changed on disk", i)
			}
		}
	}
}

// TestRecoverTransientFlipInRolledSegment: the same for a rolled segment,
// both through the index check (indexes present) and through a rebuild
// (indexes missing): no error, nothing lost.
func TestRecoverTransientFlipInRolledSegment(t *testing.T) {
	for _, dropIndexes := range []bool{false, true} {
		fs := memfs.New()
		dir := "/data/topic-0"
		m := buildLog(t, fs, dir)
		first := segmentName(dir, 0, logSuffix)
		data := readAll(t, fs, first)
		covered := 0
		for i := range int64(len(data)) {
			if dropIndexes { // Open rebuilds them every time
				for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
					if err := fs.Remove(segmentName(dir, 0, suffix)); err != nil {
						t.Fatal(err)
					}
				}
			}
			inj := &flipAt{suffix: first, at: i, times: 1}
			l, err := openFlipped(t, fs, dir, inj)
			if err != nil {
				t.Fatalf("drop indexes %v, flip at byte %d: Open: %v", dropIndexes, i, err)
			}
			covered += inj.count()
			m.check(t, l)
			l.Close()
		}
		// With indexes, Open reads only the tail after the last index
		// entry; without, the whole segment.
		if covered == 0 || dropIndexes && covered != len(data) {
			t.Fatalf("drop indexes %v: %d of %d flips happened", dropIndexes, covered, len(data))
		}
	}
}

// TestRecoverTransientFlipInIndex: an index file read with a flipped bit is
// never used; every read path still finds every batch.
func TestRecoverTransientFlipInIndex(t *testing.T) {
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		fs := memfs.New()
		dir := "/data/topic-0"
		m := buildLog(t, fs, dir)
		name := segmentName(dir, 0, suffix)
		idx := readAll(t, fs, name)
		if len(idx) == 0 {
			t.Fatalf("%s is empty: the test would prove nothing", name)
		}
		for i := range int64(len(idx)) {
			for times := 1; times < agreeingReads; times++ {
				inj := &flipAt{suffix: name, at: i, times: times}
				l, err := openFlipped(t, fs, dir, inj)
				if err != nil {
					t.Fatalf("%s flip at byte %d: Open: %v", suffix, i, err)
				}
				if inj.count() != times {
					t.Fatalf("%s flip at byte %d: flipped %d reads, want %d", suffix, i, inj.count(), times)
				}
				if slices.Contains(l.Recovery().RebuiltIndexes, 0) {
					t.Fatalf("%s flip at byte %d, %d reads: the index was judged inconsistent", suffix, i, times)
				}
				if got, want := l.segments[0].encodeIndex(), readAll(t, fs, segmentName(dir, 0, indexSuffix)); !bytes.Equal(got, want) {
					t.Fatalf("%s flip at byte %d: the index in memory differs from the file", suffix, i)
				}
				if got, want := l.segments[0].encodeTimeIndex(), readAll(t, fs, segmentName(dir, 0, timeIndexSuffix)); !bytes.Equal(got, want) {
					t.Fatalf("%s flip at byte %d: the time index in memory differs from the file", suffix, i)
				}
				m.check(t, l)
				l.Close()
			}
		}
	}
}

// TestRecoverUnstableReadsFailOpen: a disk that never returns the same bytes
// twice fails Open with ErrUnstableReads instead of truncating; once it
// reads reliably again, Open finds everything.
func TestRecoverUnstableReadsFailOpen(t *testing.T) {
	fs := memfs.New()
	dir := "/data/topic-0"
	m := buildLog(t, fs, dir)
	path, _, data := activeSegment(t, fs, dir)
	for _, at := range []int64{0, int64(len(data)) / 2, int64(len(data)) - 1} {
		_, err := openFlipped(t, fs, dir, &flipAt{suffix: path, at: at, times: -1, rotate: true})
		if !errors.Is(err, ErrUnstableReads) {
			t.Fatalf("flip at byte %d on every read: Open = %v, want ErrUnstableReads", at, err)
		}
		if got := readAll(t, fs, path); !bytes.Equal(got, data) {
			t.Fatalf("a failed Open changed the segment")
		}
	}
	l := mustOpen(t, fs, dir, smallCfg)
	defer l.Close()
	if r := l.Recovery(); r.TruncatedBytes != 0 {
		t.Fatalf("truncated %d bytes", r.TruncatedBytes)
	}
	m.check(t, l)
}

// TestRecoverStableCorruptionStillTruncated: bytes that are wrong on disk
// are truncated as before, also when transient flips hit the reads (of the
// corrupt batch or of an intact one before it).
func TestRecoverStableCorruptionStillTruncated(t *testing.T) {
	fs := memfs.New()
	dir := "/data/topic-0"
	m := buildLog(t, fs, dir)
	path, base, data := activeSegment(t, fs, dir)
	first := slices.Index(m.bases, base)
	second := int64(len(m.batches[first])) // position of the active segment's second batch
	bad := bytes.Clone(data)
	bad[second+30] ^= 0x10 // inside the CRC-covered part
	writeAll(t, fs, path, bad)
	for _, inj := range []*flipAt{
		nil,
		{suffix: path, at: 5, times: 1},          // in the intact first batch
		{suffix: path, at: second + 3, times: 2}, // in the corrupt batch's header
		{suffix: path, at: second + 30, times: 2},  // the corrupt byte itself, flipped back
		{suffix: path, at: second + 40, times: -1}, // a stuck bit is corruption too
		{suffix: path, at: second + 100, times: 1}, // past the corrupt batch
	} {
		var l *Log
		var err error
		if inj == nil {
			l, err = Open(fs, env0(), dir, smallCfg)
		} else {
			l, err = openFlipped(t, fs, dir, inj)
		}
		if err != nil {
			t.Fatalf("%+v: Open: %v", inj, err)
		}
		if l.Recovery().TruncateReason == nil || l.Recovery().TruncatedBytes != int64(len(data))-second {
			t.Fatalf("%+v: truncated %d bytes (%v), want %d", inj, l.Recovery().TruncatedBytes, l.Recovery().TruncateReason, int64(len(data))-second)
		}
		wantPrefix(t, l, m, first+1)
		l.Close()
		writeAll(t, fs, path, bad) // put the corrupt tail back for the next case
	}
}

// TestTruncateTransientFlipKeepsLog: a follower's truncation finds the cut
// by walking batch headers and then rescans what it keeps; a bit flipped on
// the way, at any byte of the segment it cuts, on up to agreeingReads-1
// reads, must neither fail the truncation (which took the partition offline
// until a restart: seeds 3096 and 3108 of --faults all) nor move the cut.
// The cuts: inside the active segment, and inside a rolled one (which
// becomes active).
func TestTruncateTransientFlipKeepsLog(t *testing.T) {
	fs := memfs.New()
	dir := "/data/topic-0"
	m := buildLog(t, fs, dir)
	l := mustOpen(t, fs, dir, smallCfg)
	active := l.segmentBatches(m)
	if len(l.segments) < 2 || active < 2 {
		t.Fatalf("want a rolled segment of at least 2 batches before the active one: %d segments", len(l.segments))
	}
	l.Close()
	for _, cut := range []int{len(m.batches) - 1, active - 1} {
		keep := *m
		keep.truncate(m.bases[cut])
		base := l.segments[len(l.segments)-1].base
		if cut < active {
			base = l.segments[len(l.segments)-2].base
		}
		path := segmentName(dir, base, logSuffix)
		saved := snapshotDir(t, fs, dir)
		size := int64(len(readAll(t, fs, path)))
		flipped := 0
		for times := 1; times < agreeingReads; times++ {
			for i := range size {
				restoreDir(t, fs, dir, saved)
				l := mustOpen(t, fs, dir, smallCfg)
				inj := &flipAt{suffix: path, at: i, times: times}
				fs.SetInjector(inj)
				err := l.TruncateTo(m.bases[cut])
				fs.SetInjector(nil)
				if err != nil {
					t.Fatalf("cut at batch %d, flip at byte %d on %d reads: TruncateTo: %v", cut, i, times, err)
				}
				flipped += inj.count()
				keep.check(t, l)
				l.Close()
			}
		}
		if flipped == 0 {
			t.Fatalf("cut at batch %d: no read met a flip: the test proves nothing", cut)
		}
	}
}

// snapshotDir and restoreDir save and put back every file of dir, so each
// case starts from the same log.
func snapshotDir(t *testing.T, fs *memfs.FS, dir string) map[string][]byte {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		out[n] = readAll(t, fs, dir+"/"+n)
	}
	return out
}

func restoreDir(t *testing.T, fs *memfs.FS, dir string, files map[string][]byte) {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := files[n]; !ok {
			if err := fs.Remove(dir + "/" + n); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n, data := range files {
		writeAll(t, fs, dir+"/"+n, data)
	}
}
