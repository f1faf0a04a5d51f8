package epoch

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

func mustNew(t testing.TB, entries ...Entry) *Cache {
	t.Helper()
	c, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Kafka's endOffsetFor cases, on epochs 1@0, 3@10, 6@25 and a log end of 40.
func TestEndOffsetFor(t *testing.T) {
	c := mustNew(t, Entry{1, 0}, Entry{3, 10}, Entry{6, 25})
	for _, tc := range []struct {
		requested int32
		epoch     int32
		end       int64
		why       string
	}{
		{Undefined, Undefined, UndefinedOffset, "undefined epoch"},
		{6, 6, 40, "the latest epoch ends at the log end"},
		{3, 3, 25, "a known epoch ends where the next starts"},
		{1, 1, 10, "the first epoch"},
		{2, 1, 10, "an unknown epoch between two: the one before, and the next start"},
		{5, 3, 25, "an unknown epoch between two, later"},
		{0, 0, 0, "below the first epoch: itself, at the first start"},
		{7, Undefined, UndefinedOffset, "above the latest epoch"},
		{1<<31 - 1, Undefined, UndefinedOffset, "the largest epoch"},
	} {
		epoch, end := c.EndOffsetFor(tc.requested, 40)
		if epoch != tc.epoch || end != tc.end {
			t.Errorf("%s: EndOffsetFor(%d) = (%d, %d), want (%d, %d)", tc.why, tc.requested, epoch, end, tc.epoch, tc.end)
		}
	}
	empty := mustNew(t)
	if e, o := empty.EndOffsetFor(0, 5); e != Undefined || o != UndefinedOffset {
		t.Errorf("empty cache: (%d, %d)", e, o)
	}
}

func TestAssignRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []Entry
		epoch  int32
		start  int64
		after  []Entry
	}{
		{"first", nil, 0, 0, []Entry{{0, 0}}},
		{"new epoch", []Entry{{0, 0}}, 2, 5, []Entry{{0, 0}, {2, 5}}},
		{"same epoch later batch: no change", []Entry{{0, 0}, {2, 5}}, 2, 9, []Entry{{0, 0}, {2, 5}}},
		{"same epoch earlier start: moved back", []Entry{{0, 0}, {2, 5}}, 2, 3, []Entry{{0, 0}, {2, 3}}},
		{"lower epoch after truncation: later entries go", []Entry{{0, 0}, {2, 5}, {4, 9}}, 3, 7, []Entry{{0, 0}, {2, 5}, {3, 7}}},
		{"higher epoch at an earlier offset: later entries go", []Entry{{0, 0}, {2, 5}, {4, 9}}, 5, 6, []Entry{{0, 0}, {2, 5}, {5, 6}}},
		{"same start, new epoch (a leader with no batches yet)", []Entry{{0, 0}, {2, 5}}, 3, 5, []Entry{{0, 0}, {3, 5}}},
		{"negative epoch: not recorded", []Entry{{0, 0}}, -1, 5, []Entry{{0, 0}}},
	} {
		c := mustNew(t, tc.before...)
		if err := c.Assign(tc.epoch, tc.start); err != nil {
			t.Fatal(err)
		}
		if got := c.Entries(); !slices.Equal(got, tc.after) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.after)
		}
	}
	if err := mustNew(t).Assign(1, -1); err == nil {
		t.Error("assign at a negative offset accepted")
	}
}

