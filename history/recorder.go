package history

import (
	"sync"
	"time"
)

// Recorder collects a history from concurrent clients. The zero value is not
// usable; use NewRecorder.
type Recorder struct {
	start time.Time
	now   func() time.Time

	mu  sync.Mutex
	ops []Op
}

// NewRecorder returns an empty Recorder that stamps ops with now() - start
// in nanoseconds. start is the run's start, the origin every time a person
// reads is measured from (trace.log's first column in the simulation); now
// is time.Now if nil (virtual time in the simulation guest).
func NewRecorder(start time.Time, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{start: start, now: now}
}

// Now is the time a record made now would get: nanoseconds since the
// start (not clamped to the last op's time).
func (r *Recorder) Now() int64 { return max(r.now().Sub(r.start).Nanoseconds(), 0) }

// Start is the origin of the recorded times.
func (r *Recorder) Start() time.Time { return r.start }

// Record appends op, setting its Index and Time, and returns it as stored.
// The time is read under the lock so that indexes and times agree in order.
// The Recorder owns op's values from now on.
func (r *Recorder) Record(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = int64(len(r.ops))
	op.Time = max(r.now().Sub(r.start).Nanoseconds(), 0)
	if n := len(r.ops); n > 0 {
		// A clock read twice may step back (a wall clock); times in a
		// history never do.
		op.Time = max(op.Time, r.ops[n-1].Time)
	}
	r.ops = append(r.ops, op)
	return op
}

// Ops returns a copy of the history so far. The values behind the pointers
// are shared and must not be changed.
func (r *Recorder) Ops() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// Len is the number of ops recorded.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

// Since returns a copy of the ops recorded from index i on (none when i
// is past the end): a reader that follows a run as it goes copies only
// what is new.
func (r *Recorder) Since(i int) []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.ops) {
		return nil
	}
	return append([]Op(nil), r.ops[max(i, 0):]...)
}
