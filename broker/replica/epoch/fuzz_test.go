package epoch

import (
	"bytes"
	"testing"
)

// FuzzDecodeCheckpoint: the checkpoint decoder never panics, and what it
// accepts is exactly the canonical encoding of strictly increasing entries,
// so a file it reads back is one Weir could have written.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n3\n0 0\n2 4\n5 8\n"))
	f.Add([]byte("0\n1\n2147483647 9223372036854775807\n"))
	f.Add([]byte("0\n2\n1 1\n1 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeCheckpoint(b)
		if err != nil {
			return
		}
		if _, err := New(entries); err != nil {
			t.Fatalf("accepted entries New refuses: %v", err)
		}
		if again := appendCheckpoint(nil, entries); !bytes.Equal(again, b) {
			t.Fatalf("accepted %q, which encodes back as %q", b, again)
		}
	})
}
