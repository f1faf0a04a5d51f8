package broker

import "fmt"

// The broker's invariant checks, compiled in only with -tags invariants
// (every call site is guarded by invariants.Enabled); a partition's own
// are broker/partition's, reported through the Breach it is given. A
// failed check is reported through Deps.Breach and the broker goes on: the
// simulator wants the run's verdict, not a panic.

// breach reports a broken invariant to Deps.Breach, or logs it when nobody
// collects breaches.
func (b *Broker) breach(name, format string, args ...any) {
	detail := fmt.Sprintf(format, args...)
	if b.breachHook != nil {
		b.breachHook(name, detail)
		return
	}
	b.log.Error("invariant broken", "invariant", name, "detail", detail)
}
