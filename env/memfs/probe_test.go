package memfs_test

import (
	"errors"
	"os"
	"testing"

	"github.com/weir-dev/weir/env/memfs"
)

func TestSynced(t *testing.T) {
	synced := func(t *testing.T, fs *memfs.FS, name string, off, n int64) bool {
		t.Helper()
		ok, err := fs.Synced(name, off, n)
		must(t, err)
		return ok
	}
	t.Run("appended bytes become synced with Sync", func(t *testing.T) {
		fs := memfs.New()
		f := durableFile(t, fs, "old")
		_, err := f.Write([]byte("new"))
		must(t, err)
		if !synced(t, fs, "/d/f", 0, 3) || synced(t, fs, "/d/f", 0, 4) || synced(t, fs, "/d/f", 3, 3) {
			t.Fatal("before Sync: want [0,3) synced and nothing past it")
		}
		must(t, f.Sync())
		if !synced(t, fs, "/d/f", 0, 6) || synced(t, fs, "/d/f", 0, 7) {
			t.Fatal("after Sync: want exactly [0,6) synced")
		}
	})
	t.Run("an overwrite is unsynced until Sync", func(t *testing.T) {
		fs := memfs.New()
		f := durableFile(t, fs, "abcdef")
		_, err := f.WriteAt([]byte("X"), 2)
		must(t, err)
		if !synced(t, fs, "/d/f", 0, 2) || synced(t, fs, "/d/f", 2, 1) || !synced(t, fs, "/d/f", 3, 3) {
			t.Fatal("want the overwritten byte unsynced and its neighbours synced")
		}
	})
	t.Run("a file whose name is not durable is not synced", func(t *testing.T) {
		fs := memfs.New()
		must(t, fs.MkdirAll("/d", 0o755))
		must(t, fs.SyncDir("/"))
		f := create(t, fs, "/d/f", "data")
		must(t, f.Sync())
		if synced(t, fs, "/d/f", 0, 4) {
			t.Fatal("synced contents under an unsynced name count as durable")
		}
		must(t, fs.SyncDir("/d"))
		if !synced(t, fs, "/d/f", 0, 4) {
			t.Fatal("want synced after SyncDir")
		}
		// A rename not yet synced: the new name is not durable.
		must(t, fs.Rename("/d/f", "/d/g"))
		if synced(t, fs, "/d/g", 0, 4) {
			t.Fatal("the unsynced new name counts as durable")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		fs := memfs.New()
		if _, err := fs.Synced("/nope", 0, 1); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want ErrNotExist", err)
		}
	})
	t.Run("after a crash everything found is synced", func(t *testing.T) {
		fs := memfs.New()
		f := durableFile(t, fs, "old")
		_, err := f.Write([]byte("new"))
		must(t, err)
		after := fs.Crash(nil, 0)
		if _, err := fs.Synced("/d/f", 0, 1); !errors.Is(err, memfs.ErrCrashed) {
			t.Fatalf("old FS: err = %v, want ErrCrashed", err)
		}
		if !synced(t, after, "/d/f", 0, 3) {
			t.Fatal("what survived a crash is durable")
		}
	})
}
