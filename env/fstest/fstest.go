// Package fstest is the conformance suite for env.FS: one body of tests run
// against every implementation, so the simulated disk cannot drift from the
// real one (nats-server's testAllStoreAllPermutations, applied to the FS).
//
// It checks only what env.FS and env.File promise and what callers rely on
// (the OS's observable behaviour); it never checks durability, which only a
// crashable FS can show (memfs has its own tests for that). It must never
// depend on a particular implementation's error text.
package fstest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/weir-dev/weir/env"
)

// Run runs the suite. newFS is called once per subtest and returns a fresh
// FS and an existing, empty directory on it that the subtest may fill.
func Run(t *testing.T, newFS func(t *testing.T) (fs env.FS, dir string)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, fs env.FS, dir string)
	}{
		{"CreateWriteRead", testCreateWriteRead},
		{"CreateTruncates", testCreateTruncates},
		{"OpenReadWrite", testOpenReadWrite},
		{"OpenIsReadOnly", testOpenIsReadOnly},
		{"NotExist", testNotExist},
		{"ReadAt", testReadAt},
		{"Seek", testSeek},
		{"WriteAtPads", testWriteAtPads},
		{"Truncate", testTruncate},
		{"Stat", testStat},
		{"List", testList},
		{"Remove", testRemove},
		{"RemoveAll", testRemoveAll},
		{"Rename", testRename},
		{"RenameDir", testRenameDir},
		{"MkdirAll", testMkdirAll},
		{"CleanPaths", testCleanPaths},
		{"SyncAndSyncDir", testSync},
		{"Close", testClose},
		{"CallerOwnsBuffers", testCallerOwnsBuffers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, dir := newFS(t)
			tt.fn(t, fs, dir)
		})
	}
}

// writeFile creates name holding data and closes it.
func writeFile(t *testing.T, fs env.FS, name string, data []byte) {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if n, err := f.Write(data); n != len(data) || err != nil {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", name, n, err, len(data))
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close(%q): %v", name, err)
	}
}

// readFile returns the whole contents of name, read with Read until io.EOF.
func readFile(t *testing.T, fs env.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", name, err)
	}
	return data
}

func wantContents(t *testing.T, fs env.FS, name string, want []byte) {
	t.Helper()
	if got := readFile(t, fs, name); !bytes.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", name, got, want)
	}
}

func wantNotExist(t *testing.T, fs env.FS, name string) {
	t.Helper()
	if _, err := fs.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stat(%q) = %v, want os.ErrNotExist", name, err)
	}
}

