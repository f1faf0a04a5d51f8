package memfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// snapshot returns every file of fs by path, with its contents, and every
// directory as path+"/" mapped to "". Comparing whole trees catches both a
// name that should be gone and one that should be there.
func snapshot(t *testing.T, fs env.FS) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(dir string)
	walk = func(dir string) {
		names, err := fs.List(dir)
		if err != nil {
			t.Fatalf("List(%q): %v", dir, err)
		}
		for _, name := range names {
			p := path.Join(dir, name)
			fi, err := fs.Stat(p)
			if err != nil {
				t.Fatalf("Stat(%q): %v", p, err)
			}
			if fi.IsDir() {
				out[p+"/"] = ""
				walk(p)
				continue
			}
			out[p] = string(read(t, fs, p))
		}
	}
	walk("/")
	return out
}

func read(t *testing.T, fs env.FS, name string) []byte {
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

// must fails the test on a non-nil error; it keeps scenario tables short.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, fs env.FS, name, data string) env.File {
	t.Helper()
	f, err := fs.Create(name)
	must(t, err)
	_, err = f.Write([]byte(data))
	must(t, err)
	return f
}

// durableFile makes /d/f hold data, fully synced with its directory entry.
func durableFile(t *testing.T, fs env.FS, data string) env.File {
	t.Helper()
	must(t, fs.MkdirAll("/d", 0o755))
	must(t, fs.SyncDir("/"))
	f := create(t, fs, "/d/f", data)
	must(t, f.Sync())
	must(t, fs.SyncDir("/d"))
	return f
}

func TestCrashKeepsOnlySyncedData(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, fs *memfs.FS)
		want string // contents of /d/f after a crash that keeps nothing unsynced
	}{
		{"unsynced write lost", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "")
			_, err := f.Write([]byte("abc"))
			must(t, err)
		}, ""},
		{"synced write kept", func(t *testing.T, fs *memfs.FS) {
			durableFile(t, fs, "abc")
		}, "abc"},
		{"write after sync lost", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "abc")
			_, err := f.Write([]byte("def"))
			must(t, err)
		}, "abc"},
		{"second sync kept", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "abc")
			_, err := f.Write([]byte("def"))
			must(t, err)
			must(t, f.Sync())
		}, "abcdef"},
		{"overwrite after sync reverts", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "abcdef")
			_, err := f.WriteAt([]byte("XY"), 1)
			must(t, err)
		}, "abcdef"},
		{"shrink then append reverts", func(t *testing.T, fs *memfs.FS) {
			// The bytes appended after the shrink land where the synced
			// ones were; the synced copy must not see them.
			f := durableFile(t, fs, "abcdef")
			must(t, f.Truncate(2))
			_, err := f.WriteAt([]byte("WXYZ"), 2)
			must(t, err)
		}, "abcdef"},
		{"shrink then grow reverts", func(t *testing.T, fs *memfs.FS) {
			// Growing zeroes bytes that the synced copy may still hold.
			f := durableFile(t, fs, "abcdef")
			must(t, f.Truncate(2))
			must(t, f.Truncate(6))
		}, "abcdef"},
		{"synced shrink kept", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "abcdef")
			must(t, f.Truncate(2))
			must(t, f.Sync())
		}, "ab"},
		{"unsynced grow lost", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "ab")
			must(t, f.Truncate(100))
		}, "ab"},
		{"truncation by Create reverts", func(t *testing.T, fs *memfs.FS) {
			durableFile(t, fs, "abc")
			create(t, fs, "/d/f", "Z")
		}, "abc"},
		{"sync through another handle", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "")
			_, err := f.Write([]byte("abc"))
			must(t, err)
			g, err := fs.Open("/d/f")
			must(t, err)
			must(t, g.Sync())
		}, "abc"},
		{"CrashClone does not sync", func(t *testing.T, fs *memfs.FS) {
			f := durableFile(t, fs, "abc")
			fs.CrashClone(rand.New(rand.NewPCG(1, 1)), 1)
			_, err := f.WriteAt([]byte("XYZ"), 0)
			must(t, err)
		}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := memfs.New()
			tt.run(t, fs)
			after := fs.Crash(nil, 0)
			want := map[string]string{"/d/": "", "/d/f": tt.want}
			if got := snapshot(t, after); !maps.Equal(got, want) {
				t.Fatalf("after crash: %q, want %q", got, want)
			}
		})
	}
}

