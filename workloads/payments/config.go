package payments

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
)

// Config is one run of the workload. Zero fields take the defaults noted.
// The fields with JSON names are its parameters, printed with a run and
// read back by the checkers (`weir check`).
type Config struct {
	Topic             string `json:"topic"`    // the commands, default "payments"
	Ledger            string `json:"ledger"`   // default "ledger"
	Balances          string `json:"balances"` // the compacted state topic, default "balances"
	Alerts            string `json:"alerts"`   // fraud alerts, default "fraud-alerts"
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int16  `json:"replication_factor"`

	// Producers (idempotent, acks=all) default 2, each shared by InFlight
	// processes (default 4), each at Rate commands per second (default
	// 100).
	Producers int     `json:"producers"`
	InFlight  int     `json:"in_flight"`
	Rate      float64 `json:"rate"`
	// Branches (default 8) of Accounts accounts each (default 4);
	// commands are keyed by branch, so a branch's accounts live in one
	// partition and a transfer stays inside a branch. Skew is the Zipf
	// exponent of how often an account is picked (default 1).
	Branches int     `json:"branches"`
	Accounts int     `json:"accounts"`
	Skew     float64 `json:"skew"`
	// CreditLimit is how far below zero a branch's account 0 may go;
	// every other account may never go below zero. Default 100.
	CreditLimit int64 `json:"credit_limit"`

	// The fraud rule: more than MaxWithdrawals (default 3) applied
	// withdrawals from one account within Window of event time (default
	// 5 minutes), in tumbling windows and in sliding ones. Event time runs
	// TimeScale times faster than the run's clock (default 20: a minute
	// of run is 20 minutes of business).
	MaxWithdrawals int           `json:"max_withdrawals"`
	Window         time.Duration `json:"window_ns"`
	TimeScale      int64         `json:"time_scale"`

	// The processor: Members slots, incarnations living Exp(Lifetime)
	// (0: the whole run), crashing instead of leaving with CrashShare,
	// crashing inside a batch with CrashChance, aborting a batch on
	// purpose with AbortChance (default 0.05; negative: never).
	Members     int           `json:"members"`
	Lifetime    time.Duration `json:"lifetime_ns"`
	CrashShare  float64       `json:"crash_share"`
	CrashChance float64       `json:"crash_chance"`
	AbortChance float64       `json:"abort_chance"`
	// GroupMode is the processing group's protocol (classic or KIP-848's
	// consumer protocol) and membership (dynamic or static: a
	// group.instance.id per member slot), group_protocol and
	// group_static in the parameters; the zero value is classic and
	// dynamic, what runs recorded before the modes existed.
	stream.GroupMode

	Duration time.Duration `json:"duration_ns"` // default 10s
	Defects  Defects       `json:"defects"`

	Client gen.ClientConfig `json:"-"`
	Rand   *rand.Rand       `json:"-"`
	Seed   uint64           `json:"seed"`
}

// Defects are planted bugs of the processor, off by default (doc.go says
// what each breaks and which checker finds it).
type Defects struct {
	NoTransaction    bool `json:"no_transaction,omitempty"`
	KeepStateOnAbort bool `json:"keep_state_on_abort,omitempty"`
	ReadUncommitted  bool `json:"read_uncommitted,omitempty"`
	StaleBalance     bool `json:"stale_balance,omitempty"`
	FraudAtLimit     bool `json:"fraud_at_limit,omitempty"`
}

// Draw returns the parameters a seed gives a run: the shape of the
// traffic (partitions, producers, rate, branches, accounts, skew), the
// rules (credit limit, fraud limit, window, time scale) and the
// processor's churn. What it leaves zero takes its default; the caller
// sets Client, Duration and ReplicationFactor.
func Draw(rng *rand.Rand) Config {
	return Config{
		Partitions:     1 + rng.Int32N(4),
		Producers:      1 + rng.IntN(3),
		InFlight:       1 + rng.IntN(8),
		Rate:           []float64{25, 50, 100, 200}[rng.IntN(4)],
		Branches:       2 + rng.IntN(11),
		Accounts:       2 + rng.IntN(5),
		Skew:           0.2 + 1.3*rng.Float64(),
		CreditLimit:    []int64{1, 50, 100, 500}[rng.IntN(4)],
		MaxWithdrawals: 1 + rng.IntN(5),
		Window:         []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}[rng.IntN(3)],
		TimeScale:      5 + rng.Int64N(56),
		Members:        2 + rng.IntN(2), // at least two: a rebalance moves partitions between live members
		Lifetime:       time.Duration(2+rng.IntN(7)) * time.Second,
		CrashShare:     rng.Float64(),
		CrashChance:    0.1 * rng.Float64(),
		AbortChance:    0.01 + 0.14*rng.Float64(),
		Seed:           rng.Uint64(),
	}
}