func mustCreate(t *testing.T, fs env.FS, name string) env.File {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func testCreateWriteRead(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f := mustCreate(t, fs, name)
	for _, chunk := range []string{"hello ", "", "world"} {
		if n, err := f.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	// The handle is read-write: reading back through it needs only a Seek.
	if pos, err := f.Seek(0, io.SeekStart); pos != 0 || err != nil {
		t.Fatalf("Seek(0, start) = %d, %v", pos, err)
	}
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	if err != nil || string(buf[:n]) != "hello world" {
		t.Fatalf("Read = %q, %v; want %q, nil", buf[:n], err, "hello world")
	}
	if n, err := f.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at EOF = %d, %v; want 0, io.EOF", n, err)
	}
	wantContents(t, fs, name, []byte("hello world"))
}

func testCreateTruncates(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	writeFile(t, fs, name, []byte("long old contents"))
	writeFile(t, fs, name, []byte("new"))
	wantContents(t, fs, name, []byte("new"))
}

func testOpenReadWrite(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f, err := fs.OpenReadWrite(name)
	if err != nil {
		t.Fatalf("OpenReadWrite of a missing file: %v", err)
	}
	if _, err := f.Write([]byte("abcdef")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantContents(t, fs, name, []byte("abcdef"))

	// Reopening must neither truncate nor append: it starts at offset 0.
	f, err = fs.OpenReadWrite(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("XY")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wantContents(t, fs, name, []byte("XYcdef"))
}

func testOpenIsReadOnly(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	writeFile(t, fs, name, []byte("data"))
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("Write on a file from Open succeeded")
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Error("WriteAt on a file from Open succeeded")
	}
	if err := f.Truncate(0); err == nil {
		t.Error("Truncate on a file from Open succeeded")
	}
	wantContents(t, fs, name, []byte("data"))
}

func testNotExist(t *testing.T, fs env.FS, dir string) {
	missing := filepath.Join(dir, "missing")
	inMissing := filepath.Join(missing, "f")
	tests := []struct {
		name string
		op   func() error
	}{
		{"Open", func() error { _, err := fs.Open(missing); return err }},
		{"Stat", func() error { _, err := fs.Stat(missing); return err }},
		{"Remove", func() error { return fs.Remove(missing) }},
		{"Rename", func() error { return fs.Rename(missing, filepath.Join(dir, "x")) }},
		{"List", func() error { _, err := fs.List(missing); return err }},
		{"SyncDir", func() error { return fs.SyncDir(missing) }},
		{"CreateInMissingDir", func() error { _, err := fs.Create(inMissing); return err }},
		{"OpenReadWriteInMissingDir", func() error { _, err := fs.OpenReadWrite(inMissing); return err }},
		{"RenameIntoMissingDir", func() error {
			writeFile(t, fs, filepath.Join(dir, "src"), nil)
			return fs.Rename(filepath.Join(dir, "src"), inMissing)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("err = %v, want os.ErrNotExist", err)
			}
		})
	}
	// A failed create must not leave anything behind.
	wantNotExist(t, fs, missing)
	if err := fs.RemoveAll(missing); err != nil {
		t.Fatalf("RemoveAll of a missing path: %v", err)
	}
}

func testReadAt(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	writeFile(t, fs, name, []byte("0123456789"))
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name    string
		off     int64
		size    int
		want    string
		wantEOF bool
	}{
		{"start", 0, 4, "0123", false},
		{"middle", 3, 4, "3456", false},
		{"exactly to end", 6, 4, "6789", false},
		{"across end", 8, 4, "89", true},
		{"at end", 10, 4, "", true},
		{"past end", 100, 4, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := make([]byte, tt.size)
			n, err := f.ReadAt(buf, tt.off)
			if string(buf[:n]) != tt.want {
				t.Errorf("ReadAt(%d) read %q, want %q", tt.off, buf[:n], tt.want)
			}
			if tt.wantEOF && err != io.EOF || !tt.wantEOF && err != nil {
				t.Errorf("ReadAt(%d) err = %v, want EOF %v", tt.off, err, tt.wantEOF)
			}
		})
	}
	// ReadAt must not move the offset Read uses.
	buf := make([]byte, 3)
	if n, err := f.Read(buf); err != nil || string(buf[:n]) != "012" {
		t.Fatalf("Read after ReadAt = %q, %v; want %q", buf[:n], err, "012")
	}
	if _, err := f.ReadAt(buf, -1); err == nil {
		t.Error("ReadAt at a negative offset succeeded")
	}
}

func testSeek(t *testing.T, fs env.FS, dir string) {
	f := mustCreate(t, fs, filepath.Join(dir, "f"))
	if _, err := f.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	// Steps run in order, each from the offset the last one left.
	steps := []struct {
		offset  int64
		whence  int
		wantPos int64
		next    string // what a 2-byte read returns after the seek; "" at EOF
	}{
		{2, io.SeekStart, 2, "23"},
		{1, io.SeekCurrent, 5, "56"},
		{-3, io.SeekCurrent, 4, "45"},
		{-1, io.SeekEnd, 9, "9"},
		{0, io.SeekEnd, 10, ""},
		{5, io.SeekEnd, 15, ""},
		{0, io.SeekStart, 0, "01"},
	}
	for i, s := range steps {
		pos, err := f.Seek(s.offset, s.whence)
		if err != nil || pos != s.wantPos {
			t.Fatalf("step %d: Seek(%d, %d) = %d, %v; want %d", i, s.offset, s.whence, pos, err, s.wantPos)
		}
		buf := make([]byte, 2)
		n, err := f.Read(buf)
		if string(buf[:n]) != s.next || (s.next == "" && err != io.EOF) {
			t.Fatalf("step %d: Read = %q, %v; want %q", i, buf[:n], err, s.next)
		}
	}
	if _, err := f.Seek(-1, io.SeekStart); err == nil {
		t.Error("Seek to a negative offset succeeded")
	}
	// Writing after seeking past the end fills the gap with zeroes.
	if _, err := f.Seek(12, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("X")); err != nil {
		t.Fatal(err)
	}
	wantContents(t, fs, filepath.Join(dir, "f"), []byte("0123456789\x00\x00X"))
}

