// Package simnet is a simulated network of named hosts, implementing env.Net
// per host, for running brokers and franz-go clients in one process.
//
// Model: a host is a name ("n1", "c1"); an address is "host:port". A
// connection is a pair of ordered byte streams, one delivery queue per
// direction. Every ordered pair of hosts (a link) gets a one-way latency drawn
// from the network's rng at the link's first use; each Write may add a drawn
// jitter, but a chunk is never due before the one written before it, so bytes
// of a stream arrive in order, exactly once, unchanged. Each direction holds
// at most Options.BufferBytes written and not yet read: a writer past that
// blocks (until the reader drains, a deadline, a close or a reset), like a
// full TCP window.
//
// Faults never drop, reorder or corrupt bytes inside a live stream, because
// TCP does not: a fault that separates two hosts resets the connections
// between them (both ends get ECONNRESET, queued bytes are discarded) and
// makes new dials fail. The faults:
//   - Isolate(h) / Rejoin(h): h can reach no other host.
//   - Partition(groups...): two hosts reach each other only if some group
//     holds both; a host named in no group (a client, say) reaches every
//     host. Overlapping groups make a bridge. Partition() with no groups
//     removes the split.
//   - CutOneWay(from, to): a stateful firewall that drops new connections
//     from->to. Existing connections between the two are reset (TCP over a
//     one-way link stalls and dies); to may still dial from, and such a
//     connection works both ways. Uncut removes it.
//   - Flaky(h, p): every Write on a connection of h, and every dial to or
//     from h, resets or fails with probability p.
//   - Stall(h) / Resume(h): nothing is delivered to or from h until Resume;
//     connections stay open and writers fill the buffers, as when a process
//     is paused (SIGSTOP) while the kernel keeps its sockets.
//   - HoldNextWrite(h, match, hold): the next write by h that match
//     accepts, and everything after it on that direction of its
//     connection, arrives hold late (a segment retransmitted late), while
//     h's other connections flow; the sender may give up and go on over a
//     new connection, and the receiver still gets the old bytes, then
//     the close. CancelHold disarms it before it fires.
//   - KillHost(h): a crash of h's process: its listeners close, its
//     connections reset and every env.Net handle obtained from Host(h) before
//     the kill is fenced (Listen and Dial fail), so a leftover goroutine of
//     the old incarnation cannot reach the network again. Host(h) afterwards
//     gives the next incarnation a working handle.
//   - Heal removes every fault except kills (a killed incarnation stays dead).
//
// Dials: an unknown host is a DNS error; a dial takes one round trip (the
// handshake) before it is queued on the listener; an unreachable host fails
// after a round trip with ECONNREFUSED, or, with Options.DialTimeout set,
// hangs that long (a dropped SYN) and fails with a timeout; a reachable host
// without a listener on the port, or a full backlog, is ECONNREFUSED.
//
// Invariants:
//   - All randomness comes from the *rand.Rand given to New, drawn under the
//     network's mutex; all time from Options.Clock (natively the real clock,
//     in the simulation guest the runtime's virtual clock). There is no
//     package-level mutable state.
//   - No goroutine of its own and no spin loop: Read, Write, Accept and Dial
//     block on channels and timers and wake on every state change that
//     concerns them, so every blocked call ends when its connection is closed
//     or reset, its deadline passes, or its context ends. (A Read waiting
//     for the due time of a chunk is not woken by later chunks, which are
//     due no earlier: each wake-up costs the single-threaded guest.)
//   - Connections and hosts are visited in sorted order (connection id, host
//     name) wherever the order reaches the trace or the rng, so a run of the
//     guest is a pure function of its seed.
//   - Lock order: Network.mu before pipe.mu; the rng and the trace callback
//     are used only with Network.mu held, so Options.Trace must not call back
//     into the Network.
package simnet
