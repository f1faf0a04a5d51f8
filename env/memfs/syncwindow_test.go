package memfs_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// slowSyncs holds every sync inside the Injector until release is closed, as
// the simulator's slow disk does; started receives each sync's path when it
// is in flight.
type slowSyncs struct {
	started chan string
	release chan struct{}
	fail    error
}

func newSlowSyncs() *slowSyncs {
	return &slowSyncs{started: make(chan string, 16), release: make(chan struct{})}
}

func (s *slowSyncs) MaybeError(op memfs.Op, path string) error {
	if op != memfs.OpSync && op != memfs.OpSyncDir {
		return nil
	}
	s.started <- path
	<-s.release
	return s.fail
}

// inFlight runs sync in a goroutine, waits until it is inside the Injector,
// and returns a function that releases it and returns its error.
func inFlight(t *testing.T, inj *slowSyncs, sync func() error) (finish func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- sync() }()
	<-inj.started
	return func() error {
		close(inj.release)
		return <-done
	}
}

// The heart of the fix: bytes written while an fsync is in flight are not
// made durable by it.
func TestSyncCoversOnlyWhatWasWrittenBeforeIt(t *testing.T) {
	tests := []struct {
		name   string
		during func(t *testing.T, f env.File)
		want   string // after the sync completes and a crash keeps nothing unsynced
	}{
		{"append", func(t *testing.T, f env.File) {
			_, err := f.Write([]byte("-late"))
			must(t, err)
		}, "old+new"},
		{"overwrite of covered bytes", func(t *testing.T, f env.File) {
			_, err := f.WriteAt([]byte("XXX"), 4)
			must(t, err)
		}, "old+new"},
		{"truncate", func(t *testing.T, f env.File) { must(t, f.Truncate(2)) }, "old+new"},
		{"truncate and grow again", func(t *testing.T, f env.File) {
			must(t, f.Truncate(2))
			_, err := f.WriteAt([]byte("ZZZZZZZZZZ"), 2)
			must(t, err)
		}, "old+new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := memfs.New()
			f := durableFile(t, fs, "old")
			_, err := f.Write([]byte("+new"))
			must(t, err)
			inj := newSlowSyncs()
			fs.SetInjector(inj)
			finish := inFlight(t, inj, f.Sync)
			tt.during(t, f)
			must(t, finish())
			fs.SetInjector(nil)
			if got := read(t, fs.CrashClone(nil, 0), "/d/f"); string(got) != tt.want {
				t.Fatalf("after the sync and a crash the file holds %q, want %q", got, tt.want)
			}
		})
	}
}

// A crash while an fsync is in flight: the sync did not complete, its data
// is unsynced, and the torn-tail rule decides what survives; the sync
// itself fails with ErrCrashed.
func TestCrashDuringSync(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "old")
	_, err := f.Write([]byte("+new"))
	must(t, err)
	inj := newSlowSyncs()
	fs.SetInjector(inj)
	finish := inFlight(t, inj, f.Sync)
	after := fs.Crash(nil, 0)
	if err := finish(); !errors.Is(err, memfs.ErrCrashed) {
		t.Fatalf("the interrupted Sync returned %v, want ErrCrashed", err)
	}
	if got := read(t, after, "/d/f"); string(got) != "old" {
		t.Fatalf("after a crash inside the sync the file holds %q, want old", got)
	}
}

func TestFailedSlowSyncLeavesDataUnsynced(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "old")
	_, err := f.Write([]byte("+new"))
	must(t, err)
	inj := newSlowSyncs()
	inj.fail = errInjected
	fs.SetInjector(inj)
	finish := inFlight(t, inj, f.Sync)
	if err := finish(); !errors.Is(err, errInjected) {
		t.Fatalf("Sync = %v, want the injected error", err)
	}
	fs.SetInjector(nil)
	if got := read(t, fs.CrashClone(nil, 0), "/d/f"); string(got) != "old" {
		t.Fatalf("the file holds %q after a failed sync and a crash, want old", got)
	}
}

func TestSyncDirCoversOnlyEntriesBeforeIt(t *testing.T) {
	fs := memfs.New()
	must(t, fs.MkdirAll("/d", 0o755))
	must(t, fs.SyncDir("/"))
	must(t, create(t, fs, "/d/early", "E").Sync())
	inj := newSlowSyncs()
	fs.SetInjector(inj)
	finish := inFlight(t, inj, func() error { return fs.SyncDir("/d") })
	fs.SetInjector(nil) // the create below must not wait
	f, err := fs.Create("/d/late")
	must(t, err)
	must(t, f.Sync())
	fs.SetInjector(inj)
	must(t, finish())
	after := fs.CrashClone(nil, 0)
	names, err := after.List("/d")
	must(t, err)
	if len(names) != 1 || names[0] != "early" {
		t.Fatalf("after the SyncDir and a crash /d holds %q, want [early]", names)
	}
}

// Two syncs in flight: the one that began later wins even when the earlier
// one completes last, so durable state never goes back.
func TestOverlappingSyncsNeverGoBack(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "a")
	_, err := f.Write([]byte("b"))
	must(t, err)
	first := newSlowSyncs()
	fs.SetInjector(first)
	finishFirst := inFlight(t, first, f.Sync)
	_, err = f.Write([]byte("c"))
	must(t, err)
	fs.SetInjector(nil)
	must(t, f.Sync()) // covers "abc"
	must(t, finishFirst())
	if got := read(t, fs.CrashClone(nil, 0), "/d/f"); string(got) != "abc" {
		t.Fatalf("the file holds %q, want abc: the older sync undid the newer one", got)
	}
}

// Run with -race: syncs in flight while other goroutines write and crash-
// clone the same file.
func TestSlowSyncsConcurrent(t *testing.T) {
	fs := memfs.New()
	f := durableFile(t, fs, "")
	var mu sync.Mutex
	var wg sync.WaitGroup
	fs.SetInjector(delayAll{})
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				mu.Lock()
				_, err := f.Write([]byte{byte('a' + w), byte(i)})
				mu.Unlock()
				must(t, err)
				must(t, f.Sync())
			}
		})
	}
	wg.Wait()
	fs.SetInjector(nil)
	fi, err := f.Stat()
	must(t, err)
	if got := read(t, fs.CrashClone(nil, 0), "/d/f"); int64(len(got)) != fi.Size() {
		t.Fatalf("after the last sync a crash keeps %d bytes, want %d", len(got), fi.Size())
	}
}

// delayAll yields the processor inside every sync, so that others run
// while it is in flight.
type delayAll struct{}

func (delayAll) MaybeError(op memfs.Op, _ string) error {
	if op == memfs.OpSync {
		var wg sync.WaitGroup
		wg.Go(func() {})
		wg.Wait()
	}
	return nil
}
