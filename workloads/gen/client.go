package gen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Dialer connects clients (kgo.Dialer's shape); nil dials with the OS.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// ClientConfig is how a workload's kgo clients reach the cluster, with
// every wait bounded.
type ClientConfig struct {
	Bootstrap []string // seed brokers, host:port; required
	Dialer    Dialer
	// OpTimeout bounds one produce (kgo's record delivery timeout; kgo's
	// floor is 1s); PollTimeout one poll (fetches wait half of it).
	OpTimeout   time.Duration
	PollTimeout time.Duration
	Opts        []kgo.Opt // applied last, so they override the defaults
}

// withDefaults fills the timeouts: 10s per op, 1s per poll.
func (c ClientConfig) withDefaults() ClientConfig {
	if c.OpTimeout <= 0 {
		c.OpTimeout = 10 * time.Second
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = time.Second
	}
	return c
}

// Timeouts returns c's op and poll timeouts, defaults applied.
func (c ClientConfig) Timeouts() (op, poll time.Duration) {
	d := c.withDefaults()
	return d.OpTimeout, d.PollTimeout
}

// Options returns the bounded timeouts, the seeds and the dialer, then
// extra, then c.Opts.
func (c ClientConfig) Options(extra ...kgo.Opt) []kgo.Opt {
	c = c.withDefaults()
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Bootstrap...),
		kgo.RetryTimeout(5 * time.Second),
		kgo.RequestTimeoutOverhead(5 * time.Second),
		kgo.RecordDeliveryTimeout(max(c.OpTimeout, time.Second)), // kgo's floor is 1s
		kgo.DialTimeout(3 * time.Second),
		kgo.MetadataMinAge(250 * time.Millisecond),
		kgo.FetchMaxWait(c.PollTimeout / 2),
	}
	if c.Dialer != nil {
		opts = append(opts, kgo.Dialer(c.Dialer))
	}
	opts = append(opts, extra...)
	return append(opts, c.Opts...)
}

// New returns a client with Options(extra...).
func (c ClientConfig) New(extra ...kgo.Opt) (*kgo.Client, error) {
	if len(c.Bootstrap) == 0 {
		return nil, errors.New("no bootstrap brokers")
	}
	return kgo.NewClient(c.Options(extra...)...)
}

// Topic is a topic a workload creates.
type Topic struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]*string
}

// CreateTopics creates the topics; one that already exists is fine.
// Faults may be under way from the first moment (a crash, a failing disk),
// so it keeps trying every half second until every topic exists or ctx
// ends, as an operator's tooling would.
func CreateTopics(ctx context.Context, cc ClientConfig, topics ...Topic) error {
	cl, err := cc.New()
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for _, t := range topics {
		for {
			resp, err := adm.CreateTopic(ctx, t.Partitions, t.ReplicationFactor, t.Configs, t.Name)
			if err == nil {
				err = resp.Err
			}
			if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
				break
			}
			if !Sleep(ctx, 500*time.Millisecond) {
				return fmt.Errorf("create topic %s: %w (last error: %v)", t.Name, ctx.Err(), err)
			}
		}
	}
	return nil
}

// Killable wraps a dialer so that all connections it made can be cut at
// once: a client whose connections are cut and whose dials fail is a
// crashed process to the cluster (no goodbye, no leave, no abort). A
// killed Killable refuses every later dial.
type Killable struct {
	base Dialer

	mu     sync.Mutex
	killed bool
	conns  map[net.Conn]struct{}
	frozen chan struct{} // closed by Thaw; nil when not frozen
}

// NewKillable wraps base (nil: the OS dialer).
func NewKillable(base Dialer) *Killable {
	return &Killable{base: base, conns: map[net.Conn]struct{}{}}
}

// Dial dials through the base dialer unless k was killed.
func (k *Killable) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	k.wait()
	k.mu.Lock()
	if k.killed {
		k.mu.Unlock()
		return nil, errors.New("process crashed")
	}
	k.mu.Unlock()
	var c net.Conn
	var err error
	if k.base != nil {
		c, err = k.base(ctx, network, addr)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.killed {
		c.Close()
		return nil, errors.New("process crashed")
	}
	k.conns[c] = struct{}{}
	return &trackedConn{Conn: c, k: k}, nil
}

// Kill closes every connection and refuses later dials.
func (k *Killable) Kill() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed = true
	for c := range k.conns {
		c.Close()
	}
	clear(k.conns)
	if k.frozen != nil {
		close(k.frozen)
		k.frozen = nil
	}
}

// Freeze stops the process's traffic as a stopped process (a long GC
// pause, SIGSTOP, a VM migration) does: its connections stay open, but no
// read or write and no dial goes on until Thaw, and what it had in flight
// goes on after. Kill thaws what it cuts.
func (k *Killable) Freeze() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.frozen == nil {
		k.frozen = make(chan struct{})
	}
}

// Thaw lets a frozen process's traffic go on.
func (k *Killable) Thaw() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.frozen != nil {
		close(k.frozen)
		k.frozen = nil
	}
}

// wait blocks while k is frozen.
func (k *Killable) wait() {
	k.mu.Lock()
	f := k.frozen
	k.mu.Unlock()
	if f != nil {
		<-f
	}
}

type trackedConn struct {
	net.Conn
	k    *Killable
	once sync.Once
}

func (c *trackedConn) Read(b []byte) (int, error) {
	c.k.wait()
	return c.Conn.Read(b)
}

func (c *trackedConn) Write(b []byte) (int, error) {
	c.k.wait()
	return c.Conn.Write(b)
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.k.mu.Lock()
		delete(c.k.conns, c.Conn)
		c.k.mu.Unlock()
	})
	return c.Conn.Close()
}
