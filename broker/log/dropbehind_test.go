package log

import (
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env"
)

// dropFS wraps an FS and records every DropCache on its files, then passes
// it on (so on the OS FS the pages really go).
type dropFS struct {
	env.FS
	mu      sync.Mutex
	dropped map[string][][2]int64 // segment file name -> [off, end) ranges in call order
}

type dropFile struct {
	env.File
	fs   *dropFS
	name string
}

func (f *dropFile) DropCache(off, n int64) error {
	f.fs.mu.Lock()
	f.fs.dropped[f.name] = append(f.fs.dropped[f.name], [2]int64{off, off + n})
	f.fs.mu.Unlock()
	return env.DropCache(f.File, off, n)
}

func (d *dropFS) wrap(name string, f env.File, err error) (env.File, error) {
	if err != nil {
		return nil, err
	}
	return &dropFile{File: f, fs: d, name: filepath.Base(name)}, nil
}

func (d *dropFS) Create(name string) (env.File, error) {
	f, err := d.FS.Create(name)
	return d.wrap(name, f, err)
}

func (d *dropFS) OpenReadWrite(name string) (env.File, error) {
	f, err := d.FS.OpenReadWrite(name)
	return d.wrap(name, f, err)
}

// droppedUpTo checks that the ranges dropped from each segment file follow
// each other from from[name] on (0 for a segment this log created), each
// reaching back to the dropAlign boundary below where the last one ended,
// and returns how far each file was dropped.
func (d *dropFS) droppedUpTo(t *testing.T, from map[string]int64) map[string]int64 {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	upTo := map[string]int64{}
	for name, rs := range d.dropped {
		at := from[name]
		for _, r := range rs {
			if r[0] != at&^(dropAlign-1) || r[1] <= at {
				t.Fatalf("%s: dropped [%d, %d) after dropping up to %d: each range must start at the %d-aligned point at or below where the last ended, and go further", name, r[0], r[1], at, dropAlign)
			}
			at = r[1]
		}
		upTo[name] = at
	}
	return upTo
}

// TestDropBehind appends and syncs across many segment rolls with a window
// spanning several segments, and checks after every Sync that the log bytes
// more than DropBehindBytes behind the synced end were dropped (in order;
// in the active segment, up to a chunk of them may wait for the next
// call), and no others, that data stays readable, and that a reopened log
// leaves the cache of what it found alone.
func TestDropBehind(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		base, dir := k.newDir(t)
		fs := &dropFS{FS: base, dropped: map[string][][2]int64{}}
		cfg := smallCfg
		cfg.DropBehindBytes = 3 * 1000
		l := mustOpen(t, fs, dir, cfg)
		var m model
		rng := rand.New(rand.NewPCG(3, 4))

		// check compares the drops with the log: Sync just ran, so the
		// synced end is the log's end, and every byte of a segment at a log
		// position more than the window behind it is dropped, and no other,
		// leaving alone the bytes a segment held when the log was opened
		// (from).
		check := func(from map[string]int64) {
			t.Helper()
			upTo := fs.droppedUpTo(t, from)
			l.mu.RLock()
			defer l.mu.RUnlock()
			cut := l.size - cfg.DropBehindBytes
			var segStart int64 // log position of the segment's first byte
			for _, s := range l.segments {
				name := filepath.Base(segmentName(l.dir, s.base, logSuffix))
				got, ok := upTo[name]
				if !ok {
					got = from[name]
				}
				// The active segment is dropped a chunk at a time.
				want := max(from[name], min(cut-segStart, s.size))
				slack := int64(0)
				if s == l.active() {
					slack = l.dropChunk() - 1
				}
				if got > want || got < want-slack {
					t.Fatalf("segment %s (log bytes %d-%d, cut at %d): dropped up to %d, want %d (less at most %d)", name, segStart, segStart+s.size, cut, got, want, slack)
				}
				segStart += s.size
			}
		}

		for range 80 {
			m.add(t, l, batch(1+rng.IntN(3), 10+rng.IntN(60), t0.UnixMilli()))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			check(nil)
		}
		if l.Segments() < 10 {
			t.Fatalf("only %d segments; the test wants the window to span several", l.Segments())
		}
		m.check(t, l)

		// Reopen: the segments found are not ours to drop; what is appended
		// after is.
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		fs.dropped = map[string][][2]int64{}
		l = mustOpen(t, fs, dir, cfg)
		defer l.Close()
		from := map[string]int64{}
		for _, s := range l.segments {
			from[filepath.Base(segmentName(l.dir, s.base, logSuffix))] = s.size
		}
		for range 40 {
			m.add(t, l, batch(1+rng.IntN(3), 10+rng.IntN(60), t0.UnixMilli()))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			check(from)
		}
		m.check(t, l)
		if len(fs.dropped) == 0 {
			t.Fatal("nothing was dropped after reopening")
		}
	})
}

// TestDropBehindOff: the default keeps the whole cache, as Kafka does.
func TestDropBehindOff(t *testing.T) {
	base, dir := fsKinds()[1].newDir(t)
	fs := &dropFS{FS: base, dropped: map[string][][2]int64{}}
	l := mustOpen(t, fs, dir, smallCfg)
	defer l.Close()
	var m model
	for i := range 40 {
		m.add(t, l, batch(2, 50, int64(i)))
		if err := l.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if len(fs.dropped) != 0 {
		t.Fatalf("DropBehindBytes 0 dropped %v", fs.dropped)
	}
}

// TestDropBehindTruncate: after a truncation below what was dropped, the
// rewritten bytes are dropped again once they fall behind the window.
func TestDropBehindTruncate(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		base, dir := k.newDir(t)
		fs := &dropFS{FS: base, dropped: map[string][][2]int64{}}
		cfg := Config{DropBehindBytes: 500} // one segment
		l := mustOpen(t, fs, dir, cfg)
		defer l.Close()
		var m model
		for i := range 30 {
			m.add(t, l, batch(2, 50, int64(i)))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		upTo := fs.droppedUpTo(t, nil)[filepath.Base(segmentName(l.dir, 0, logSuffix))]
		if want := l.Size() - 500; upTo > want || upTo <= want-l.dropChunk() {
			t.Fatalf("dropped up to %d, want %d less under a chunk (%d)", upTo, want, l.dropChunk())
		}
		var kept int64 // bytes of the 5 batches the truncation keeps
		for _, b := range m.batches[:5] {
			kept += int64(len(b))
		}
		if err := l.TruncateTo(m.bases[5]); err != nil {
			t.Fatal(err)
		}
		m.truncate(m.bases[5])
		fs.dropped = map[string][][2]int64{}
		for i := range 30 {
			m.add(t, l, batch(2, 50, int64(i)))
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		m.check(t, l)
		upTo = fs.droppedUpTo(t, map[string]int64{filepath.Base(segmentName(l.dir, 0, logSuffix)): kept})[filepath.Base(segmentName(l.dir, 0, logSuffix))]
		if want := l.Size() - 500; upTo > want || upTo <= want-l.dropChunk() {
			t.Fatalf("after truncating to %d bytes and appending, dropped up to %d, want %d less under a chunk (%d)", kept, upTo, want, l.dropChunk())
		}
	})
}
