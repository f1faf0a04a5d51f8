package env_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// A second lock of the same name is refused until the first is released,
// on the real FS and on memfs; a crashed memfs disk comes back unlocked.
func TestLock(t *testing.T) {
	for name, fs := range map[string]env.FS{"osfs": env.OSFS{}, "memfs": memfs.New()} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := fs.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, ".lock")
			unlock, err := env.Lock(fs, path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Lock(fs, path); !errors.Is(err, env.ErrLocked) {
				t.Fatalf("second lock: got %v, want ErrLocked", err)
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			unlock, err = env.Lock(fs, path)
			if err != nil {
				t.Fatalf("lock after unlock: %v", err)
			}
			defer unlock()
		})
	}
	t.Run("memfs crash", func(t *testing.T) {
		fs := memfs.New()
		if _, err := env.Lock(fs, "d/.lock"); err != nil {
			t.Fatal(err)
		}
		rebooted := fs.Crash(nil, 0)
		unlock, err := env.Lock(rebooted, "d/.lock")
		if err != nil {
			t.Fatalf("lock on the disk after a crash: %v", err)
		}
		unlock()
	})
}
