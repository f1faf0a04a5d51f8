package clickstream

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
	Topic             string `json:"topic"`              // the input topic, default "clicks"
	Output            string `json:"output"`             // the session summaries, default "sessions"
	Partitions        int32  `json:"partitions"`         // of both topics, default 4
	ReplicationFactor int16  `json:"replication_factor"` // default 1

	// Producers is the number of producer clients (idempotent, acks=all),
	// default 2, each shared by InFlight processes (default 4) with one
	// send open; Rate is each client's events per second (Poisson),
	// default 100.
	Producers int     `json:"producers"`
	InFlight  int     `json:"in_flight"`
	Rate      float64 `json:"rate"`
	// Users is the number of users (keys), default 40, each produced
	// through one client; Skew is the Zipf exponent of how often a user is
	// picked, default 0.8 (0 takes the default; a negative value means
	// uniform).
	Users int     `json:"users"`
	Skew  float64 `json:"skew"`
	// Gap is the inactivity window: a user's session is closed once an
	// event of the partition is more than Gap (event time) after the
	// session's last event. Default 500ms. Jitter spreads each event's
	// time by up to that much either way (a device clock), default Gap/4.
	Gap    time.Duration `json:"gap_ns"`
	Jitter time.Duration `json:"jitter_ns"`

	// The processing application: Members member slots, each incarnation
	// living Exp(Lifetime) (0: the whole run), crashing instead of leaving
	// with CrashShare, crashing inside a batch with CrashChance.
	Members     int           `json:"members"`
	Lifetime    time.Duration `json:"lifetime_ns"`
	CrashShare  float64       `json:"crash_share"`
	CrashChance float64       `json:"crash_chance"`
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

// Defects are planted bugs of the processing application, off by default
// (doc.go says what each breaks and which checker finds it).
type Defects struct {
	CommitBeforeWrite bool `json:"commit_before_write,omitempty"`
	SkipRestore       bool `json:"skip_restore,omitempty"`
	EventTimeOrder    bool `json:"event_time_order,omitempty"`
	GapFromFirst      bool `json:"gap_from_first,omitempty"`
}

// WithDefaults returns c with its zero fields filled in.
func (c Config) WithDefaults() (Config, error) {
	gen.Default(&c.Topic, "clicks")
	gen.Default(&c.Output, "sessions")
	gen.Default(&c.Partitions, 4)
	gen.Default(&c.ReplicationFactor, 1)
	gen.Default(&c.Producers, 2)
	gen.Default(&c.InFlight, 4)
	gen.Default(&c.Rate, 100)
	gen.Default(&c.Users, 40)
	gen.Default(&c.Skew, 0.8)
	gen.Default(&c.Gap, 500*time.Millisecond)
	gen.Default(&c.Jitter, c.Gap/4)
	gen.Default(&c.Members, 2)
	gen.Default(&c.Duration, 10*time.Second)
	if c.Partitions < 0 || c.Producers < 0 || c.InFlight < 0 || c.Users < c.Producers || c.Rate < 0 || c.Gap < 0 || c.Jitter < 0 {
		return c, errors.New("clickstream: negative count, rate or window, or fewer users than producers")
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
// records interleave with a processing batch's outputs (int-send-skip).
func (c Config) Allowed() []string { return []string{checker.IntSendSkip} }

// processor is the stream configuration of the processing application.
func (c *Config) processor(procs *gen.Procs, ids *gen.Counter) stream.Config {
	return stream.Config{
		Group: c.Topic + "-sessionizer", Input: c.Topic, Partitions: c.Partitions, Outputs: []string{c.Output},
		NewApp:  func() stream.App { return newApp(c) },
		Members: c.Members, Lifetime: c.Lifetime, CrashShare: c.CrashShare, CrashChance: c.CrashChance,
		Client: c.Client, Procs: procs, IDs: ids, Rand: gen.Child(c.Rand),
		GroupMode: c.GroupMode,
		Defects:   stream.Defects{CommitBeforeWrite: c.Defects.CommitBeforeWrite, SkipRestore: c.Defects.SkipRestore},
	}
}
