// Package cli holds the logic of the weir command's client subcommands:
// topics, produce, consume, groups and version. They talk to any
// Kafka-compatible cluster (Weir or Kafka) through franz-go (kgo for
// records, kadm for admin requests) and take the flag names, properties and
// output formats of Kafka's own tools (kafka-topics, kafka-console-producer,
// kafka-console-consumer, kafka-consumer-groups), so that commands copied
// from Kafka guides work.
//
// Every command is a [Func]: it takes its arguments and standard streams and
// returns an exit code, so tests run it in-process against kfake.
//
// Invariants:
//   - Exit codes: [ExitOK] on success, [ExitError] when the work failed (one
//     line on stderr: `weir <cmd>: <what went wrong>`), [ExitUsage] when the
//     command line is wrong (the error, and for unknown flags the usage).
//   - Data goes to stdout, diagnostics to stderr; nothing else is printed on
//     success except what the Kafka tool would print.
//   - produce exits 0 only after every record it read was acknowledged.
//   - consume --group ends at --timeout-ms or SIGINT even when the group
//     cannot form (its final commit and its leave are bounded), and then
//     says why.
//   - Commands never touch process state (os.Exit, os.Args, signals, package
//     variables): cancellation comes in through the context.
package cli
