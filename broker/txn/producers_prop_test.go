package txn

import (
	"math"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"pgregory.net/rapid"

	"github.com/weir-dev/weir/broker/record"
)

// sent is a batch the model knows was appended.
type sent struct {
	spec
	meta BatchMeta
}

// modelProducer is what an idempotent producer and the test know about it.
type modelProducer struct {
	id      int64
	started bool
	epoch   int16
	nextSeq int32
	all     []sent // every appended batch, all epochs, oldest first
	current []sent // appended batches of the current epoch, oldest first
}

// propBroker is a partition: the state under test, the log as appended
// batches, and the log end offset.
type propBroker struct {
	state PartitionProducers
	log   []*record.Batch // stored batches, base offsets set
	end   int64
	snap  []byte // the last snapshot taken, nil before the first
}

// produce runs one batch through the broker as the produce path would and
// returns the decision.
func (br *propBroker) produce(t *rapid.T, s spec) Decision {
	b := build(t, s)
	d := br.state.Check(b)
	if d.Action == Append {
		record.SetBaseOffset(b.Raw, br.end)
		b.FirstOffset = br.end
		br.state.Update(b, br.end)
		br.log = append(br.log, b)
		br.end += int64(s.n)
	}
	return d
}

// rebuild replays the log into a fresh state, as a restart does.
func (br *propBroker) rebuild() *PartitionProducers {
	var p PartitionProducers
	for _, b := range br.log {
		p.Replay(b)
	}
	return &p
}

func wantAction(t *rapid.T, what string, got Decision, action Action, err *kerr.Error) {
	t.Helper()
	if got.Action != action || got.Err != err {
		t.Fatalf("%s: got %+v, want %v %v", what, got, action, err)
	}
}

