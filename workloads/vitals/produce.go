package vitals

import (
	"fmt"
	"math/rand/v2"

	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
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

// producers are the run's producer clients: client i sends the readings
// of its share of the patients (its ward), each lane numbering its
// readings by its process.
func (c *Config) producers() stream.Producers {
	return stream.Producers{Topic: c.Topic, Clients: c.Producers, InFlight: c.InFlight, Rate: c.Rate,
		NewClient: func(i int) func(*gen.Process) stream.Lane {
			w := newWard(c, i, gen.Child(c.Rand))
			return func(proc *gen.Process) stream.Lane {
				rng, n := gen.Child(c.Rand), 0
				return stream.Lane{Rand: rng, Next: func(now int64) (string, string) {
					n++
					rd := w.next(rng, fmt.Sprintf("p%d.%d", proc.ID, n), now/1e6*c.TimeScale)
					return rd.Patient, rd.String()
				}}
			}
		}}
}
