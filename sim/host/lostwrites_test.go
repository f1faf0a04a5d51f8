package host

import (
	"os"
	"path/filepath"
	"testing"
)

// A sweep counts the lost writes a run's configuration allows (the
// documented losses), from its verdict.json, and only those.
func TestAllowedLostWrites(t *testing.T) {
	for _, tc := range []struct {
		name, verdict string
		want          int
	}{
		{"allowed", `{"details":{"counts":{"lost-write":7,"unseen":2},"allowed":["inconsistent-offsets","lost-write"]}}`, 7},
		{"not allowed", `{"details":{"counts":{"lost-write":7},"allowed":["int-send-skip"]}}`, 0},
		{"none lost", `{"details":{"counts":{},"allowed":["lost-write"]}}`, 0},
		{"unreadable", `{`, 0},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "verdict.json"), []byte(tc.verdict), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := allowedLostWrites(Result{OutDir: dir}); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if got := allowedLostWrites(Result{OutDir: t.TempDir()}); got != 0 {
		t.Errorf("no verdict.json: %d", got)
	}
}
