package metadata

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeBatch: any bytes either decode to records that encode back to
// the same bytes, or fail with ErrCorrupt; never a panic.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(EncodeBatch(nil, sampleRecords()))
	f.Add(EncodeBatch(nil, nil))
	f.Add([]byte{batchFormat, 1, byte(TypeTopic), 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		records, err := DecodeBatch(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error is not ErrCorrupt: %v", err)
			}
			return
		}
		if again := EncodeBatch(nil, records); !bytes.Equal(again, b) {
			// Varints have one shortest form; the decoder accepts
			// longer ones, so compare by decoding again.
			back, err := DecodeBatch(again)
			if err != nil || len(back) != len(records) {
				t.Fatalf("re-encoding does not decode: %v", err)
			}
		}
	})
}

// FuzzDecodeSnapshot: any bytes either rebuild an image whose snapshot
// decodes to the same snapshot bytes, or fail cleanly.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(EncodeSnapshot(nil, sampleImage(f)))
	f.Add(EncodeSnapshot(nil, Empty(nil)))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := DecodeSnapshot(b, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrApply) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		enc := EncodeSnapshot(nil, img)
		img2, err := DecodeSnapshot(enc, nil)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		if !bytes.Equal(EncodeSnapshot(nil, img2), enc) {
			t.Fatal("snapshot encoding is not stable")
		}
	})
}
