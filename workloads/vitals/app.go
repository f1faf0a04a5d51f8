package vitals

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weir-dev/weir/workloads/stream"
)

// interpolateGap is how far apart two heart-rate readings must be for
// the planted Interpolate defect to invent one between them.
const interpolateGap = 10_000 // ms of event time

// app is the monitor: it takes each reading in input order, sets aside
// the late ones, writes the processed stream and raises alerts, all in the
// batch's transaction.
type app struct {
	cfg   *Config
	parts map[int32]*partState
}

type partState struct {
	patients map[string]*patient
	held     []alert // the planted HoldAlerts defect's alerts not yet written
}

// patient is what the rules need of one patient: the event time of its
// latest in-order reading and its in-order heart rates of the last
// RiseWithin.
type patient struct {
	seen bool
	last int64
	hr   []point
}

type point struct {
	ms int64
	v  int
}

func newApp(cfg *Config) *app { return &app{cfg: cfg, parts: map[int32]*partState{}} }

func (a *app) part(p int32) *partState {
	s := a.parts[p]
	if s == nil {
		s = &partState{patients: map[string]*patient{}}
		a.parts[p] = s
	}
	return s
}

func (s *partState) patient(id string) *patient {
	pt := s.patients[id]
	if pt == nil {
		pt = &patient{}
		s.patients[id] = pt
	}
	return pt
}

func (a *app) Drop(p int32) { delete(a.parts, p) }

func (a *app) Committable(_ int32, next int64) int64 { return next }

// Restore replays the in-order readings of the processed stream.
func (a *app) Restore(p int32, outputs map[string][]*kgo.Record) {
	s := a.part(p)
	for _, r := range outputs[a.cfg.Processed] {
		if e, ok := decode[processed](string(r.Value)); ok && e.ID != "" && !e.Late {
			a.inOrder(s.patient(e.Patient), reading{ID: e.ID, Patient: e.Patient, Kind: e.Kind, V: e.V, Ms: e.Ms})
		}
	}
}

// Process takes each reading in order: late or not, it goes to the
// processed stream and its thresholds are checked; an in-order one also
// moves its patient's event time on and is checked for a rise.
func (a *app) Process(b *stream.Batch, rs []*kgo.Record) {
	for _, r := range rs {
		s := a.part(r.Partition)
		v := string(r.Value)
		if isBarrier(v) {
			for _, al := range s.held {
				a.emit(b, r.Partition, al)
			}
			s.held = nil
			b.Emit(a.cfg.Processed, r.Partition, "barrier", encode(processed{Barrier: v, Offset: r.Offset, W: b.Unique()}))
			continue
		}
		rd, ok := parseReading(v)
		if !ok {
			continue
		}
		pt := s.patient(rd.Patient)
		late := pt.seen && rd.Ms < pt.last && !a.cfg.Defects.NoLateCheck
		b.Emit(a.cfg.Processed, r.Partition, rd.Patient, encode(processed{ID: rd.ID, Patient: rd.Patient, Kind: rd.Kind, V: rd.V, Ms: rd.Ms, Late: late, Offset: r.Offset, W: b.Unique()}))
		var alerts []alert
		if !late || !a.cfg.Defects.SkipLateAlerts {
			alerts = a.thresholds(rd)
		}
		if !late {
			if a.cfg.Defects.Interpolate && rd.Kind == HeartRate && len(pt.hr) > 0 {
				alerts = append(alerts, a.interpolate(pt.hr[len(pt.hr)-1], rd)...)
			}
			if rise, ok := a.rise(pt, rd); ok {
				alerts = append(alerts, rise)
			}
			a.inOrder(pt, rd)
		}
		for _, al := range alerts {
			if a.cfg.Defects.HoldAlerts {
				s.held = append(s.held, al) // planted: written at the next barrier
				continue
			}
			a.emit(b, r.Partition, al)
		}
	}
}

func (a *app) emit(b *stream.Batch, p int32, al alert) {
	al.W = b.Unique()
	b.Emit(a.cfg.Alerts, p, al.Patient, encode(al))
}

// thresholds returns the threshold alerts of rd.
func (a *app) thresholds(rd reading) []alert {
	switch {
	case rd.Kind == HeartRate && rd.V > a.cfg.HRHigh:
		return []alert{{Rule: RuleHRHigh, Patient: rd.Patient, Reading: rd.ID, Ms: rd.Ms, V: rd.V}}
	case rd.Kind == SpO2 && rd.V < a.cfg.SpO2Low:
		return []alert{{Rule: RuleSpO2Low, Patient: rd.Patient, Reading: rd.ID, Ms: rd.Ms, V: rd.V}}
	}
	return nil
}

// rise returns the rise alert of an in-order heart rate: one of the
// patient's in-order heart rates within RiseWithin before it is at least
// Rise lower.
func (a *app) rise(pt *patient, rd reading) (alert, bool) {
	if rd.Kind != HeartRate {
		return alert{}, false
	}
	within := a.cfg.RiseWithin.Milliseconds()
	for _, q := range pt.hr {
		if q.ms >= rd.Ms-within && q.ms <= rd.Ms && rd.V-q.v >= a.cfg.Rise {
			return alert{Rule: RuleHRRise, Patient: rd.Patient, Reading: rd.ID, Ms: rd.Ms, V: rd.V}, true
		}
	}
	return alert{}, false
}

// inOrder moves the patient on to in-order reading rd.
func (a *app) inOrder(pt *patient, rd reading) {
	pt.seen, pt.last = true, max(pt.last, rd.Ms)
	if rd.Kind != HeartRate {
		return
	}
	pt.hr = append(pt.hr, point{rd.Ms, rd.V})
	within := a.cfg.RiseWithin.Milliseconds()
	keep := pt.hr[:0]
	for _, q := range pt.hr {
		if q.ms >= pt.last-within {
			keep = append(keep, q)
		}
	}
	pt.hr = keep
}

// interpolate is the planted Interpolate defect: between two heart rates
// more than interpolateGap apart it invents the reading halfway and
// checks its threshold, so an alert can name a reading no device sent.
func (a *app) interpolate(prev point, rd reading) []alert {
	if rd.Ms-prev.ms <= interpolateGap {
		return nil
	}
	mid := reading{ID: rd.ID + "~mid", Patient: rd.Patient, Kind: HeartRate, V: (prev.v + rd.V) / 2, Ms: (prev.ms + rd.Ms) / 2}
	return a.thresholds(mid)
}
