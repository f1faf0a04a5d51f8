package env_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/env/memfs"
)

// TestReadFileVerified: reads are repeated while verify refuses them, up to
// the number of attempts; a file too long is cut at limit+1 bytes; a
// missing file is os.ErrNotExist without calling verify.
func TestReadFileVerified(t *testing.T) {
	want := []byte("the stored bytes, checked by the caller")
	fs := memfs.New()
	if err := env.WriteFileSync(fs, "/f", want); err != nil {
		t.Fatal(err)
	}
	verify := func(b []byte) error {
		if !bytes.Equal(b, want) {
			return errors.New("checksum mismatch")
		}
		return nil
	}

	for _, tc := range []struct {
		flips, attempts int
		ok              bool
	}{
		{0, 1, true},
		{2, 3, true},  // two bad reads, the third is right
		{3, 3, false}, // every read is bad
	} {
		fs.SetInjector(&memfs.FlipReads{N: tc.flips})
		var got []byte
		err := env.ReadFileVerified(fs, "/f", 1<<10, tc.attempts, func(b []byte) error {
			got = b
			return verify(b)
		})
		if tc.ok && (err != nil || !bytes.Equal(got, want)) {
			t.Errorf("%d flips, %d attempts: %q, %v; want the stored bytes", tc.flips, tc.attempts, got, err)
		}
		if !tc.ok && (err == nil || err.Error() != "checksum mismatch") {
			t.Errorf("%d flips, %d attempts: err %v, want verify's error", tc.flips, tc.attempts, err)
		}
	}
	fs.SetInjector(nil)

	var seen int
	if err := env.ReadFileVerified(fs, "/f", 5, 1, func(b []byte) error { seen = len(b); return nil }); err != nil || seen != 6 {
		t.Errorf("limit 5: verify saw %d bytes (err %v), want 6", seen, err)
	}
	called := false
	if err := env.ReadFileVerified(fs, "/missing", 10, 3, func([]byte) error { called = true; return nil }); !errors.Is(err, os.ErrNotExist) || called {
		t.Errorf("missing file: err %v, verify called %v; want os.ErrNotExist and no call", err, called)
	}
}