// TestPropertyIdempotentProducers drives up to three idempotent producers
// and an untracked one against a partition, with retries of any batch they
// ever had acknowledged, epoch bumps, zombie epochs, gaps and restarts
// (replay of the log), and checks every decision against a model of Kafka's
// rules. Then: no batch is in the log twice, and replaying the log gives the
// same state and the same decisions as the live state.
func TestPropertyIdempotentProducers(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		br := &propBroker{}
		producers := []*modelProducer{{id: 10}, {id: 20}, {id: 30}}
		ts := int64(1_000)

		newSpec := func(t *rapid.T, p *modelProducer, seq int32) spec {
			ts += int64(rapid.IntRange(0, 5).Draw(t, "tsStep"))
			return spec{pid: p.id, epoch: p.epoch, seq: seq, n: rapid.IntRange(1, 4).Draw(t, "n"), ts: ts}
		}
		// sendNext sends the producer's next batch, which must append.
		sendNext := func(t *rapid.T, p *modelProducer) {
			s := newSpec(t, p, p.nextSeq)
			base := br.end
			wantAction(t, "next batch", br.produce(t, s), Append, nil)
			b := br.log[len(br.log)-1]
			got := sent{spec: s, meta: BatchMeta{
				FirstSequence: s.seq, LastSequence: b.LastSequence(),
				BaseOffset: base, LastOffset: base + int64(s.n) - 1, MaxTimestamp: s.ts + int64(s.n) - 1,
			}}
			p.all = append(p.all, got)
			p.current = append(p.current, got)
			p.nextSeq = record.IncrementSequence(got.meta.LastSequence, 1)
		}
		// Mostly one producer, so that it gets past BatchesRetained batches
		// in an epoch within rapid's default 30 steps.
		pick := func(t *rapid.T) *modelProducer {
			return producers[rapid.SampledFrom([]int{0, 0, 0, 0, 1, 2}).Draw(t, "producer")]
		}

		t.Repeat(map[string]func(*rapid.T){
			"send": func(t *rapid.T) {
				p := pick(t)
				if !p.started {
					// An unknown producer may start anywhere, near the
					// wrap included, at any epoch.
					p.started = true
					p.epoch = rapid.Int16Range(0, 3).Draw(t, "epoch")
					p.nextSeq = rapid.SampledFrom([]int32{0, 17, math.MaxInt32 - 6, math.MaxInt32}).Draw(t, "startSeq")
				}
				for range rapid.IntRange(1, 3).Draw(t, "batches") {
					sendNext(t, p)
				}
			},
			"retry": func(t *rapid.T) {
				p := pick(t)
				if len(p.all) == 0 {
					t.Skip("nothing acknowledged yet")
				}
				// Half the time one of the newest, around the edge of what
				// is retained; else anything ever acknowledged.
				lo := 0
				if rapid.Bool().Draw(t, "recent") {
					lo = max(0, len(p.all)-BatchesRetained-1)
				}
				old := p.all[rapid.IntRange(lo, len(p.all)-1).Draw(t, "which")]
				// The retry's bytes may differ in time; identity is the
				// producer, epoch and sequence range.
				retry := old.spec
				retry.ts += int64(rapid.IntRange(0, 100).Draw(t, "retryTsShift"))
				before := br.end
				d := br.produce(t, retry)
				k := slices.IndexFunc(p.current, func(s sent) bool { return s.meta == old.meta })
				switch {
				case old.epoch < p.epoch:
					wantAction(t, "retry from an old epoch", d, Reject, kerr.InvalidProducerEpoch)
				case k >= len(p.current)-BatchesRetained:
					wantAction(t, "retry of one of the last 5", d, Duplicate, nil)
					if d.Original != old.meta {
						t.Fatalf("retry of %+v answered with %+v", old.meta, d.Original)
					}
				default:
					wantAction(t, "retry older than 5", d, Reject, kerr.OutOfOrderSequenceNumber)
				}
				if br.end != before {
					t.Fatalf("a retry was appended")
				}
			},
			"resize": func(t *rapid.T) {
				// A retry must repeat its batch exactly; the same first
				// sequence with another record count is not a duplicate.
				p := pick(t)
				if len(p.current) == 0 {
					t.Skip("nothing acknowledged in this epoch")
				}
				old := p.current[rapid.IntRange(max(0, len(p.current)-BatchesRetained), len(p.current)-1).Draw(t, "which")]
				s := old.spec
				s.n = old.n + rapid.IntRange(1, 3).Draw(t, "extra")
				if rapid.Bool().Draw(t, "shorter") && old.n > 1 {
					s.n = old.n - 1
				}
				wantAction(t, "resized retry", br.produce(t, s), Reject, kerr.OutOfOrderSequenceNumber)
			},
			"gap": func(t *rapid.T) {
				p := pick(t)
				if !p.started {
					t.Skip("unknown producers accept any sequence")
				}
				skip := int32(rapid.IntRange(1, 10).Draw(t, "skip"))
				d := br.produce(t, newSpec(t, p, record.IncrementSequence(p.nextSeq, skip)))
				wantAction(t, "gap", d, Reject, kerr.OutOfOrderSequenceNumber)
			},
			"zombie": func(t *rapid.T) {
				p := pick(t)
				if !p.started || p.epoch == 0 {
					t.Skip("no older epoch")
				}
				s := newSpec(t, p, p.nextSeq)
				s.epoch = rapid.Int16Range(0, p.epoch-1).Draw(t, "zombieEpoch")
				wantAction(t, "older epoch", br.produce(t, s), Reject, kerr.InvalidProducerEpoch)
			},
			"bumpEpoch": func(t *rapid.T) {
				p := pick(t)
				if !p.started {
					t.Skip("unknown producer")
				}
				p.epoch += int16(rapid.IntRange(1, 2).Draw(t, "bump"))
				seq := int32(rapid.IntRange(1, 5).Draw(t, "badFirstSeq"))
				wantAction(t, "new epoch not at 0", br.produce(t, newSpec(t, p, seq)), Reject, kerr.OutOfOrderSequenceNumber)
				p.nextSeq = 0
				p.current = nil
				sendNext(t, p)
			},
			"untracked": func(t *rapid.T) {
				before := br.end
				wantAction(t, "non-idempotent", br.produce(t, spec{pid: -1, n: rapid.IntRange(1, 3).Draw(t, "n"), ts: ts}), Append, nil)
				if br.end == before {
					t.Fatalf("non-idempotent batch not appended")
				}
			},
			"restart": func(t *rapid.T) {
				br.state = *br.rebuild()
			},
			"snapshot": func(t *rapid.T) {
				br.snap = br.state.AppendSnapshot(nil, br.end)
			},
			// A restart from the last snapshot: restore it and replay the
			// log from the offset it covers, as a broker does after a
			// clean shutdown (the snapshot may be older than the log end).
			"restartFromSnapshot": func(t *rapid.T) {
				if br.snap == nil {
					t.Skip("no snapshot yet")
				}
				var p PartitionProducers
				upTo, err := p.RestoreSnapshot(br.snap)
				if err != nil {
					t.Fatalf("restore: %v", err)
				}
				for _, b := range br.log {
					if b.FirstOffset >= upTo {
						p.Replay(b)
					}
				}
				br.state = p
			},
			"": func(t *rapid.T) {
				// Invariant after every step: no producer batch is in the
				// log twice.
				type key struct {
					pid   int64
					epoch int16
					seq   int32
				}
				seen := make(map[key]bool)
				for _, b := range br.log {
					if b.ProducerID < 0 {
						continue
					}
					k := key{b.ProducerID, b.ProducerEpoch, b.FirstSequence}
					if seen[k] {
						t.Fatalf("batch %+v appended twice", k)
					}
					seen[k] = true
				}
			},
		})

		// Replaying the log reproduces the live state...
		replayed := br.rebuild()
		if replayed.Len() != br.state.Len() {
			t.Fatalf("replay knows %d producers, live %d", replayed.Len(), br.state.Len())
		}
		for _, p := range producers {
			live, okLive := br.state.Producer(p.id)
			again, okAgain := replayed.Producer(p.id)
			if okLive != okAgain || live.Epoch != again.Epoch || !slices.Equal(live.Batches, again.Batches) {
				t.Fatalf("producer %d: live %+v (%v), replayed %+v (%v)", p.id, live, okLive, again, okAgain)
			}
		}
		// ...which holds what the model says: the epoch and the last
		// BatchesRetained batches of it...
		for _, p := range producers {
			got, ok := br.state.Producer(p.id)
			if ok != p.started {
				t.Fatalf("producer %d known=%v, started=%v", p.id, ok, p.started)
			}
			want := make([]BatchMeta, 0, BatchesRetained)
			for _, s := range p.current[max(0, len(p.current)-BatchesRetained):] {
				want = append(want, s.meta)
			}
			if ok && (got.Epoch != p.epoch || !slices.Equal(got.Batches, want)) {
				t.Fatalf("producer %d: state %+v, model epoch %d batches %+v", p.id, got, p.epoch, want)
			}
		}
		// ...and answers every probe as the live state does.
		var probes []spec
		for _, p := range producers {
			for _, s := range p.all {
				probes = append(probes, s.spec)
			}
			e := p.epoch
			probes = append(probes,
				spec{pid: p.id, epoch: e, seq: p.nextSeq, n: 1},
				spec{pid: p.id, epoch: e, seq: record.IncrementSequence(p.nextSeq, 1), n: 1},
				spec{pid: p.id, epoch: e + 1, seq: 0, n: 1},
				spec{pid: p.id, epoch: e + 1, seq: 1, n: 1},
				spec{pid: p.id, epoch: e - 1, seq: p.nextSeq, n: 1},
			)
		}
		for _, s := range probes {
			b := build(t, s)
			if live, again := br.state.Check(b), replayed.Check(b); live != again {
				t.Fatalf("probe %+v: live %+v, replayed %+v", s, live, again)
			}
		}
	})
}
