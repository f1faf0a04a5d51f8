package env_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

func TestWriteFileAtomicSurvivesCrash(t *testing.T) {
	fs := memfs.New()
	if err := fs.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fs.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("/d", "meta")
	if err := env.WriteFileAtomic(fs, path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A crash right after the call keeps the new content whole.
	crashed := fs.Crash(rand.New(rand.NewPCG(1, 2)), 1)
	f, err := crashed.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	n, _ := f.Read(got)
	if string(got[:n]) != "old" {
		t.Fatalf("after crash: %q", got[:n])
	}
	// The temporary file does not outlive the rename.
	if _, err := crashed.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temp file after crash: %v", err)
	}
}
