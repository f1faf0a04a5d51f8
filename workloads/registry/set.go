package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
	"github.com/weir-dev/weir/workloads/gen"
)

// Member is one workload of a Set: its name, the parameters Draw made (or
// QueueParamsOf), and how it reaches the cluster.
type Member struct {
	Name   string
	Params json.RawMessage
	Env    Env
}

// Set is several workloads run side by side on one cluster.
type Set struct {
	members []*built
}

type built struct {
	name string
	w    Workload
	rec  *history.Recorder
}

// NewSet builds the members, each with a recorder stamping times since
// start with now (time.Now if nil). Names must be distinct, in the order
// ParseNames gives.
func NewSet(members []Member, start time.Time, now func() time.Time) (*Set, error) {
	if len(members) == 0 {
		return nil, errors.New("no workload")
	}
	s := &Set{}
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.Name] {
			return nil, fmt.Errorf("workload %q twice", m.Name)
		}
		seen[m.Name] = true
		e, err := Lookup(m.Name)
		if err != nil {
			return nil, err
		}
		w, err := e.Build(m.Params, m.Env)
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", m.Name, err)
		}
		s.members = append(s.members, &built{name: m.Name, w: w, rec: history.NewRecorder(start, now)})
	}
	return s, nil
}

// Setup creates every workload's topics, in order.
func (s *Set) Setup(ctx context.Context) error {
	for _, m := range s.members {
		if err := m.w.Setup(ctx); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return nil
}

// Run runs every workload at once until each returned; the error is the
// first harness error (the others are cut short).
func (s *Set) Run(ctx context.Context) error {
	if len(s.members) == 1 {
		return s.members[0].w.Run(ctx, s.members[0].rec)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for _, m := range s.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.w.Run(ctx, m.rec); err != nil {
				mu.Lock()
				defer mu.Unlock()
				if first == nil {
					first = fmt.Errorf("%s: %w", m.name, err)
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// Finish runs every workload's Finish in order, each whatever the others
// returned (every final read is recorded); the error joins theirs.
func (s *Set) Finish(ctx context.Context) error {
	var errs []error
	for _, m := range s.members {
		if err := m.w.Finish(ctx, m.rec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.name, err))
		}
	}
	return errors.Join(errs...)
}

// Opts are the options the run's history is judged with (CombinedOpts).
func (s *Set) Opts() checker.Opts {
	var all []checker.Opts
	for _, m := range s.members {
		all = append(all, m.w.Opts())
	}
	return CombinedOpts(all)
}

// Hosts are the client hosts of every workload, in order.
func (s *Set) Hosts() []string {
	var hosts []string
	for _, m := range s.members {
		hosts = append(hosts, m.w.Hosts()...)
	}
	return hosts
}

// Stride separates the process ids and producer-client ids of the
// workloads of a merged history: the k-th workload's (from 0) are shifted
// by k*Stride. A workload may use ids below Stride, and gen.FinalProcess
// and up for its final reads.
const Stride = 1 << 24

// History is the run's history: with one workload, its recorder's ops as
// they are; with several, every workload's ops merged by time (ties in
// workload order, then recording order), indexes renumbered, and the k-th
// workload's process ids (Op.Process, Final.Reader, Join.Events) and producer clients
// (Send.Client, 0 stays unknown) shifted by k*Stride. It fails if a
// workload used an id the shift would confuse with another's, or if two
// workloads sent the same value (the checkers tell sends apart by value).
func (s *Set) History() ([]history.Op, error) {
	if len(s.members) == 1 {
		return s.members[0].rec.Ops(), nil
	}
	type tagged struct {
		op history.Op
		k  int
	}
	var all []tagged
	sentBy := map[string]int{} // value -> the workload that sent it
	for k, m := range s.members {
		for _, op := range m.rec.Ops() {
			shifted, err := shift(op, k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", m.name, err)
			}
			for _, snd := range shifted.Sends() {
				if other, ok := sentBy[snd.Value]; ok && other != k {
					// The checkers name a send by its value: two
					// workloads must never send the same one.
					return nil, fmt.Errorf("workloads %s and %s both sent the value %q", s.members[other].name, m.name, snd.Value)
				}
				sentBy[snd.Value] = k
			}
			all = append(all, tagged{shifted, k})
		}
	}
	slices.SortStableFunc(all, func(a, b tagged) int {
		return cmp.Or(cmp.Compare(a.op.Time, b.op.Time), cmp.Compare(a.k, b.k), cmp.Compare(a.op.Index, b.op.Index))
	})
	ops := make([]history.Op, len(all))
	for i, t := range all {
		t.op.Index = int64(i)
		ops[i] = t.op
	}
	return ops, nil
}

// shift moves op's ids into the k-th workload's range, copying what it
// changes (the recorder's values stay as they were).
func shift(op history.Op, k int) (history.Op, error) {
	if k == 0 {
		return op, nil
	}
	d := k * Stride
	p, err := shiftProcess(op.Process, d)
	if err != nil {
		return op, err
	}
	op.Process = p
	switch {
	case op.Send != nil:
		c := *op.Send
		if c.Client, err = shiftClient(c.Client, d); err != nil {
			return op, err
		}
		op.Send = &c
	case op.Txn != nil:
		t := *op.Txn
		t.Mops = slices.Clone(t.Mops)
		for i := range t.Mops {
			if t.Mops[i].Send != nil {
				c := *t.Mops[i].Send
				if c.Client, err = shiftClient(c.Client, d); err != nil {
					return op, err
				}
				t.Mops[i].Send = &c
			}
		}
		op.Txn = &t
	case op.Join != nil:
		// A member's events process (its assignment ops) is the
		// workload's too.
		j := *op.Join
		if j.Events, err = shiftProcess(j.Events, d); err != nil {
			return op, err
		}
		op.Join = &j
	case op.Final != nil:
		f := *op.Final
		if f.Reader, err = shiftProcess(f.Reader, d); err != nil {
			return op, err
		}
		op.Final = &f
	}
	return op, nil
}

func shiftProcess(p, d int) (int, error) {
	if (p >= Stride && p < gen.FinalProcess) || p >= gen.FinalProcess+Stride || p < 0 {
		return 0, fmt.Errorf("process id %d outside the ranges a merged history keeps apart", p)
	}
	return p + d, nil
}

func shiftClient(c, d int) (int, error) {
	if c == 0 {
		return 0, nil
	}
	if c < 0 || c >= Stride {
		return 0, fmt.Errorf("producer client id %d outside the range a merged history keeps apart", c)
	}
	return c + d, nil
}
