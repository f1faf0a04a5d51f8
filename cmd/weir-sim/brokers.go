package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// seedStreamBrokers separates the redraw of a broker count that --brokers
// rules out from the parameter stream, so that every other parameter of
// a seed stays what it was.
const seedStreamBrokers = 0x7765_6972_6272_6b72 // "weirbrkr"

// brokerTable is the seed's draw of a world's broker count: 1 to 5, 3
// most often.
var brokerTable = []int{1, 2, 3, 3, 3, 3, 4, 5}

// brokerRange is --brokers: the broker counts a world may have, lo to hi.
type brokerRange struct{ lo, hi int }

// parseBrokers reads --brokers: seed (every count of brokerTable), N, or
// N-M, within 1-5 (the counts the atlas and the checkers were proved on).
func parseBrokers(s string) (brokerRange, error) {
	if s == modeSeed || s == "" {
		return brokerRange{1, 5}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	if err1 != nil || err2 != nil || l < 1 || h > 5 || l > h {
		return brokerRange{}, fmt.Errorf("--brokers %q: want seed, N or N-M with 1 <= N <= M <= 5", s)
	}
	return brokerRange{l, h}, nil
}

// brokers is the broker count of a seed whose parameter stream drew
// drawn: drawn itself when the range allows it, so that a seed runs the
// same world with or without --brokers whenever its own draw is in the
// range; else a draw from brokerTable's counts within the range, from a
// stream of its own.
func (r brokerRange) brokers(drawn int, seed uint64) int {
	if drawn >= r.lo && drawn <= r.hi {
		return drawn
	}
	var allowed []int
	for _, n := range brokerTable {
		if n >= r.lo && n <= r.hi {
			allowed = append(allowed, n)
		}
	}
	return allowed[rand.New(rand.NewPCG(seed, seedStreamBrokers)).IntN(len(allowed))]
}
