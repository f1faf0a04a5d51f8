package group

import (
	"math"
	"unicode"
	"unicode/utf16"
)

// PartitionFor is the __consumer_offsets partition that holds a group, by
// Kafka's rule: abs(groupId.hashCode()) % numPartitions, with Java's
// String.hashCode over UTF-16 code units and Kafka's Utils.abs (which maps
// MinInt32 to 0), so a group lives in the partition Kafka would put it in.
func PartitionFor(groupID string, numPartitions int32) int32 {
	if numPartitions <= 0 {
		return 0
	}
	return javaAbs(javaHashCode(groupID)) % numPartitions
}

func javaHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar || r2 != unicode.ReplacementChar {
			h = 31*h + int32(r1)
			h = 31*h + int32(r2)
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

func javaAbs(n int32) int32 {
	if n == math.MinInt32 {
		return 0
	}
	if n < 0 {
		return -n
	}
	return n
}
