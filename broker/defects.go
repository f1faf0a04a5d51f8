package broker

import (
	"fmt"
	"slices"
	"strings"

	wlog "github.com/weir-dev/weir/broker/log"
	"github.com/weir-dev/weir/broker/record"
)

// Defect describes one planted bug of Defects: its --defect name, what it
// breaks, and the checkers that should catch it (anomaly names of the
// verdict: the history checkers' and the invariant breaches'; "liveness"
// for a run whose final reads cannot complete).
type Defect struct {
	Name     string
	Breaks   string
	CaughtBy []string
	set      func(*Defects)
}

// DefectCatalog lists every planted defect, in the order `weir selftest`
// plants them.
func DefectCatalog() []Defect {
	return append([]Defect{
		{"ack-before-fsync",
			"durability: acks=-1 is answered before the fsync, so a crash loses acknowledged writes, and a poll may see the high watermark below an acknowledged offset",
			[]string{"lost-write", "nonlinearizable"},
			func(d *Defects) { d.AckBeforeFsync = true }},
		{"forget-producers",
			"idempotence: a restarted partition forgets its producers' sequence numbers, so a retry of a batch appended before the crash is appended again",
			[]string{"duplicate"},
			func(d *Defects) { d.ForgetProducers = true }},
		{"keep-torn-tail",
			"recovery: a torn batch stays at the end of the log and appends go after it, so reads stop at it and a later recovery reuses the offsets behind it",
			[]string{"lost-write", "inconsistent-offsets", "liveness"},
			func(d *Defects) { d.KeepTornTail = true }},
		{"overlap-offsets",
			"offsets: a batch of several records advances the log end by one, so the next batch's offsets overlap it",
			[]string{"sparse-offsets", "inconsistent-offsets"},
			func(d *Defects) { d.OverlapOffsets = true }},
		{"early-high-watermark",
			"visibility: the high watermark moves at append, before the fsync, so consumers read (and producers are acknowledged) what a crash can take back",
			[]string{"undurable-read", "unsynced-high-watermark", "lost-write"},
			func(d *Defects) { d.EarlyHighWatermark = true }},
		{"fetch-skips-batch",
			"reads: a fetch that finds several batches sometimes drops the first, so a consumer skips offsets",
			[]string{"poll-skip", "lost-write"},
			func(d *Defects) { d.FetchSkipsBatch = true }},
	}, groupDefects()...)
}

// ParseDefect returns the Defects with the named defect planted; "" plants
// none.
func ParseDefect(name string) (Defects, error) {
	var d Defects
	if name == "" {
		return d, nil
	}
	cat := DefectCatalog()
	i := slices.IndexFunc(cat, func(x Defect) bool { return x.Name == name })
	if i < 0 {
		names := make([]string, len(cat))
		for j, x := range cat {
			names[j] = x.Name
		}
		return d, fmt.Errorf("unknown defect %q (known: %s)", name, strings.Join(names, ", "))
	}
	cat[i].set(&d)
	return d, nil
}

// skipsFirstBatch is the fetch-skips-batch defect: of a read that holds
// more than one batch, drop the first when its base offset is 3 mod 4, so
// that about a quarter of such fetches skip offsets. It returns what to
// serve and where it lies.
func skipsFirstBatch(data []byte, span wlog.Span) ([]byte, wlog.Span) {
	size, err := record.PeekSize(data)
	if err != nil || size >= len(data) {
		return data, span
	}
	first, err := record.Parse(data[:size])
	if err != nil || first.FirstOffset%4 != 3 {
		return data, span
	}
	return data[size:], span.Skip(size) // DEFECT: the first batch is never served
}
