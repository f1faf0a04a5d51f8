package vitals

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// ward is one producer client's patients and their current vitals. It is
// only touched inside a Sender's Build, under the Sender's lock.
type ward struct {
	cfg      *Config
	patients []*monitor
}

type monitor struct {
	name string
	hr   float64
	spo2 float64
}

// newWard gives client i of n its share of the patients: patient k goes
// through client k mod n.
func newWard(cfg *Config, i int, rng *rand.Rand) *ward {
	w := &ward{cfg: cfg}
	for k := i; k < cfg.Patients; k += cfg.Producers {
		w.patients = append(w.patients, &monitor{name: fmt.Sprintf("pt%d", k), hr: 60 + 40*rng.Float64(), spo2: 95 + 4*rng.Float64()})
	}
	return w
}

// next draws a patient and its next reading at event time nowMs: a heart
// rate (three times in five) or an SpO2, wandering around a resting value,
// a spike or dip with SpikeShare, sent late with LateShare.
func (w *ward) next(rng *rand.Rand, id string, nowMs int64) reading {
	m := w.patients[rng.IntN(len(w.patients))]
	rd := reading{ID: id, Patient: m.name, Ms: nowMs}
	spike := rng.Float64() < w.cfg.SpikeShare
	if rng.IntN(5) < 3 {
		m.hr += (80-m.hr)*0.1 + 4*rng.NormFloat64()
		if spike {
			m.hr += 35 + 70*rng.Float64()
		}
		m.hr = min(max(m.hr, 35), 230)
		rd.Kind, rd.V = HeartRate, int(m.hr)
	} else {
		m.spo2 += (97-m.spo2)*0.2 + rng.NormFloat64()
		if spike {
			m.spo2 -= 6 + 10*rng.Float64()
		}
		m.spo2 = min(max(m.spo2, 70), 100)
		rd.Kind, rd.V = SpO2, int(m.spo2)
	}
	if late := w.cfg.Lateness.Milliseconds(); late > 0 && rng.Float64() < w.cfg.LateShare {
		rd.Ms = max(rd.Ms-1-rng.Int64N(late), 0)
	}
	return rd
}

// produce runs the producer clients until ctx ends.
func produce(ctx context.Context, cfg *Config, rec *history.Recorder, procs *gen.Procs, ids *gen.Counter) error {
	g := gen.NewGroup(ctx)
	for i := range cfg.Producers {
		s := gen.NewSender(cfg.Client, ids, 0, cfg.Rate, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(2*time.Millisecond))
		w := newWard(cfg, i, gen.Child(cfg.Rand))
		var lanes []func(context.Context) error
		for range cfg.InFlight {
			rng, proc := gen.Child(cfg.Rand), procs.New()
			n := 0
			lanes = append(lanes, func(ctx context.Context) error {
				for ctx.Err() == nil {
					if !s.Pacer.Wait(ctx, rng) {
						return nil
					}
					n++
					id := fmt.Sprintf("p%d.%d", proc.ID, n)
					_, err := s.Send(ctx, rec, proc, func(int) (history.Send, *kgo.Record) {
						rd := w.next(rng, id, rec.Now()/1e6*cfg.TimeScale)
						v := rd.String()
						return history.Send{Topic: cfg.Topic, Key: rd.Patient, Value: v}, &kgo.Record{Topic: cfg.Topic, Key: []byte(rd.Patient), Value: []byte(v)}
					})
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
		g.GoAll(lanes, s.Close)
	}
	return g.Wait()
}
