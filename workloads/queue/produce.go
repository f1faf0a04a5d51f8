package queue

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// produce sends records through s, one at a time, until ctx ends or s's
// quota is spent. Values are "p<process>-<n>", n counting from 0 again
// after the process crashed (and so has a new id).
func (w *worker) produce(ctx context.Context, s *gen.Sender) error {
	n := 0
	for s.Take() {
		if !s.Pacer.Wait(ctx, w.rng) {
			return nil
		}
		key := ""
		if w.rng.Float64() >= w.cfg.UnkeyedShare {
			key = fmt.Sprintf("k%d", w.rng.IntN(w.cfg.Keys))
		}
		value := fmt.Sprintf("p%d-%d", w.proc.ID, n)
		n++
		before := w.proc.ID
		_, err := s.Send(ctx, w.rec, w.proc, func(int) (history.Send, *kgo.Record) {
			snd := history.Send{Topic: w.cfg.Topic, Value: value}
			r := &kgo.Record{Topic: snd.Topic, Value: []byte(value)}
			if key != "" {
				snd.Key, r.Key = key, []byte(key)
			}
			return snd, r
		})
		if err != nil {
			return err
		}
		if w.proc.ID != before {
			n = 0
		}
	}
	return nil
}