// WithDefaults returns c with its zero fields filled in.
func (c Config) WithDefaults() (Config, error) {
	gen.Default(&c.Topic, "payments")
	gen.Default(&c.Ledger, "ledger")
	gen.Default(&c.Balances, "balances")
	gen.Default(&c.Alerts, "fraud-alerts")
	gen.Default(&c.Partitions, 4)
	gen.Default(&c.ReplicationFactor, 1)
	gen.Default(&c.Producers, 2)
	gen.Default(&c.InFlight, 4)
	gen.Default(&c.Rate, 100)
	gen.Default(&c.Branches, 8)
	gen.Default(&c.Accounts, 4)
	gen.Default(&c.Skew, 1)
	gen.Default(&c.CreditLimit, 100)
	gen.Default(&c.MaxWithdrawals, 3)
	gen.Default(&c.Window, 5*time.Minute)
	gen.Default(&c.TimeScale, 20)
	gen.Default(&c.Members, 2)
	gen.Default(&c.AbortChance, 0.05)
	gen.Default(&c.Duration, 10*time.Second)
	if c.Partitions < 0 || c.Producers < 0 || c.InFlight < 0 || c.Branches <= 0 || c.Accounts < 2 || c.Rate < 0 || c.CreditLimit < 0 || c.Window <= 0 || c.TimeScale <= 0 {
		return c, errors.New("payments: bad counts, rates or windows (a branch needs at least 2 accounts)")
	}
	if err := stream.CheckGroupMode(c.GroupMode); err != nil {
		return c, err
	}
	if c.Rand == nil {
		c.Rand = gen.NewRand(c.Seed)
	}
	return c, nil
}

// Allowed is what the workload does not promise: other producers'
// records interleave with a transaction's (int-send-skip).
func (c Config) Allowed() []string { return []string{checker.IntSendSkip} }

// floor is the lowest balance account a may have.
func (c *Config) floor(a string) int64 {
	if isCredit(a) {
		return -c.CreditLimit
	}
	return 0
}

// account names account i of branch b.
func account(b, i int) string { return "b" + strconv.Itoa(b) + "a" + strconv.Itoa(i) }

// branchOf returns the branch of account a ("b3" of "b3a1").
func branchOf(a string) (string, bool) {
	i := strings.IndexByte(a, 'a')
	if i <= 0 {
		return "", false
	}
	return a[:i], true
}

// isCredit reports whether a is a branch's account 0 (it may overdraw).
func isCredit(a string) bool { return strings.HasSuffix(a, "a0") }

// processor is the stream configuration of the processor.
func (c *Config) processor(procs *gen.Procs, ids *gen.Counter) stream.Config {
	return stream.Config{
		Group: c.Topic + "-processor", Input: c.Topic, Partitions: c.Partitions,
		Outputs: []string{c.Ledger, c.Balances, c.Alerts}, Transactional: true,
		NewApp:  func() stream.App { return newApp(c) },
		Members: c.Members, Lifetime: c.Lifetime, CrashShare: c.CrashShare, CrashChance: c.CrashChance,
		AbortChance: max(c.AbortChance, 0), // negative: never (kept so the printed parameters read back the same)
		Client:      c.Client, Procs: procs, IDs: ids, Rand: gen.Child(c.Rand),
		GroupMode: c.GroupMode,
		Defects: stream.Defects{NoTransaction: c.Defects.NoTransaction, KeepStateOnAbort: c.Defects.KeepStateOnAbort,
			ReadUncommitted: c.Defects.ReadUncommitted},
	}
}
