package vitals

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/weir-dev/weir/checker"
	"github.com/weir-dev/weir/workloads/gen"
	"github.com/weir-dev/weir/workloads/stream"
)

// Config is one run of the workload. Zero fields take the defaults noted.
// The fields with JSON names are its parameters, printed with a run and
// read back by the checkers (`weir check`).
type Config struct {
	Topic             string `json:"topic"`     // the readings, default "vitals"
	Processed         string `json:"processed"` // the processed stream, default "vitals-processed"
	Alerts            string `json:"alerts"`    // default "vitals-alerts"
	Partitions        int32  `json:"partitions"`
	ReplicationFactor int16  `json:"replication_factor"`

	// Producers (devices' gateways; idempotent, acks=all) default 2, each
	// shared by InFlight processes (default 4), each client at Rate
	// readings per second (default 100). Patients (default 20) are keys,
	// each produced through one client.
	Producers int     `json:"producers"`
	InFlight  int     `json:"in_flight"`
	Rate      float64 `json:"rate"`
	Patients  int     `json:"patients"`
	// Event time runs TimeScale times faster than the run's clock
	// (default 10). LateShare of the readings (default 0.1) arrive late:
	// their event time is up to Lateness (default 20s) before the time
	// they are sent at.
	TimeScale int64         `json:"time_scale"`
	LateShare float64       `json:"late_share"`
	Lateness  time.Duration `json:"lateness_ns"`
	// SpikeShare of the readings (default 0.03) are a heart-rate spike or
	// an oxygen dip, so the alert rules fire.
	SpikeShare float64 `json:"spike_share"`

	// The alert rules: heart rate above HRHigh (default 180), SpO2 below
	// SpO2Low (default 90), a heart-rate rise of at least Rise (default
	// 30) within RiseWithin of event time (default a minute).
	HRHigh     int           `json:"hr_high"`
	SpO2Low    int           `json:"spo2_low"`
	Rise       int           `json:"rise"`
	RiseWithin time.Duration `json:"rise_within_ns"`
	// AlertBound is the longest a breach's alert may take to commit after
	// its reading was acknowledged (run time), default 30s. It must cover
	// what the run does to the processor: a member crash stalls its
	// partitions for the session timeout (6s) and then their restore for
	// the transaction timeout (10s); faults and the pause between Run and
	// Finish count too.
	AlertBound time.Duration `json:"alert_bound_ns"`

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

	Duration time.Duration `json:"duration_ns"` // of the safety phase, default 10s
	Defects  Defects       `json:"defects"`

	Client gen.ClientConfig `json:"-"`
	Rand   *rand.Rand       `json:"-"`
	Seed   uint64           `json:"seed"`
}

// Defects are planted bugs of the processor, off by default (doc.go says
// what each breaks and which checker finds it).
type Defects struct {
	SkipLateAlerts bool `json:"skip_late_alerts,omitempty"`
	HoldAlerts     bool `json:"hold_alerts,omitempty"`
	NoLateCheck    bool `json:"no_late_check,omitempty"`
	Interpolate    bool `json:"interpolate,omitempty"`
}

// Draw returns the parameters a seed gives a run: the traffic (partitions,
// producers, rate, patients, lateness, spikes), the rules' thresholds and
// the processor's churn. What it leaves zero takes its default; the caller
// sets Client, Duration and ReplicationFactor.
func Draw(rng *rand.Rand) Config {
	return Config{
		Partitions: 1 + rng.Int32N(4),
		Producers:  1 + rng.IntN(3),
		InFlight:   1 + rng.IntN(8),
		Rate:       []float64{25, 50, 100, 200}[rng.IntN(4)],
		Patients:   4 + rng.IntN(40),
		TimeScale:  5 + rng.Int64N(26),
		LateShare:  0.3 * rng.Float64(),
		Lateness:   time.Duration(1+rng.IntN(60)) * time.Second,
		SpikeShare: 0.01 + 0.09*rng.Float64(),
		HRHigh:     160 + rng.IntN(31),
		SpO2Low:    85 + rng.IntN(8),
		Rise:       20 + rng.IntN(21),
		RiseWithin: time.Duration(30+rng.IntN(91)) * time.Second,
		// A member crash holds its partitions for the session timeout
		// (6s) and their restore for the transaction timeout (10s): the
		// bound leaves room for several in a row.
		AlertBound:  2 * time.Minute,
		Members:     2 + rng.IntN(2), // at least two: a rebalance moves partitions between live members
		Lifetime:    time.Duration(2+rng.IntN(7)) * time.Second,
		CrashShare:  rng.Float64(),
		CrashChance: 0.1 * rng.Float64(),
		AbortChance: 0.01 + 0.14*rng.Float64(),
		Seed:        rng.Uint64(),
	}
}

// WithDefaults returns c with its zero fields filled in.
func (c Config) WithDefaults() (Config, error) {
	gen.Default(&c.Topic, "vitals")
	gen.Default(&c.Processed, "vitals-processed")
	gen.Default(&c.Alerts, "vitals-alerts")
	gen.Default(&c.Partitions, 4)
	gen.Default(&c.ReplicationFactor, 1)
	gen.Default(&c.Producers, 2)
	gen.Default(&c.InFlight, 4)
	gen.Default(&c.Rate, 100)
	gen.Default(&c.Patients, 20)
	gen.Default(&c.TimeScale, 10)
	gen.Default(&c.LateShare, 0.1)
	gen.Default(&c.Lateness, 20*time.Second)
	gen.Default(&c.SpikeShare, 0.03)
	gen.Default(&c.HRHigh, 180)
	gen.Default(&c.SpO2Low, 90)
	gen.Default(&c.Rise, 30)
	gen.Default(&c.RiseWithin, time.Minute)
	gen.Default(&c.AlertBound, 30*time.Second)
	gen.Default(&c.Members, 2)
	gen.Default(&c.AbortChance, 0.05)
	gen.Default(&c.Duration, 10*time.Second)
	if c.Partitions < 0 || c.Producers < 0 || c.InFlight < 0 || c.Patients < c.Producers || c.Rate < 0 || c.TimeScale <= 0 ||
		c.LateShare < 0 || c.Lateness < 0 || c.SpikeShare < 0 || c.RiseWithin <= 0 || c.AlertBound < 0 {
		return c, errors.New("vitals: negative count, rate, share or window, or fewer patients than producers")
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

// processor is the stream configuration of the processor.
func (c *Config) processor(procs *gen.Procs, ids *gen.Counter) stream.Config {
	return stream.Config{
		Group: c.Topic + "-monitor", Input: c.Topic, Partitions: c.Partitions,
		Outputs: []string{c.Processed, c.Alerts}, Transactional: true,
		NewApp:  func() stream.App { return newApp(c) },
		Members: c.Members, Lifetime: c.Lifetime, CrashShare: c.CrashShare, CrashChance: c.CrashChance,
		AbortChance: max(c.AbortChance, 0), // negative: never (kept so the printed parameters read back the same)
		Client:      c.Client, Procs: procs, IDs: ids, Rand: gen.Child(c.Rand),
		GroupMode: c.GroupMode,
	}
}
