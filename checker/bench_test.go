package checker

import (
	"fmt"
	"testing"

	"github.com/weir-dev/weir/history"
)

func TestGeneratedHistoriesAreValid(t *testing.T) {
	for _, parts := range []int{1, 3} {
		for seed := range uint64(5) {
			h := genHistory(genConfig{ops: 6000, partitions: parts, producers: 8, perClient: 4, consumers: 2, seed: seed})
			if err := history.Validate(h); err != nil {
				t.Fatal(err)
			}
			v := Check(h, Opts{})
			if v.Outcome != Valid {
				t.Fatalf("partitions %d seed %d: a correct broker's history judged\n%s", parts, seed, v.Summary())
			}
			if v.Stats.SendsOK < 1000 || v.Stats.AckedRead != v.Stats.SendsOK {
				t.Fatalf("partitions %d seed %d: stats %+v", parts, seed, v.Stats)
			}
		}
	}
}

// BenchmarkCheck checks generated histories of correct brokers: every
// checker, porcupine included, on histories of ops operations over
// partitions partitions (8 producer processes sharing 2 clients, 2
// consumers). ns/op is the time of one whole Check.
func BenchmarkCheck(b *testing.B) {
	for _, ops := range []int{10_000, 30_000, 100_000, 300_000} {
		for _, parts := range []int{1, 4, 16} {
			h := genHistory(genConfig{ops: ops, partitions: parts, producers: 8, perClient: 4, consumers: 2, seed: 1})
			b.Run(fmt.Sprintf("ops=%d/partitions=%d", len(h), parts), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if v := Check(h, Opts{}); v.Outcome != Valid {
						b.Fatal(v.Summary())
					}
				}
			})
		}
	}
}

// BenchmarkLinearizability is the porcupine part alone.
func BenchmarkLinearizability(b *testing.B) {
	for _, ops := range []int{10_000, 100_000} {
		for _, parts := range []int{1, 16} {
			h := genHistory(genConfig{ops: ops, partitions: parts, producers: 8, perClient: 4, consumers: 2, seed: 1})
			ix := newIndex(h)
			b.Run(fmt.Sprintf("ops=%d/partitions=%d", len(h), parts), func(b *testing.B) {
				for b.Loop() {
					ix.linearizability = nil
					if f := nonlinearizable(ix, &Opts{}); len(f.witnesses)+len(f.unknown) > 0 {
						b.Fatal(f)
					}
				}
			})
		}
	}
}
