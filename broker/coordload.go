package broker

// A coordinator shard (groups.go, txns.go) is loaded by reading its
// partition's whole log. That read can fail while the stored bytes are
// right: a bit flipped on the way from the disk fails a batch's CRC (the
// log never serves such a batch, log/doc.go), an I/O error need not
// repeat. Such a failure must not take the coordinator away until the
// broker restarts, since nothing else would load the shard again while
// this broker keeps leading the partition: its groups, or its transactions
// and the last stable offsets of every partition they wrote to, would hang
// (seed 5130, docs/SIMULATION.md). So a failed load leaves the shard
// loading (COORDINATOR_LOAD_IN_PROGRESS, which clients retry) and runs
// again after a backoff, for as long as the shard is still the one for the
// partition's leader epoch and the broker runs.

import "time"

const (
	coordLoadRetryMin = 100 * time.Millisecond
	coordLoadRetryMax = 5 * time.Second
)

// coordLoadRetry is a shard's count of failed loads.
type coordLoadRetry struct{ failures int }

// again schedules the shard's load once more after the backoff its
// failures so far earn, unless done is closed first, and logs why. what
// names the coordinator ("groups", "transactions"). Call it from the
// failed load (see retryCoordLoad).
func (r *coordLoadRetry) again(b *Broker, done <-chan struct{}, what, topic string, index int32, err error, load func()) {
	r.failures++
	wait := coordLoadBackoff(r.failures)
	b.log.Warn("loading "+what+" failed; loading again", "topic", topic, "partition", index, "failures", r.failures, "retry_in", wait, "err", err)
	b.retryCoordLoad(done, wait, load)
}

// coordLoadBackoff is the pause before loading a shard again after its
// failures-th failed load: doubling from coordLoadRetryMin, capped at
// coordLoadRetryMax.
func coordLoadBackoff(failures int) time.Duration {
	d := coordLoadRetryMin
	for i := 1; i < failures && d < coordLoadRetryMax; i++ {
		d *= 2
	}
	return min(d, coordLoadRetryMax)
}

// retryCoordLoad calls load after wait in a goroutine of its own, unless
// done is closed first. Call it from a goroutine that b.wg counts (a
// loader), so that its Add cannot race the Wait of a broker that stops.
func (b *Broker) retryCoordLoad(done <-chan struct{}, wait time.Duration, load func()) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := b.clock.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C():
			load()
		case <-done:
		}
	}()
}