func TestTruncate(t *testing.T) {
	base := []Entry{{1, 0}, {3, 10}, {6, 25}}
	for _, tc := range []struct {
		name  string
		op    func(c *Cache) error
		after []Entry
	}{
		{"end past the last start", func(c *Cache) error { return c.TruncateFromEnd(30) }, base},
		{"end at the last start", func(c *Cache) error { return c.TruncateFromEnd(25) }, base[:2]},
		{"end inside an epoch", func(c *Cache) error { return c.TruncateFromEnd(11) }, base[:2]},
		{"end at zero", func(c *Cache) error { return c.TruncateFromEnd(0) }, []Entry{}},
		{"start before the first", func(c *Cache) error { return c.TruncateFromStart(0) }, base},
		{"start inside the first epoch", func(c *Cache) error { return c.TruncateFromStart(4) }, []Entry{{1, 4}, {3, 10}, {6, 25}}},
		{"start at an epoch's start", func(c *Cache) error { return c.TruncateFromStart(10) }, []Entry{{3, 10}, {6, 25}}},
		{"start inside a later epoch", func(c *Cache) error { return c.TruncateFromStart(30) }, []Entry{{6, 30}}},
		{"clear", func(c *Cache) error { return c.Clear() }, []Entry{}},
	} {
		c := mustNew(t, base...)
		if err := tc.op(c); err != nil {
			t.Fatal(err)
		}
		if got := c.Entries(); !slices.Equal(got, tc.after) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.after)
		}
	}
}

func TestEpochForOffset(t *testing.T) {
	c := mustNew(t, Entry{1, 5}, Entry{3, 10})
	for _, tc := range []struct {
		offset int64
		epoch  int32
		ok     bool
	}{{0, Undefined, false}, {5, 1, true}, {9, 1, true}, {10, 3, true}, {1000, 3, true}} {
		if e, ok := c.EpochForOffset(tc.offset); e != tc.epoch || ok != tc.ok {
			t.Errorf("EpochForOffset(%d) = %d %v, want %d %v", tc.offset, e, ok, tc.epoch, tc.ok)
		}
	}
}

// The cache against a model that keeps, for every offset of a log, the
// epoch of the batch there: every operation keeps the entries strictly
// increasing, EndOffsetFor of a known epoch is where the log moves past it,
// and the entries are exactly the epoch changes of the log.
func TestPropertyCacheFollowsLog(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := mustNew(t)
		var epochs []int32 // epochs[o-start] is the epoch of offset o
		start := int64(0)
		end := func() int64 { return start + int64(len(epochs)) }
		current := int32(0)
		rt.Repeat(map[string]func(*rapid.T){
			"append": func(rt *rapid.T) {
				if rapid.IntRange(0, 3).Draw(rt, "newEpoch") == 0 {
					current += rapid.Int32Range(1, 3).Draw(rt, "step")
				}
				n := rapid.IntRange(1, 4).Draw(rt, "records")
				if err := c.Assign(current, end()); err != nil {
					rt.Fatal(err)
				}
				for range n {
					epochs = append(epochs, current)
				}
			},
			"truncate": func(rt *rapid.T) {
				to := rapid.Int64Range(start, end()).Draw(rt, "to")
				epochs = epochs[:to-start]
				if err := c.TruncateFromEnd(to); err != nil {
					rt.Fatal(err)
				}
			},
			"advanceStart": func(rt *rapid.T) {
				if len(epochs) == 0 {
					rt.Skip("empty")
				}
				to := rapid.Int64Range(start, end()-1).Draw(rt, "start")
				epochs = epochs[to-start:]
				start = to
				if err := c.TruncateFromStart(to); err != nil {
					rt.Fatal(err)
				}
			},
		})
		// The entries are the log's epoch changes.
		var want []Entry
		for i, e := range epochs {
			if i == 0 || e != epochs[i-1] {
				want = append(want, Entry{e, start + int64(i)})
			}
		}
		got := c.Entries()
		if !slices.Equal(got, want) {
			rt.Fatalf("entries %v, log's epoch changes %v", got, want)
		}
		for i, e := range want {
			wantEnd := end()
			if i+1 < len(want) {
				wantEnd = want[i+1].StartOffset
			}
			if ge, go_ := c.EndOffsetFor(e.Epoch, end()); ge != e.Epoch || go_ != wantEnd {
				rt.Fatalf("EndOffsetFor(%d) = (%d, %d), want (%d, %d)", e.Epoch, ge, go_, e.Epoch, wantEnd)
			}
		}
	})
}