func TestCrashKeepsOnlySyncedEntries(t *testing.T) {
	// Every scenario starts from a durable /a holding "A" and a durable,
	// empty directory /d.
	setup := func(t *testing.T, fs *memfs.FS) {
		must(t, fs.MkdirAll("/d", 0o755))
		must(t, create(t, fs, "/a", "A").Sync())
		must(t, fs.SyncDir("/"))
	}
	tests := []struct {
		name string
		run  func(t *testing.T, fs *memfs.FS)
		want map[string]string
	}{
		{"nothing done", func(t *testing.T, fs *memfs.FS) {},
			map[string]string{"/a": "A", "/d/": ""}},
		{"synced file in unsynced dir vanishes", func(t *testing.T, fs *memfs.FS) {
			must(t, create(t, fs, "/b", "B").Sync())
		}, map[string]string{"/a": "A", "/d/": ""}},
		{"create made durable", func(t *testing.T, fs *memfs.FS) {
			must(t, create(t, fs, "/b", "B").Sync())
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/a": "A", "/b": "B", "/d/": ""}},
		{"durable name, unsynced data", func(t *testing.T, fs *memfs.FS) {
			create(t, fs, "/b", "B")
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/a": "A", "/b": "", "/d/": ""}},
		{"unsynced rename reverts", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/b"))
		}, map[string]string{"/a": "A", "/d/": ""}},
		{"rename made durable", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/b"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/b": "A", "/d/": ""}},
		{"unsynced rename over a file reverts", func(t *testing.T, fs *memfs.FS) {
			must(t, create(t, fs, "/b", "B").Sync())
			must(t, fs.SyncDir("/"))
			must(t, fs.Rename("/a", "/b"))
		}, map[string]string{"/a": "A", "/b": "B", "/d/": ""}},
		{"durable rename over a file", func(t *testing.T, fs *memfs.FS) {
			must(t, create(t, fs, "/b", "B").Sync())
			must(t, fs.SyncDir("/"))
			must(t, fs.Rename("/a", "/b"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/b": "A", "/d/": ""}},
		{"rename across dirs, both synced", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/d/a"))
			must(t, fs.SyncDir("/d"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/d/": "", "/d/a": "A"}},
		{"rename across dirs, only destination synced", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/d/a"))
			must(t, fs.SyncDir("/d"))
		}, map[string]string{"/a": "A", "/d/": "", "/d/a": "A"}},
		{"rename across dirs, only source synced", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/d/a"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/d/": ""}},
		{"unsynced remove reverts", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Remove("/a"))
		}, map[string]string{"/a": "A", "/d/": ""}},
		{"remove made durable", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Remove("/a"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/d/": ""}},
		{"unsynced RemoveAll reverts", func(t *testing.T, fs *memfs.FS) {
			must(t, create(t, fs, "/d/x", "X").Sync())
			must(t, fs.SyncDir("/d"))
			must(t, fs.RemoveAll("/d"))
		}, map[string]string{"/a": "A", "/d/": "", "/d/x": "X"}},
		{"new dir synced but not its parent vanishes", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.MkdirAll("/n/m", 0o755))
			must(t, create(t, fs, "/n/m/f", "F").Sync())
			must(t, fs.SyncDir("/n/m"))
			must(t, fs.SyncDir("/n"))
		}, map[string]string{"/a": "A", "/d/": ""}},
		{"new dir synced all the way up", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.MkdirAll("/n/m", 0o755))
			must(t, create(t, fs, "/n/m/f", "F").Sync())
			must(t, fs.SyncDir("/n/m"))
			must(t, fs.SyncDir("/n"))
			must(t, fs.SyncDir("/"))
		}, map[string]string{"/a": "A", "/d/": "", "/n/": "", "/n/m/": "", "/n/m/f": "F"}},
		{"directory handle Sync syncs entries", func(t *testing.T, fs *memfs.FS) {
			must(t, fs.Rename("/a", "/b"))
			d, err := fs.Open("/")
			must(t, err)
			must(t, d.Sync())
		}, map[string]string{"/b": "A", "/d/": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := memfs.New()
			setup(t, fs)
			tt.run(t, fs)
			if got := snapshot(t, fs.Crash(nil, 0)); !maps.Equal(got, tt.want) {
				t.Fatalf("after crash: %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCrashTornTail(t *testing.T) {
	const seeds = 300
	tail := make([]byte, 100)
	for i := range tail {
		tail[i] = byte('a' + i%26)
	}
	tests := []struct {
		name    string
		keep    float64
		maxKept int // at most this many tail bytes may survive
		minSeen int // and at least this many distinct lengths must show up
	}{
		{"keep nothing", 0, 0, 1},
		{"keep up to half", 0.5, 50, 20},
		{"keep up to all", 1, 100, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[int]bool{}
			for seed := range uint64(seeds) {
				fs := memfs.New()
				f := durableFile(t, fs, "synced:")
				_, err := f.Write(tail)
				must(t, err)
				got := read(t, fs.Crash(rand.New(rand.NewPCG(seed, 0)), tt.keep), "/d/f")
				kept, ok := bytes.CutPrefix(got, []byte("synced:"))
				if !ok || !bytes.HasPrefix(tail, kept) {
					t.Fatalf("seed %d: survivor %q is not the synced part plus a prefix of the tail", seed, got)
				}
				if len(kept) > tt.maxKept {
					t.Fatalf("seed %d: %d tail bytes survived, want <= %d", seed, len(kept), tt.maxKept)
				}
				seen[len(kept)] = true
			}
			// Without this, a crash that always kept zero bytes would pass.
			if len(seen) < tt.minSeen {
				t.Fatalf("only %d distinct tail lengths over %d seeds, want >= %d", len(seen), seeds, tt.minSeen)
			}
		})
	}
}

func TestCrashTornOverwrite(t *testing.T) {
	// An overwrite tears too: a prefix of the new bytes over the old ones,
	// never a byte from neither and never a longer file.
	seen := map[string]bool{}
	for seed := range uint64(200) {
		fs := memfs.New()
		f := durableFile(t, fs, "aaaaaaaa")
		_, err := f.WriteAt([]byte("bbbb"), 2)
		must(t, err)
		got := string(read(t, fs.Crash(rand.New(rand.NewPCG(seed, 0)), 1), "/d/f"))
		b := strings.Count(got, "b")
		if want := "aa" + strings.Repeat("b", b) + strings.Repeat("a", 6-b); got != want || b > 4 {
			t.Fatalf("seed %d: survivor %q, want aa, up to 4 b, then a, 8 bytes", seed, got)
		}
		seen[got] = true
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d of the 5 possible torn overwrites: %v", len(seen), seen)
	}
}

func TestCrashIsDeterministic(t *testing.T) {
	build := func() *memfs.FS {
		fs := memfs.New()
		must(t, fs.MkdirAll("/d", 0o755))
		must(t, fs.SyncDir("/"))
		for i := range 20 {
			f := create(t, fs, fmt.Sprintf("/d/%02d", i), "synced")
			must(t, f.Sync())
			_, err := f.Write(bytes.Repeat([]byte{byte('A' + i)}, 50))
			must(t, err)
		}
		must(t, fs.SyncDir("/d"))
		return fs
	}
	crash := func(seed uint64) map[string]string {
		return snapshot(t, build().Crash(rand.New(rand.NewPCG(seed, 0)), 1))
	}
	first := crash(7)
	for range 5 {
		if again := crash(7); !maps.Equal(first, again) {
			t.Fatalf("same seed, different crash:\n%q\n%q", first, again)
		}
	}
	if other := crash(8); maps.Equal(first, other) {
		t.Fatal("seeds 7 and 8 crashed identically: the rng is not used")
	}
}

func TestCrashFencesOldFS(t *testing.T) {
	old := memfs.New()
	f := durableFile(t, old, "abc")
	// A survivor of the crash must not see what the old FS does later,
	// and vice versa: they share no memory.
	after := old.Crash(nil, 0)

	buf := make([]byte, 3)
	tests := []struct {
		name string
		op   func() error
	}{
		{"Create", func() error { _, err := old.Create("/x"); return err }},
		{"Open", func() error { _, err := old.Open("/d/f"); return err }},
		{"OpenReadWrite", func() error { _, err := old.OpenReadWrite("/d/f"); return err }},
		{"Remove", func() error { return old.Remove("/d/f") }},
		{"RemoveAll", func() error { return old.RemoveAll("/d") }},
		{"Rename", func() error { return old.Rename("/d/f", "/d/g") }},
		{"MkdirAll", func() error { return old.MkdirAll("/e", 0o755) }},
		{"List", func() error { _, err := old.List("/d"); return err }},
		{"Stat", func() error { _, err := old.Stat("/d/f"); return err }},
		{"SyncDir", func() error { return old.SyncDir("/d") }},
		{"File.Read", func() error { _, err := f.Read(buf); return err }},
		{"File.ReadAt", func() error { _, err := f.ReadAt(buf, 0); return err }},
		{"File.Write", func() error { _, err := f.Write(buf); return err }},
		{"File.WriteAt", func() error { _, err := f.WriteAt(buf, 0); return err }},
		{"File.Seek", func() error { _, err := f.Seek(0, io.SeekStart); return err }},
		{"File.Sync", f.Sync},
		{"File.Truncate", func() error { return f.Truncate(0) }},
		{"File.Stat", func() error { _, err := f.Stat(); return err }},
		{"File.Close", f.Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, memfs.ErrCrashed) {
				t.Fatalf("err = %v, want ErrCrashed", err)
			}
		})
	}
	want := map[string]string{"/d/": "", "/d/f": "abc"}
	if got := snapshot(t, after); !maps.Equal(got, want) {
		t.Fatalf("new FS after the old one was poked: %q, want %q", got, want)
	}
	// The new FS works and can crash in turn.
	g, err := after.OpenReadWrite("/d/f")
	must(t, err)
	_, err = g.WriteAt([]byte("XYZW"), 0)
	must(t, err)
	if got := read(t, after.Crash(nil, 0), "/d/f"); string(got) != "abc" {
		t.Fatalf("second crash kept %q, want the synced %q", got, "abc")
	}
}

func TestCrashCloneLeavesOriginalWorking(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "abc")
	clone := fs.CrashClone(nil, 0)
	_, err := f.Write([]byte("def"))
	must(t, err)
	if got := read(t, fs, "/d/f"); string(got) != "abcdef" {
		t.Fatalf("original holds %q after CrashClone, want abcdef", got)
	}
	if got := read(t, clone, "/d/f"); string(got) != "abc" {
		t.Fatalf("clone holds %q, want abc: it must not share the original's memory", got)
	}
}

func TestCrashArgumentsChecked(t *testing.T) {
	tests := []struct {
		name string
		rng  *rand.Rand
		keep float64
	}{
		{"negative fraction", nil, -0.1},
		{"fraction above 1", rand.New(rand.NewPCG(1, 1)), 1.5},
		{"NaN fraction", rand.New(rand.NewPCG(1, 1)), math.NaN()},
		{"nil rng with a fraction", nil, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("Crash did not panic")
				}
			}()
			memfs.New().Crash(tt.rng, tt.keep)
		})
	}
	t.Run("crash twice", func(t *testing.T) {
		fs := memfs.New()
		fs.Crash(nil, 0)
		defer func() {
			if recover() == nil {
				t.Fatal("second Crash of the same FS did not panic")
			}
		}()
		fs.Crash(nil, 0)
	})
}

// injector fails the operations in fail and records every call.
type injector struct {
	mu    sync.Mutex
	fail  map[memfs.Op]bool
	calls []string
}

var errInjected = errors.New("injected")

func (i *injector) MaybeError(op memfs.Op, path string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.calls = append(i.calls, op.String()+" "+path)
	if i.fail[op] {
		return errInjected
	}
	return nil
}

func TestInjector(t *testing.T) {
	tests := []struct {
		op   memfs.Op
		run  func(fs *memfs.FS, f env.File) error
		path string // what the Injector must be told
	}{
		{memfs.OpCreate, func(fs *memfs.FS, _ env.File) error { _, err := fs.Create("d/new"); return err }, "/d/new"},
		{memfs.OpOpen, func(fs *memfs.FS, _ env.File) error { _, err := fs.Open("/d/./f"); return err }, "/d/f"},
		{memfs.OpOpenReadWrite, func(fs *memfs.FS, _ env.File) error { _, err := fs.OpenReadWrite("/d/f"); return err }, "/d/f"},
		{memfs.OpRemove, func(fs *memfs.FS, _ env.File) error { return fs.Remove("/d/f") }, "/d/f"},
		{memfs.OpRemoveAll, func(fs *memfs.FS, _ env.File) error { return fs.RemoveAll("/d") }, "/d"},
		{memfs.OpRename, func(fs *memfs.FS, _ env.File) error { return fs.Rename("/d/f", "/d/g") }, "/d/f"},
		{memfs.OpMkdirAll, func(fs *memfs.FS, _ env.File) error { return fs.MkdirAll("/e/f", 0o755) }, "/e/f"},
		{memfs.OpList, func(fs *memfs.FS, _ env.File) error { _, err := fs.List("/d/"); return err }, "/d"},
		{memfs.OpStat, func(fs *memfs.FS, _ env.File) error { _, err := fs.Stat("/d/f"); return err }, "/d/f"},
		{memfs.OpSyncDir, func(fs *memfs.FS, _ env.File) error { return fs.SyncDir("/d") }, "/d"},
		{memfs.OpRead, func(_ *memfs.FS, f env.File) error { _, err := f.Read(make([]byte, 1)); return err }, "/d/f"},
		{memfs.OpReadAt, func(_ *memfs.FS, f env.File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }, "/d/f"},
		{memfs.OpWrite, func(_ *memfs.FS, f env.File) error { _, err := f.Write([]byte("X")); return err }, "/d/f"},
		{memfs.OpWriteAt, func(_ *memfs.FS, f env.File) error { _, err := f.WriteAt([]byte("X"), 9); return err }, "/d/f"},
		{memfs.OpSync, func(_ *memfs.FS, f env.File) error { return f.Sync() }, "/d/f"},
		{memfs.OpTruncate, func(_ *memfs.FS, f env.File) error { return f.Truncate(0) }, "/d/f"},
		{memfs.OpFileStat, func(_ *memfs.FS, f env.File) error { _, err := f.Stat(); return err }, "/d/f"},
	}
	for _, tt := range tests {
		t.Run(tt.op.String(), func(t *testing.T) {
			fs := memfs.New()
			must(t, fs.MkdirAll("/d", 0o755))
			f := create(t, fs, "/d/f", "data")
			_, err := f.Seek(0, io.SeekStart)
			must(t, err)
			before := snapshot(t, fs)

			inj := &injector{fail: map[memfs.Op]bool{tt.op: true}}
			fs.SetInjector(inj)
			if err := tt.run(fs, f); !errors.Is(err, errInjected) {
				t.Fatalf("err = %v, want the injected error", err)
			}
			if len(inj.calls) != 1 || inj.calls[0] != tt.op.String()+" "+tt.path {
				t.Fatalf("injector saw %q, want [%q]", inj.calls, tt.op.String()+" "+tt.path)
			}
			fs.SetInjector(nil)
			// An injected error means no effect: the tree, the file and
			// the handle's offset are as before.
			if got := snapshot(t, fs); !maps.Equal(got, before) {
				t.Fatalf("failed %v changed the FS: %q, want %q", tt.op, got, before)
			}
			buf := make([]byte, 2)
			if n, err := f.Read(buf); string(buf[:n]) != "da" {
				t.Fatalf("failed %v moved the offset: Read = %q, %v", tt.op, buf[:n], err)
			}
		})
	}
}

func TestFailedSyncLeavesDataUnsynced(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "old")
	_, err := f.Write([]byte("new"))
	must(t, err)
	fs.SetInjector(&injector{fail: map[memfs.Op]bool{memfs.OpSync: true}})
	if err := f.Sync(); !errors.Is(err, errInjected) {
		t.Fatalf("Sync = %v, want the injected error", err)
	}
	if got := read(t, fs.Crash(nil, 0), "/d/f"); string(got) != "old" {
		t.Fatalf("after a failed Sync and a crash the file holds %q, want old", got)
	}
}

