package fstest_test

import (
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/fstest"
	"github.com/weir-dev/weir/env/memfs"
)

func TestOSFS(t *testing.T) {
	fstest.Run(t, func(t *testing.T) (env.FS, string) { return env.OSFS{}, t.TempDir() })
}

func TestMemFS(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"absolute", "/data/weir"},
		{"root", "/"},
		// memfs has no working directory; relative names start at the root.
		{"relative", "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fstest.Run(t, func(t *testing.T) (env.FS, string) {
				fs := memfs.New()
				if err := fs.MkdirAll(tt.dir, 0o755); err != nil {
					t.Fatal(err)
				}
				return fs, tt.dir
			})
		})
	}
}
