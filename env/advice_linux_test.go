package env_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/weir-dev/weir/env"
)

// resident counts the pages of name's first n bytes that are in the page
// cache (mincore on a mapping, which faults nothing in).
func resident(t *testing.T, name string, n int) int {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (n+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	count := 0
	for _, v := range vec {
		count += int(v & 1)
	}
	return count
}

// TestDropCacheOS: DropCache frees the synced pages of the range asked
// for, and only those, and the bytes read back unchanged. The split is at
// 2 MiB, so that no cache folio (at most 2 MiB, naturally aligned) lies
// across it: Linux frees only folios wholly inside the range.
func TestDropCacheOS(t *testing.T) {
	const size = 4 << 20
	page := os.Getpagesize()
	name := filepath.Join(t.TempDir(), "seg")
	f, err := env.OSFS{}.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := bytes.Repeat([]byte("weir"), size/4)
	for off := 0; off < size; off += 64 << 10 {
		if _, err := f.WriteAt(data[off:off+64<<10], int64(off)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	before := resident(t, name, size)
	if before < size/page {
		t.Skipf("only %d of %d pages of a file just written are cached", before, size/page)
	}
	const half = size / 2
	if err := env.DropCache(f, 0, half); err != nil {
		t.Fatal(err)
	}
	if got := resident(t, name, half); got != 0 {
		t.Errorf("%d pages of the dropped half still cached", got)
	}
	if got, want := resident(t, name, size), (size-half)/page; got != want {
		t.Errorf("%d pages cached after dropping half, want %d", got, want)
	}
	got := make([]byte, size)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("contents changed after DropCache")
	}
}

// TestPreallocateOS: Preallocate reserves disk blocks past the end without
// changing the size or the bytes, and a Truncate to the size gives them
// back.
func TestPreallocateOS(t *testing.T) {
	name := filepath.Join(t.TempDir(), "seg")
	f, err := env.OSFS{}.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := []byte("a batch")
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	blocks := func() int64 {
		var st unix.Stat_t
		if err := unix.Stat(name, &st); err != nil {
			t.Fatal(err)
		}
		return st.Blocks * 512
	}
	if err := env.Preallocate(f, int64(len(data)), 8<<20); err != nil {
		t.Skipf("file system without fallocate: %v", err)
	}
	if got := blocks(); got < 8<<20 {
		t.Errorf("%d bytes allocated after reserving 8 MiB", got)
	}
	if st, err := f.Stat(); err != nil || st.Size() != int64(len(data)) {
		t.Errorf("size %v (%v) after reserving, want %d", st.Size(), err, len(data))
	}
	got := make([]byte, 64)
	n, _ := f.ReadAt(got, 0)
	if string(got[:n]) != string(data) {
		t.Errorf("read %q after reserving, want %q", got[:n], data)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if got := blocks(); got > 64<<10 {
		t.Errorf("%d bytes still allocated after Truncate to the size", got)
	}
}
