// Command weir is Weir's single CLI: a Kafka-compatible broker (serve) and
// the client tools Kafka users already know (topics, produce, consume), with
// more subcommands (groups, sim, check, bench, report) added to the table in
// main.go.
//
// main only wires the process to the commands: it turns SIGINT/SIGTERM into
// context cancellation (a second signal kills the process) and os.Exit's the
// command's exit code. The commands' logic lives in package cli (and serve's
// in serve.go) so tests run them in-process; main itself must stay a table
// lookup.
package main