func testWriteAtPads(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f := mustCreate(t, fs, name)
	steps := []struct {
		data string
		off  int64
		want string
	}{
		{"abc", 0, "abc"},
		{"Z", 1, "aZc"},
		{"xy", 5, "aZc\x00\x00xy"},
		{"12", 6, "aZc\x00\x00x12"},
	}
	for i, s := range steps {
		if n, err := f.WriteAt([]byte(s.data), s.off); n != len(s.data) || err != nil {
			t.Fatalf("step %d: WriteAt = %d, %v", i, n, err)
		}
		wantContents(t, fs, name, []byte(s.want))
	}
	// WriteAt must not move the offset Write uses.
	if _, err := f.Write([]byte("W")); err != nil {
		t.Fatal(err)
	}
	wantContents(t, fs, name, []byte("WZc\x00\x00x12"))
	if _, err := f.WriteAt([]byte("x"), -1); err == nil {
		t.Error("WriteAt at a negative offset succeeded")
	}
}

func testTruncate(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f := mustCreate(t, fs, name)
	if _, err := f.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		size int64
		want string
	}{
		{4, "0123"},
		{4, "0123"},
		{7, "0123\x00\x00\x00"},
		{0, ""},
		{2, "\x00\x00"},
	}
	for i, s := range steps {
		if err := f.Truncate(s.size); err != nil {
			t.Fatalf("step %d: Truncate(%d): %v", i, s.size, err)
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() != s.size {
			t.Fatalf("step %d: Stat after Truncate(%d) = %v, %v", i, s.size, fi, err)
		}
		// Growing must expose zeroes, never the bytes cut earlier.
		wantContents(t, fs, name, []byte(s.want))
	}
	// Truncate leaves the offset alone: the write lands at 10, past the end.
	if _, err := f.Write([]byte("E")); err != nil {
		t.Fatal(err)
	}
	wantContents(t, fs, name, append(make([]byte, 10), 'E'))
	if err := f.Truncate(-1); err == nil {
		t.Error("Truncate(-1) succeeded")
	}
}

func testStat(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "file")
	sub := filepath.Join(dir, "sub")
	if err := fs.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f := mustCreate(t, fs, name)
	if _, err := f.Write(make([]byte, 1234)); err != nil {
		t.Fatal(err)
	}
	// Stat reports the current size, synced or not.
	fromFS, err := fs.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range []os.FileInfo{fromFS, fromFile} {
		if fi.Name() != "file" || fi.Size() != 1234 || fi.IsDir() || !fi.Mode().IsRegular() {
			t.Errorf("Stat = name %q size %d dir %v mode %v; want file 1234 false regular",
				fi.Name(), fi.Size(), fi.IsDir(), fi.Mode())
		}
	}
	fi, err := fs.Stat(sub)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name() != "sub" || !fi.IsDir() || !fi.Mode().IsDir() {
		t.Errorf("Stat(dir) = name %q dir %v mode %v", fi.Name(), fi.IsDir(), fi.Mode())
	}
}

