// Package reconcile decides what a broker must do so that the partition
// replicas it holds match a metadata image: which replicas to open, which
// to give a new configuration, whether each leads, follows or waits, and
// which to remove. It is the reconciler's state machine in etcd-raft's
// RawNode style: the held replicas and the image in, a Plan out; the
// broker's shell (broker/reconcile.go) opens logs, starts fetchers and
// deletes directories.
//
// Invariants:
//   - A broker leads or follows nothing unless the image has its current
//     incarnation registered and unfenced (Node.Incarnation): a restarted
//     broker reading a stale image never acts as a second leader.
//   - A replica leads only where the image names this node leader; it
//     follows only a leader the image gives an address for; otherwise it
//     waits with its log as it is (no leader elected yet).
//   - A held replica of a topic the image no longer has, of a topic
//     deleted and created again under the same name (another topic id), or
//     of a partition no longer placed on this node, is removed; nothing
//     else is.
//   - Steps come in the image's order (topics by name, partitions by
//     index), removals sorted, so a plan is a pure function of its inputs.
//
// The package does no I/O and keeps no state between calls.
package reconcile
