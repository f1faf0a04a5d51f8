package log

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/record"
	"github.com/weir-dev/weir/env"
)

// TestPropertyCrashRecovery runs random sequences of appends, syncs, reads,
// truncations, clean reopens (with or without the clean-shutdown marker)
// and crashes, and checks after each step that:
//   - offsets are dense and monotone from StartOffset, and every batch read
//     is byte for byte one that was appended, in order (the model);
//   - a crash loses nothing below the offset of the last successful Sync (or
//     truncation, or open), and what it keeps is a prefix of what was
//     appended: never a corrupt or reordered batch.
func TestPropertyCrashRecovery(t *testing.T) {
	forEachFS(t, func(t *testing.T, k fsKind) {
		rapid.Check(t, func(rt *rapid.T) {
			fs, dir := k.newDir(t)
			cfg := Config{
				SegmentBytes:       rapid.SampledFrom([]int64{300, 2000, 1 << 20}).Draw(rt, "segmentBytes"),
				IndexIntervalBytes: rapid.SampledFrom([]int{0, 1, 200}).Draw(rt, "indexIntervalBytes"),
				CleanShutdown:      rapid.Bool().Draw(rt, "cleanShutdown"),
			}
			rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(rt, "seed"), 0))
			l := mustOpen(rt, fs, dir, cfg)
			defer func() { l.Close() }()
			var m model
			durable := int64(0) // every offset below this must survive a crash

			rt.Repeat(map[string]func(*rapid.T){
				"append": func(rt *rapid.T) {
					n := rapid.IntRange(1, 20).Draw(rt, "records")
					size := rapid.IntRange(0, 300).Draw(rt, "valueSize")
					m.add(rt, l, batch(n, size, rapid.Int64Range(-1, 1000).Draw(rt, "ts")))
				},
				"sync": func(rt *rapid.T) {
					end := l.EndOffset()
					if err := l.Sync(); err != nil {
						rt.Fatal(err)
					}
					if got := l.SyncedOffset(); got < end {
						rt.Fatalf("SyncedOffset %d after Sync at end %d", got, end)
					}
					durable = l.SyncedOffset()
				},
				"read": func(rt *rapid.T) {
					if m.end() == m.start {
						rt.Skip("empty")
					}
					o := rapid.Int64Range(m.start, m.end()-1).Draw(rt, "offset")
					got, err := l.Read(o, rapid.IntRange(0, 5000).Draw(rt, "maxBytes"))
					if err != nil {
						rt.Fatalf("Read(%d): %v", o, err)
					}
					// The result is consecutive model batches from the one
					// holding o.
					for i := m.containing(o); len(got) > 0; i++ {
						if i >= len(m.batches) || !bytes.HasPrefix(got, m.batches[i]) {
							rt.Fatalf("Read(%d) returned something other than batch %d", o, i)
						}
						got = got[len(m.batches[i]):]
					}
				},
				"truncate": func(rt *rapid.T) {
					to := rapid.Int64Range(m.start, m.end()).Draw(rt, "to")
					if err := l.TruncateTo(to); err != nil {
						rt.Fatal(err)
					}
					if to < m.end() {
						m.truncate(to)
						durable = m.end() // a truncation is durable on return
					}
					m.check(rt, l)
				},
				"reopen": func(rt *rapid.T) {
					if err := l.Close(); err != nil {
						rt.Fatal(err)
					}
					l = mustOpen(rt, fs, dir, cfg)
					durable = m.end() // Close synced
					m.check(rt, l)
				},
				"crash": func(rt *rapid.T) {
					keep := rapid.Float64Range(0, 1).Draw(rt, "keepUnsynced")
					fs = crash(rt, fs, l, rng, keep)
					l = mustOpen(rt, fs, dir, cfg)
					end := l.EndOffset()
					if end < durable || end > m.end() {
						rt.Fatalf("after crash the log ends at %d; durable %d, appended up to %d", end, durable, m.end())
					}
					if i := m.containing(end); end != m.end() && m.bases[i] != end {
						rt.Fatalf("after crash the log ends at %d, inside batch %d..", end, m.bases[i])
					}
					m.truncate(end)
					durable = end
					m.check(rt, l)
				},
				"": func(rt *rapid.T) {
					if l.EndOffset() != m.end() || l.SyncedOffset() > l.EndOffset() {
						rt.Fatalf("end %d synced %d, model end %d", l.EndOffset(), l.SyncedOffset(), m.end())
					}
				},
			})
			m.check(rt, l)
			checkDense(rt, l)
		})
	})
}

// checkDense walks the log with Batches and checks every batch parses and
// follows the previous one.
func checkDense(t tb, l *Log) {
	t.Helper()
	next := l.StartOffset()
	err := l.Batches(next, func(b *record.Batch) error {
		if _, err := record.Parse(b.Raw); err != nil {
			t.Fatalf("Batches served a corrupt batch at %d: %v", b.FirstOffset, err)
		}
		if b.FirstOffset != next {
			t.Fatalf("batch at %d, want %d", b.FirstOffset, next)
		}
		next = b.LastOffset() + 1
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != l.EndOffset() {
		t.Fatalf("batches end at %d, log at %d", next, l.EndOffset())
	}
}

var _ env.FS = env.OSFS{}
