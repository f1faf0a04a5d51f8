package env_test

import (
	"errors"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

type recordingFile struct {
	env.File
	calls [][2]int64
}

func (f *recordingFile) DropCache(off, n int64) error {
	f.calls = append(f.calls, [2]int64{off, n})
	return nil
}

// TestDropCacheDispatch: a File with its own DropCache gets the call (empty
// ranges are skipped), and one without (memfs) is left alone; memfs cannot
// preallocate and says so.
func TestDropCacheDispatch(t *testing.T) {
	rf := &recordingFile{}
	if err := env.DropCache(rf, 10, 0); err != nil {
		t.Fatal(err)
	}
	if err := env.DropCache(rf, 10, 20); err != nil {
		t.Fatal(err)
	}
	if len(rf.calls) != 1 || rf.calls[0] != [2]int64{10, 20} {
		t.Fatalf("calls %v, want one of [10 20]", rf.calls)
	}
	fs := memfs.New()
	f, err := fs.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := env.DropCache(f, 0, 100); err != nil {
		t.Fatalf("memfs: %v", err)
	}
	if err := env.Preallocate(f, 0, 100); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("memfs Preallocate: %v, want ErrUnsupported so callers stop asking", err)
	}
}
