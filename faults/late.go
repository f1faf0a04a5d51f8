package faults

import (
	"math/rand/v2"
	"time"
)

// MaxHold bounds how late a late request arrives (OpLateRequest).
const MaxHold = 30 * time.Second

// LateConfig says what LateRequests draws.
type LateConfig struct {
	// Hosts are the hosts whose requests may arrive late: clients, or
	// brokers (whose forwards to the quorum's leader the world matches
	// too: a leader's AlterPartition).
	Hosts []string
	// Requests are the Kafka API keys (kmsg.Key) a late request is drawn
	// from, each as likely.
	Requests []int16
	Duration time.Duration // the safety phase
	// MeanGap is the mean quiet time before each arm (exponential); 0
	// means Duration/4.
	MeanGap time.Duration
	// Window is how long an arm waits for its request before it is
	// disarmed; 0 means Duration/5.
	Window time.Duration
	// MinHold and MaxHold bound how late the request arrives (uniform);
	// 0 means 1s and 12s.
	MinHold, MaxHold time.Duration
	// LandBy, when positive, is when every late request must have
	// arrived: a window's hold is drawn no longer than LandBy less the
	// window's end, and no window is drawn once that is below MinHold. A
	// request that arrives after the clients stopped (the safety phase's
	// end) finds nothing left to land in.
	LandBy time.Duration
}

// LateRequests draws late deliveries of single requests, one window at a
// time over the phase: at each window's start a host is armed so
// that the next request of the drawn kind it writes, and everything after
// it on that connection, arrives Hold late (TCP retransmitting a lost
// segment late while the host's other connections flow), and at the
// window's end the arm is taken back if no such request came. A client
// that times out meanwhile retries over a new connection, and the broker
// still gets the old request afterwards: the delayed EndTxn or produce of
// KIP-890's motivation.
//
// It is drawn apart from Generate, from an rng of its own, so that adding
// it to a run leaves the rest of the schedule as it was.
func LateRequests(rng *rand.Rand, cfg LateConfig) []Event {
	if len(cfg.Hosts) == 0 || len(cfg.Requests) == 0 || cfg.Duration <= 0 {
		return nil
	}
	if cfg.MeanGap <= 0 {
		cfg.MeanGap = cfg.Duration / 4
	}
	if cfg.Window <= 0 {
		cfg.Window = cfg.Duration / 5
	}
	if cfg.MinHold <= 0 {
		cfg.MinHold = time.Second
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = 12 * time.Second
	}
	cfg.MaxHold = min(max(cfg.MaxHold, cfg.MinHold), MaxHold)
	var out []Event
	t := time.Duration(0)
	for {
		t += time.Duration(rng.ExpFloat64() * float64(cfg.MeanGap))
		if t >= cfg.Duration {
			return out
		}
		end := min(t+cfg.Window, cfg.Duration)
		maxHold := cfg.MaxHold
		if cfg.LandBy > 0 {
			if maxHold = min(maxHold, cfg.LandBy-end); maxHold < cfg.MinHold {
				return out
			}
		}
		host := cfg.Hosts[rng.IntN(len(cfg.Hosts))]
		req := cfg.Requests[rng.IntN(len(cfg.Requests))]
		hold := cfg.MinHold + time.Duration(rng.Int64N(int64(maxHold-cfg.MinHold)+1))
		out = append(out,
			Event{At: t, Op: OpLateRequest, Node: host, Request: req, Hold: hold},
			Event{At: end, Op: OpLateRequestHeal, Node: host})
		t = end
	}
}

// Merge adds events to s, keeping it sorted as Generate sorts.
func (s Schedule) Merge(events []Event) Schedule {
	all := append(append([]Event(nil), s.Events...), events...)
	sortEvents(all)
	return Schedule{Duration: s.Duration, Events: all}
}
