package memfs_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env/memfs"
)

// flipper flips the lowest bit of the first byte of the next flips reads and
// records every CorruptRead call.
type flipper struct {
	mu    sync.Mutex
	flips int
	calls []string
}

func (f *flipper) MaybeError(memfs.Op, string) error { return nil }

func (f *flipper) CorruptRead(op memfs.Op, path string, off int64, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op.String()+" "+path+" "+string(rune('0'+off))+" "+string(rune('0'+len(p))))
	if f.flips > 0 {
		f.flips--
		p[0] ^= 1
	}
}

func TestReadCorrupterChangesOnlyTheRead(t *testing.T) {
	fs := memfs.New()
	must(t, fs.MkdirAll("/d", 0o755))
	f := create(t, fs, "/d/f", "abcdef")
	must(t, f.Sync())
	must(t, fs.SyncDir("/d"))
	must(t, fs.SyncDir("/"))
	_, err := f.Write([]byte("gh")) // an unsynced tail too
	must(t, err)
	inj := &flipper{flips: 2}
	fs.SetInjector(inj)

	buf := make([]byte, 3)
	if n, err := f.ReadAt(buf, 1); n != 3 || err != nil || string(buf) != "cc"+"d" {
		t.Fatalf("ReadAt = %d, %v, %q; want the flipped %q", n, err, buf, "ccd")
	}
	// A short read at the end: only the bytes read are offered.
	buf = make([]byte, 4)
	if n, err := f.ReadAt(buf, 6); n != 2 || !errors.Is(err, io.EOF) || string(buf[:n]) != "fh" {
		t.Fatalf("ReadAt at the end = %d, %v, %q; want 2, EOF, %q", n, err, buf[:n], "fh")
	}
	// The stored bytes never changed: a clean read, and a crash, see them.
	buf = make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 8 || err != nil || string(buf) != "abcdefgh" {
		t.Fatalf("ReadAt after the flips = %d, %v, %q", n, err, buf)
	}
	fs.SetInjector(nil)
	if got := read(t, fs.CrashClone(nil, 0), "/d/f"); string(got) != "abcdef" {
		t.Fatalf("synced data after a crash: %q", got)
	}
	want := []string{"read-at /d/f 1 3", "read-at /d/f 6 2", "read-at /d/f 0 8"}
	if len(inj.calls) != len(want) {
		t.Fatalf("CorruptRead calls %q, want %q", inj.calls, want)
	}
	for i := range want {
		if inj.calls[i] != want[i] {
			t.Fatalf("CorruptRead calls %q, want %q", inj.calls, want)
		}
	}
}

func TestReadCorrupterSequentialRead(t *testing.T) {
	fs := memfs.New()
	must(t, fs.MkdirAll("/d", 0o755))
	f := create(t, fs, "/d/f", "abcdef")
	_, err := f.Seek(2, io.SeekStart)
	must(t, err)
	inj := &flipper{flips: 1}
	fs.SetInjector(inj)
	buf := make([]byte, 2)
	if n, err := f.Read(buf); n != 2 || err != nil || string(buf) != "bd" {
		t.Fatalf("Read = %d, %v, %q; want %q", n, err, buf, "bd")
	}
	if n, err := f.Read(buf); n != 2 || err != nil || string(buf) != "ef" {
		t.Fatalf("second Read = %d, %v, %q", n, err, buf)
	}
	// At EOF nothing was read, so nothing is offered.
	if n, err := f.Read(buf); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Read at EOF = %d, %v", n, err)
	}
	if want := []string{"read /d/f 2 2", "read /d/f 4 2"}; len(inj.calls) != 2 || inj.calls[0] != want[0] || inj.calls[1] != want[1] {
		t.Fatalf("CorruptRead calls %q, want %q", inj.calls, want)
	}
	if got := read(t, fs, "/d/f"); !bytes.Equal(got, []byte("abcdef")) {
		t.Fatalf("stored %q", got)
	}
}

// A plain Injector (no CorruptRead) leaves reads alone.
func TestPlainInjectorDoesNotCorrupt(t *testing.T) {
	fs := memfs.New()
	must(t, fs.MkdirAll("/d", 0o755))
	f := create(t, fs, "/d/f", "abc")
	fs.SetInjector(&injector{})
	buf := make([]byte, 3)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "abc" {
		t.Fatalf("ReadAt = %q, %v", buf, err)
	}
}
