package log

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/record/recordtest"
	"github.com/weir-dev/weir/env"
)

// TestPropertyCompaction runs random sequences of keyed appends (values,
// tombstones, records without a key, every codec), syncs, cleaning passes
// up to random high watermarks and with random map bounds, start offset
// moves, retention, clock moves, reopens and crashes, and checks after each
// step that the log read back is exactly the model "every keyless record,
// the last record of each key below the cleaner's checkpoint (a tombstone
// possibly gone), and every record from the checkpoint on", from the start
// offset, in strictly increasing offsets (checkExact).
func TestPropertyCompaction(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		rapid.Check(t, func(rt *rapid.T) {
			fs, dir := k.newDir(t)
			cfg := Config{
				SegmentBytes:       rapid.SampledFrom([]int64{250, 600, 2000}).Draw(rt, "segmentBytes"),
				IndexIntervalBytes: rapid.SampledFrom([]int{0, 100}).Draw(rt, "indexIntervalBytes"),
				CleanShutdown:      rapid.Bool().Draw(rt, "cleanShutdown"),
			}
			clock := env.NewManualClock(time.UnixMilli(1_000_000))
			rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0))
			open := func() *Log {
				l, err := Open(fs, clock, dir, cfg)
				if err != nil {
					rt.Fatalf("Open: %v", err)
				}
				return l
			}
			l := open()
			defer func() { l.Close() }()
			var m kvModel
			durable := int64(0)
			keys := rapid.IntRange(1, 6).Draw(rt, "keys")

			rt.Repeat(map[string]func(*rapid.T){
				"append": func(rt *rapid.T) {
					n := rapid.IntRange(1, 5).Draw(rt, "records")
					var kvs []recordtest.KV
					for range n {
						key := fmt.Sprintf("k%d", rapid.IntRange(0, keys-1).Draw(rt, "key"))
						switch rapid.IntRange(0, 9).Draw(rt, "kind") {
						case 0:
							kvs = append(kvs, tombstone(key))
						case 1:
							kvs = append(kvs, kv("", "keyless"))
						default:
							kvs = append(kvs, kv(key, fmt.Sprintf("v%d", len(m.recs))))
						}
					}
					codec := int8(rapid.IntRange(0, 4).Draw(rt, "codec"))
					m.appendKV(rt, l, recordtest.Options{TimestampMs: clock.Now().UnixMilli(), Compression: codec}, kvs...)
				},
				"sync": func(rt *rapid.T) {
					if err := l.Sync(); err != nil {
						rt.Fatal(err)
					}
					durable = l.SyncedOffset()
				},
				"clean": func(rt *rapid.T) {
					end := l.EndOffset()
					cc := CleanConfig{
						MaxOffset:       rapid.Int64Range(0, end).Draw(rt, "hw"),
						MinDirtyRatio:   rapid.SampledFrom([]float64{0, 0.5}).Draw(rt, "ratio"),
						DeleteRetention: time.Duration(rapid.IntRange(0, 3).Draw(rt, "deleteRetentionS")) * time.Second,
						MaxMapBytes:     rapid.SampledFrom([]int64{1, 1 << 20}).Draw(rt, "mapBytes"),
					}
					mustClean(rt, l, cc)
				},
				"advanceStart": func(rt *rapid.T) {
					o := rapid.Int64Range(0, l.EndOffset()).Draw(rt, "start")
					if _, err := l.AdvanceStartOffset(o); err != nil {
						rt.Fatal(err)
					}
				},
				"retention": func(rt *rapid.T) {
					p := RetentionPolicy{RetentionMs: -1, RetentionBytes: rapid.Int64Range(0, l.Size()+1).Draw(rt, "bytes"), MaxOffset: math.MaxInt64}
					if _, err := l.EnforceRetention(p); err != nil {
						rt.Fatal(err)
					}
				},
				"tick": func(rt *rapid.T) {
					clock.Advance(time.Duration(rapid.IntRange(1, 2000).Draw(rt, "ms")) * time.Millisecond)
				},
				"reopen": func(rt *rapid.T) {
					if err := l.Close(); err != nil {
						rt.Fatal(err)
					}
					l = open()
					durable = l.EndOffset()
				},
				"crash": func(rt *rapid.T) {
					start := l.StartOffset()
					fs = crash(rt, fs, l, rng, rng.Float64())
					l = open()
					if l.EndOffset() < durable && l.EndOffset() != l.StartOffset() {
						rt.Fatalf("the crash lost synced data: end %d, synced %d", l.EndOffset(), durable)
					}
					if l.StartOffset() < start {
						rt.Fatalf("the start went back from %d to %d", start, l.StartOffset())
					}
					m.truncate(l.EndOffset())
					durable = l.EndOffset()
				},
				"": func(rt *rapid.T) {
					m.checkExact(rt, l)
				},
			})
		})
	})
}