func testList(t *testing.T, fs env.FS, dir string) {
	if names, err := fs.List(dir); err != nil || len(names) != 0 {
		t.Fatalf("List(empty dir) = %q, %v", names, err)
	}
	// Created out of order, so an unsorted List shows up.
	for _, n := range []string{"b", "c.log", "a", "00000000000000000010.log", "00000000000000000002.log"} {
		writeFile(t, fs, filepath.Join(dir, n), nil)
	}
	if err := fs.MkdirAll(filepath.Join(dir, "d", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := fs.List(dir)
	want := []string{"00000000000000000002.log", "00000000000000000010.log", "a", "b", "c.log", "d"}
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("List = %q, %v; want %q", names, err, want)
	}
	if _, err := fs.List(filepath.Join(dir, "a")); err == nil {
		t.Error("List of a file succeeded")
	}
}

func testRemove(t *testing.T, fs env.FS, dir string) {
	file := filepath.Join(dir, "f")
	empty := filepath.Join(dir, "empty")
	full := filepath.Join(dir, "full")
	writeFile(t, fs, file, []byte("x"))
	for _, d := range []string{empty, full} {
		if err := fs.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, fs, filepath.Join(full, "g"), []byte("keep"))

	if err := fs.Remove(full); err == nil {
		t.Error("Remove of a non-empty directory succeeded")
	}
	wantContents(t, fs, filepath.Join(full, "g"), []byte("keep"))
	for _, name := range []string{file, empty} {
		if err := fs.Remove(name); err != nil {
			t.Errorf("Remove(%q): %v", name, err)
		}
		wantNotExist(t, fs, name)
	}
	if names, err := fs.List(dir); err != nil || !slices.Equal(names, []string{"full"}) {
		t.Errorf("List after Remove = %q, %v; want [full]", names, err)
	}
}

func testRemoveAll(t *testing.T, fs env.FS, dir string) {
	tree := filepath.Join(dir, "tree")
	for _, d := range []string{"a/b/c", "a/d", "e"} {
		if err := fs.MkdirAll(filepath.Join(tree, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/b/c/f", "a/g", "h"} {
		writeFile(t, fs, filepath.Join(tree, filepath.FromSlash(f)), []byte(f))
	}
	writeFile(t, fs, filepath.Join(dir, "sibling"), []byte("s"))
	if err := fs.RemoveAll(tree); err != nil {
		t.Fatal(err)
	}
	wantNotExist(t, fs, tree)
	wantNotExist(t, fs, filepath.Join(tree, "a", "g"))
	wantContents(t, fs, filepath.Join(dir, "sibling"), []byte("s"))
	if err := fs.RemoveAll(tree); err != nil {
		t.Errorf("second RemoveAll: %v", err)
	}
	// RemoveAll of a single file works too.
	if err := fs.RemoveAll(filepath.Join(dir, "sibling")); err != nil {
		t.Fatal(err)
	}
	wantNotExist(t, fs, filepath.Join(dir, "sibling"))
}

func testRename(t *testing.T, fs env.FS, dir string) {
	sub := filepath.Join(dir, "sub")
	if err := fs.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(sub, "c")
	writeFile(t, fs, a, []byte("A"))
	writeFile(t, fs, b, []byte("old B"))

	// An open handle follows the file, not the name.
	f, err := fs.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	steps := []struct {
		from, to string
		gone     string
		at       string
	}{
		{a, b, a, b}, // replaces an existing file
		{b, c, b, c}, // across directories
		{c, a, c, a}, // and back
	}
	for i, s := range steps {
		if err := fs.Rename(s.from, s.to); err != nil {
			t.Fatalf("step %d: Rename: %v", i, err)
		}
		wantNotExist(t, fs, s.gone)
		wantContents(t, fs, s.at, []byte("A"))
	}
	if names, err := fs.List(dir); err != nil || !slices.Equal(names, []string{"a", "sub"}) {
		t.Errorf("List = %q, %v; want [a sub]", names, err)
	}
	buf := make([]byte, 4)
	if n, err := f.ReadAt(buf, 0); string(buf[:n]) != "A" {
		t.Errorf("handle opened before renames reads %q, %v", buf[:n], err)
	}
	if err := fs.Rename(a, a); err != nil {
		t.Errorf("Rename onto itself: %v", err)
	}
	wantContents(t, fs, a, []byte("A"))
	if err := fs.Rename(a, sub); err == nil {
		t.Error("Rename of a file onto a directory succeeded")
	}
}

func testRenameDir(t *testing.T, fs env.FS, dir string) {
	from, to := filepath.Join(dir, "from"), filepath.Join(dir, "to")
	if err := fs.MkdirAll(filepath.Join(from, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, filepath.Join(from, "inner", "f"), []byte("deep"))
	if err := fs.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	wantNotExist(t, fs, from)
	wantContents(t, fs, filepath.Join(to, "inner", "f"), []byte("deep"))
	// Go's os.Rename refuses any existing directory as the target, even an
	// empty one (for Windows' sake), with os.ErrExist; memfs must not be
	// more permissive, or code tested on it breaks on the OS.
	other := filepath.Join(dir, "other")
	empty := filepath.Join(dir, "empty")
	for _, d := range []string{other, empty} {
		if err := fs.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, fs, filepath.Join(dir, "file"), nil)
	for _, c := range []struct{ from, to string }{
		{other, empty},
		{other, to},
		{filepath.Join(dir, "file"), empty},
	} {
		if err := fs.Rename(c.from, c.to); !errors.Is(err, os.ErrExist) {
			t.Errorf("Rename(%q, %q) onto a directory = %v, want os.ErrExist", c.from, c.to, err)
		}
	}
	if err := fs.Rename(other, filepath.Join(dir, "file")); err == nil {
		t.Error("Rename of a directory onto a file succeeded")
	}
	if _, err := fs.Stat(other); err != nil {
		t.Errorf("failed renames removed the source: %v", err)
	}
	if err := fs.Rename(to, filepath.Join(to, "inner", "loop")); err == nil {
		t.Error("Rename of a directory into itself succeeded")
	}
	wantContents(t, fs, filepath.Join(to, "inner", "f"), []byte("deep"))
}

func testMkdirAll(t *testing.T, fs env.FS, dir string) {
	deep := filepath.Join(dir, "a", "b", "c")
	for i := range 2 { // the second call finds everything there already
		if err := fs.MkdirAll(deep, 0o755); err != nil {
			t.Fatalf("MkdirAll #%d: %v", i, err)
		}
	}
	for _, d := range []string{filepath.Join(dir, "a"), filepath.Join(dir, "a", "b"), deep} {
		if fi, err := fs.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("Stat(%q) = %v, %v; want a directory", d, fi, err)
		}
	}
	writeFile(t, fs, filepath.Join(deep, "f"), []byte("x"))
	if err := fs.MkdirAll(filepath.Join(deep, "f"), 0o755); err == nil {
		t.Error("MkdirAll over a file succeeded")
	}
	if err := fs.MkdirAll(filepath.Join(deep, "f", "g"), 0o755); err == nil {
		t.Error("MkdirAll below a file succeeded")
	}
	wantContents(t, fs, filepath.Join(deep, "f"), []byte("x"))
}

func testCleanPaths(t *testing.T, fs env.FS, dir string) {
	if err := fs.MkdirAll(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, dir+"/d/../d/./f", []byte("same"))
	for _, name := range []string{
		filepath.Join(dir, "d", "f"),
		dir + "//d///f",
		dir + "/d/./f",
	} {
		wantContents(t, fs, name, []byte("same"))
	}
	if names, err := fs.List(dir + "/d/"); err != nil || !slices.Equal(names, []string{"f"}) {
		t.Errorf("List = %q, %v; want [f]", names, err)
	}
}

func testSync(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f := mustCreate(t, fs, name)
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := fs.SyncDir(dir); err != nil {
		t.Fatalf("SyncDir: %v", err)
	}
	// Syncing changes nothing visible.
	wantContents(t, fs, name, []byte("data"))
	// A directory opened read-only can be synced, which is how OSFS.SyncDir
	// works and what callers porting pebble-style code do.
	d, err := fs.Open(dir)
	if err != nil {
		t.Fatalf("Open(dir): %v", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Errorf("Sync of a directory handle: %v", err)
	}
}

func testClose(t *testing.T, fs env.FS, dir string) {
	f, err := fs.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	tests := []struct {
		name string
		op   func() error
	}{
		{"Close", f.Close},
		{"Read", func() error { _, err := f.Read(buf); return err }},
		{"ReadAt", func() error { _, err := f.ReadAt(buf, 0); return err }},
		{"Write", func() error { _, err := f.Write(buf); return err }},
		{"WriteAt", func() error { _, err := f.WriteAt(buf, 0); return err }},
		{"Seek", func() error { _, err := f.Seek(0, io.SeekStart); return err }},
		{"Sync", f.Sync},
		{"Truncate", func() error { return f.Truncate(0) }},
		{"Stat", func() error { _, err := f.Stat(); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("%s after Close = %v, want os.ErrClosed", tt.name, err)
			}
		})
	}
}

func testCallerOwnsBuffers(t *testing.T, fs env.FS, dir string) {
	name := filepath.Join(dir, "f")
	f := mustCreate(t, fs, name)
	buf := []byte("abcd")
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(buf[:2], 4); err != nil {
		t.Fatal(err)
	}
	// The FS must have copied: reusing the buffer cannot change the file.
	copy(buf, "ZZZZ")
	got := make([]byte, 6)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if string(got) != "abcdab" {
		t.Fatalf("after reusing the write buffer the file holds %q, want %q", got, "abcdab")
	}
	// Nor can scribbling on a read buffer.
	copy(got, "YYYYYY")
	wantContents(t, fs, name, []byte("abcdab"))
}
