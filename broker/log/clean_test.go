package log

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// readCounter is a memfs.ReadCorrupter that corrupts nothing and counts the
// bytes read from files whose path ends with suffix.
type readCounter struct {
	mu     sync.Mutex
	suffix string
	n      int
}

func (*readCounter) MaybeError(memfs.Op, string) error { return nil }

func (r *readCounter) CorruptRead(_ memfs.Op, path string, _ int64, p []byte) {
	if strings.HasSuffix(path, r.suffix) {
		r.mu.Lock()
		r.n += len(p)
		r.mu.Unlock()
	}
}

// TestCleanShutdownMarker: after a clean Close, Open checks the active
// segment's indexes instead of scanning it (it reads a fraction of it), and
// removes the marker, durably: a crash after more appends scans again. A
// marker that does not match the segment, or does not read back whole, is
// removed and the segment scanned; without Config.CleanShutdown no marker
// is written.
func TestCleanShutdownMarker(t *testing.T) {
	cfg := Config{SegmentBytes: 64 << 10, IndexIntervalBytes: 1024, CleanShutdown: true}
	fs := memfs.New()
	dir := "/data/t-0"
	marker := filepath.Join(dir, cleanFile)
	l := mustOpen(t, fs, dir, cfg)
	var m model
	for i := range 200 {
		m.add(t, l, batch(3, 100, int64(i)))
	}
	active := segmentName(dir, l.active().base, logSuffix)
	size := l.active().size
	if l.Segments() < 2 || size < 8<<10 {
		t.Fatalf("%d segments, active %d bytes: the test wants a roll and a large active segment", l.Segments(), size)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(marker); err != nil {
		t.Fatalf("no marker after a clean close: %v", err)
	}

	open := func(cfg Config) (*Log, int) {
		t.Helper()
		rc := &readCounter{suffix: active}
		fs.SetInjector(rc)
		defer fs.SetInjector(nil)
		l := mustOpen(t, fs, dir, cfg)
		if _, err := fs.Stat(marker); err == nil {
			t.Fatal("the marker is still there after Open")
		}
		return l, rc.n
	}
	l, read := open(cfg)
	if !l.Recovery().CleanShutdown || read > int(size)/4 {
		t.Fatalf("clean reopen: CleanShutdown %v, read %d of %d bytes of the active segment", l.Recovery().CleanShutdown, read, size)
	}
	m.check(t, l)

	// Appends, then a crash: the marker must not come back.
	for i := range 20 {
		m.add(t, l, batch(2, 50, int64(i)))
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	fs = fs.Crash(nil, 0)
	l, read = open(cfg)
	if l.Recovery().CleanShutdown || read < int(size) {
		t.Fatalf("after a crash: CleanShutdown %v, read %d of %d bytes; want a scan", l.Recovery().CleanShutdown, read, size)
	}
	m.check(t, l)
	size = l.active().size

	// Markers that do not vouch for the segment: the wrong size, a bad
	// checksum. Each is removed and the segment scanned.
	for name, plant := range map[string]func(){
		"wrong size": func() {
			b := cleanMarker{base: l.active().base, size: size - 1, next: l.EndOffset()}.encode()
			if err := env.WriteFileAtomic(fs, marker, b); err != nil {
				t.Fatal(err)
			}
		},
		"bad checksum": func() {
			b := cleanMarker{base: l.active().base, size: size, next: l.EndOffset()}.encode()
			b[10] ^= 1
			if err := env.WriteFileAtomic(fs, marker, b); err != nil {
				t.Fatal(err)
			}
		},
	} {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		plant()
		l, read = open(cfg)
		if l.Recovery().CleanShutdown || read < int(size) {
			t.Fatalf("%s: CleanShutdown %v, read %d of %d bytes; want a scan", name, l.Recovery().CleanShutdown, read, size)
		}
		m.check(t, l)
	}

	// Without the setting, Close writes none.
	off := cfg
	off.CleanShutdown = false
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, _ = open(off)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(marker); err == nil {
		t.Fatal("a marker without Config.CleanShutdown")
	}
}
