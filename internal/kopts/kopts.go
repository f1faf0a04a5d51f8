// Package kopts holds the franz-go client settings that several Weir tools
// parse from the same words (the CLI, the benchmark driver, the load
// generator), so they all accept the same names.
package kopts

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CompressionNames are the codec names Compression accepts, as Kafka's
// compression.type spells them.
var CompressionNames = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Compression returns the codec Kafka calls name (case-insensitive; ""
// means none).
func Compression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q (one of %s)", name, strings.Join(CompressionNames, ", "))
}