func TestPathsAreCleaned(t *testing.T) {
	fs := memfs.New()
	must(t, fs.MkdirAll("a/b", 0o755))
	create(t, fs, "/a/b/f", "x")
	// memfs has no working directory: a relative name starts at the root,
	// and ".." cannot climb above it.
	for _, name := range []string{"a/b/f", "/a/b/f", "./a/b/f", "../a/b/f", "/../a//b/./f", "a/b/../b/f"} {
		if got := read(t, fs, name); string(got) != "x" {
			t.Errorf("%q reads %q, want x", name, got)
		}
	}
	if names, err := fs.List("."); err != nil || len(names) != 1 || names[0] != "a" {
		t.Errorf("List(.) = %q, %v; want [a]", names, err)
	}
	fi, err := fs.Stat("/")
	if err != nil || !fi.IsDir() {
		t.Errorf("Stat(/) = %v, %v; want a directory", fi, err)
	}
	if _, err := fs.Stat(""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(\"\") = %v, want os.ErrNotExist as on the OS", err)
	}
	for name, op := range map[string]func() error{
		"Remove":    func() error { return fs.Remove("/") },
		"RemoveAll": func() error { return fs.RemoveAll("/") },
		"Create":    func() error { _, err := fs.Create("/"); return err },
	} {
		if err := op(); err == nil {
			t.Errorf("%s of the root succeeded", name)
		}
	}
}

