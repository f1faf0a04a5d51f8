package history

import (
	"sync"
	"time"
)

// Recorder collects a history from concurrent clients. The zero value is not
// usable; use NewRecorder.
type Recorder struct {
	now func() time.Time

	mu  sync.Mutex
	ops []Op
}

// NewRecorder returns an empty Recorder that stamps ops with now (time.Now
// if nil; virtual time in the simulation guest).
func NewRecorder(now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{now: now}
}

// Record appends op, setting its Index and Time, and returns it as stored.
// The time is read under the lock so that indexes and times agree in order.
// The Recorder owns op's values from now on.
func (r *Recorder) Record(op Op) Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Index = int64(len(r.ops))
	op.Time = r.now().UnixNano()
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
