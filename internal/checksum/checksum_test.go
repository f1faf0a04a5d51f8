package checksum

import (
	"bytes"
	"testing"
)

// TestAppendSplit: Split gives back what Append sealed, from the given
// offset on, and refuses every single-bit flip and every truncation.
func TestAppendSplit(t *testing.T) {
	sealed := Append([]byte("headerproducer state"), 6)
	body, _, _, ok := Split(sealed[6:])
	if !ok || !bytes.Equal(body, []byte("producer state")) {
		t.Fatalf("Split of what Append sealed: %q, %v", body, ok)
	}
	whole := sealed[6:]
	for i := range whole {
		for bit := range 8 {
			b := bytes.Clone(whole)
			b[i] ^= 1 << bit
			if _, _, _, ok := Split(b); ok {
				t.Fatalf("flip of bit %d of byte %d accepted", bit, i)
			}
		}
	}
	for n := range whole {
		if _, _, _, ok := Split(whole[:n]); ok {
			t.Fatalf("truncation to %d bytes accepted", n)
		}
	}
}
