package broker

import (
	"bytes"
	"testing"
)

func TestIdentityRoundTrip(t *testing.T) {
	for _, id := range []identity{{NodeID: 1}, {NodeID: 7, ClusterID: "Y7OCC8_abWPLDABUx4uvdQ"}} {
		got, err := decodeIdentity(encodeIdentity(id))
		if err != nil || got != id {
			t.Errorf("%+v read back as %+v, %v", id, got, err)
		}
	}
}

// A flipped bit is an error, never another node id.
func TestIdentityRefusesAnyFlip(t *testing.T) {
	data := encodeIdentity(identity{NodeID: 3, ClusterID: "abc"})
	for i := range len(data) * 8 {
		flipped := bytes.Clone(data)
		flipped[i/8] ^= 1 << (i % 8)
		if got, err := decodeIdentity(flipped); err == nil && got != (identity{NodeID: 3, ClusterID: "abc"}) {
			t.Fatalf("flipping bit %d read as %+v", i, got)
		}
	}
}

// FuzzDecodeIdentity: meta.properties is read from disk; any bytes give an
// identity or an error, never a panic.
func FuzzDecodeIdentity(f *testing.F) {
	f.Add(encodeIdentity(identity{NodeID: 1, ClusterID: "x"}))
	f.Add([]byte("node.id=1\ncrc32c=00000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeIdentity(data)
		if err == nil && id.NodeID < 0 {
			t.Fatalf("negative node id %d accepted", id.NodeID)
		}
	})
}
