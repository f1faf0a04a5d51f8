package hist

import (
	"sync"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/history"
)

// Check is one property of a workload, judged on the workload's analysis
// of the history (A).
type Check[A any] struct {
	Name string
	Find func(A) checker.Finding
}

// Properties returns checks as checker properties sharing one analysis:
// analyze runs once, on the history the first property is given (the
// checker gives every property the same one), and each property reads
// its result.
func Properties[A any](analyze func(h []history.Op) A, checks ...Check[A]) []checker.Property {
	var once sync.Once
	var a A
	get := func(h []history.Op) A {
		once.Do(func() { a = analyze(h) })
		return a
	}
	out := make([]checker.Property, len(checks))
	for i, c := range checks {
		out[i] = checker.Property{Name: c.Name, Check: func(h []history.Op) checker.Finding { return c.Find(get(h)) }}
	}
	return out
}