func TestMaxFileSize(t *testing.T) {
	fs := memfs.New()
	f := create(t, fs, "/f", "")
	if _, err := f.WriteAt([]byte("x"), memfs.MaxFileSize); err == nil {
		t.Error("WriteAt past MaxFileSize succeeded")
	}
	if err := f.Truncate(memfs.MaxFileSize + 1); err == nil {
		t.Error("Truncate past MaxFileSize succeeded")
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != 0 {
		t.Errorf("after refused growth Stat = %v, %v; want size 0", fi, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	// Run with -race: every goroutine writes and syncs its own file and
	// appends to a shared one while another crash-clones.
	const writers, chunks = 8, 100
	fs := memfs.New()
	must(t, fs.MkdirAll("/d", 0o755))
	shared := create(t, fs, "/d/shared", "")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			f, err := fs.Create(fmt.Sprintf("/d/%d", w))
			if err != nil {
				t.Error(err)
				return
			}
			for range chunks {
				if _, err := f.Write([]byte("0123456789")); err != nil {
					t.Error(err)
					return
				}
				if _, err := shared.Write([]byte{byte(w)}); err != nil {
					t.Error(err)
					return
				}
				if err := f.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			fs.CrashClone(rand.New(rand.NewPCG(1, 2)), 0.5)
			if err := fs.SyncDir("/d"); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	for w := range writers {
		fi, err := fs.Stat(fmt.Sprintf("/d/%d", w))
		if err != nil || fi.Size() != 10*chunks {
			t.Errorf("file %d: Stat = %v, %v; want size %d", w, fi, err, 10*chunks)
		}
	}
	if fi, err := shared.Stat(); err != nil || fi.Size() != writers*chunks {
		t.Errorf("shared: Stat = %v, %v; want size %d: concurrent Writes were lost", fi, err, writers*chunks)
	}
}
