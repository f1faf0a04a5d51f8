package broker

import (
	"strings"
	"testing"
)

// TestDropBehindProperty: weir.log.drop.behind.bytes defaults to 64 MiB,
// takes any non-negative integer (0 keeps the whole page cache, as Kafka
// does) and refuses anything else with the line it is on.
func TestDropBehindProperty(t *testing.T) {
	if got := DefaultConfig().DropBehindBytes; got != 64<<20 {
		t.Fatalf("default %d, want 64 MiB", got)
	}
	for _, tc := range []struct {
		val  string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"-1", 0, true},
		{"64MB", 0, true},
		{"", 0, true},
	} {
		cfg := DefaultConfig()
		_, err := ParseProperties(strings.NewReader("num.partitions=2\nweir.log.drop.behind.bytes="+tc.val+"\n"), &cfg)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), "line 2")):
			t.Errorf("%q: error %v, want one naming line 2", tc.val, err)
		case !tc.err && err != nil:
			t.Errorf("%q: %v", tc.val, err)
		case !tc.err && cfg.DropBehindBytes != tc.want:
			t.Errorf("%q: DropBehindBytes %d, want %d", tc.val, cfg.DropBehindBytes, tc.want)
		}
	}
}

// TestBackgroundSyncNiceProperty: weir.log.background.sync.nice defaults to
// 19, takes 0 (off) to 19 and refuses anything else with its line.
func TestBackgroundSyncNiceProperty(t *testing.T) {
	if got := DefaultConfig().BackgroundSyncNice; got != 19 {
		t.Fatalf("default %d, want 19", got)
	}
	for _, tc := range []struct {
		val  string
		want int
		err  bool
	}{
		{"0", 0, false},
		{"10", 10, false},
		{"19", 19, false},
		{"20", 0, true},
		{"-1", 0, true},
		{"low", 0, true},
	} {
		cfg := DefaultConfig()
		_, err := ParseProperties(strings.NewReader("num.partitions=2\nweir.log.background.sync.nice="+tc.val+"\n"), &cfg)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), "line 2")):
			t.Errorf("%q: error %v, want one naming line 2", tc.val, err)
		case !tc.err && err != nil:
			t.Errorf("%q: %v", tc.val, err)
		case !tc.err && cfg.BackgroundSyncNice != tc.want:
			t.Errorf("%q: BackgroundSyncNice %d, want %d", tc.val, cfg.BackgroundSyncNice, tc.want)
		}
	}
}
