package checker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// duplicates finds values read at more than one position: the log holds
// one send twice.
func duplicates(ix *index) []Witness {
	var out []Witness
	for _, v := range slices.Sorted(maps.Keys(ix.valueReads)) {
		first := map[Position]int64{} // position -> first op reading v there
		for _, r := range ix.valueReads[v] {
			if _, ok := first[r.pos]; !ok {
				first[r.pos] = r.op
			}
		}
		if len(first) < 2 {
			continue
		}
		w := Witness{Values: []string{v}}
		var where []string
		for _, pos := range slices.SortedFunc(maps.Keys(first), comparePositions) {
			w.Positions = append(w.Positions, pos)
			w.Ops = append(w.Ops, first[pos])
			where = append(where, fmt.Sprintf("%s (op %d)", pos, first[pos]))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("value %s read at %d positions: %s", v, len(first), strings.Join(where, ", "))
		out = append(out, w)
	}
	return out
}

// inconsistentOffsets finds positions read holding different values: two
// readers disagree about what a log holds.
func inconsistentOffsets(ix *index) []Witness {
	var out []Witness
	for _, pos := range slices.SortedFunc(maps.Keys(ix.posReads), comparePositions) {
		first := map[string]int64{} // value -> first op reading it at pos
		for _, r := range ix.posReads[pos] {
			if _, ok := first[r.value]; !ok {
				first[r.value] = r.op
			}
		}
		if len(first) < 2 {
			continue
		}
		w := Witness{Positions: []Position{pos}}
		var what []string
		for _, v := range slices.Sorted(maps.Keys(first)) {
			w.Values = append(w.Values, v)
			w.Ops = append(w.Ops, first[v])
			what = append(what, fmt.Sprintf("%s (op %d)", v, first[v]))
		}
		w.Ops = uniqueSorted(w.Ops)
		w.Detail = fmt.Sprintf("%s read holding %d values: %s", pos, len(first), strings.Join(what, ", "))
		out = append(out, w)
	}
	return out
}
