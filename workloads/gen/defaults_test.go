package gen

import (
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	n, d, s := 0, 3*time.Second, "set"
	Default(&n, 4)
	Default(&d, time.Minute)
	Default(&s, "default")
	if n != 4 || d != 3*time.Second || s != "set" {
		t.Errorf("Default: %d %v %q, want 4 (zero took the default), 3s and set (kept)", n, d, s)
	}
}
