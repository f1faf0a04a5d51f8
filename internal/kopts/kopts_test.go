package kopts

import "testing"

func TestCompression(t *testing.T) {
	for _, name := range append([]string{"", "ZSTD"}, CompressionNames...) {
		if _, err := Compression(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	if _, err := Compression("brotli"); err == nil {
		t.Error("brotli accepted")
	}
}
