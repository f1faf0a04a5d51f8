//go:build invariants

package partition

import (
	"slices"
	"sync"
	"testing"

	"github.com/weir-dev/weir/broker/replica"
	"github.com/weir-dev/weir/env/memfs"
	"github.com/weir-dev/weir/internal/invariants"
)

// A partition's invariant checks (-tags invariants), without a broker:
// breaches go to Deps.Breach.

// breaches collects what Deps.Breach receives.
type breaches struct {
	mu    sync.Mutex
	names []string
}

func (b *breaches) add(name, _ string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Contains(b.names, name) {
		b.names = append(b.names, name)
	}
}

func (b *breaches) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.names)
}

// Appends keep offsets dense on a healthy log; the log's planted
// OverlapOffsets defect (three records advance the end by one) breaks
// sparse-offsets at the append.
func TestDenseAppends(t *testing.T) {
	for _, planted := range []bool{false, true} {
		cfg := testConfig(0)
		cfg.Log.Defects.OverlapOffsets = planted
		bs := &breaches{}
		p := openTest(t, memfs.New(), testClock(), cfg, Deps{Breach: bs.add})
		p.lead(assignment(0, testNode))
		p.appendValues(0, 0, "a", "b", "c")
		p.appendValues(0, 0, "d")
		var want []string
		if planted {
			want = []string{invariants.SparseOffsets}
		}
		if got := bs.seen(); !slices.Equal(got, want) {
			t.Errorf("planted=%v: breaches %v, want %v", planted, got, want)
		}
	}
}

// unfencedISR, the rule of the unfenced-isr invariant: at the committed
// partition epoch the leader must count every committed ISR member.
func TestUnfencedISR(t *testing.T) {
	committed := replica.Assignment{PartitionEpoch: 4, ISR: []int32{1, 2, 3}}
	for _, c := range []struct {
		name    string
		epoch   int32
		maximal []int32
		want    []int32
	}{
		{"the committed ISR", 4, []int32{1, 2, 3}, nil},
		{"an expansion in flight", 4, []int32{1, 2, 3, 4}, nil},
		{"a shrink accepted, not yet in the image", 5, []int32{1, 2}, nil},
		{"a shrink applied before the controller accepted it", 4, []int32{1, 2}, []int32{3}},
	} {
		if got := unfencedISR(committed, c.epoch, c.maximal); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
