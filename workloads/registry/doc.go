// Package registry names the workloads a run can drive and says, for each,
// how to build it and judge it, so that the simulator (`weir sim
// --workload`), a run against a real cluster (`weir workload run`) and the
// re-judging of a run folder (`weir check`) all go through one table.
//
// # Model
//
// An Entry is one workload: its name, how a seed draws its parameters
// (Draw, given the Cluster it runs on), and how a Workload is built from
// those parameters and an Env (the bootstrap brokers, a dialer or a dialer
// per client host, a seeded random source). The parameters travel as JSON:
// what a run records in its header (header.json's params, under
// "workload_params") is exactly what it was built from, and `weir check`
// builds the same workload from it, without connecting, to get its checker
// options.
//
// The processing applications' planted defects (each workload's
// Config.Defects, off by default) are named here too, "<workload>/<defect>"
// (DefectCatalog, defects.go), with what each breaks and the checkers that
// should catch it. PlantDefect switches one on in a workload's drawn
// parameters, so a run that plants it records it where the application
// reads it, and a replay or `weir check` of the folder builds the same
// broken application.
//
// A Workload has four phases: Setup creates its topics (the simulator calls
// it in World.Setup, before the first fault), Run is the safety phase, Finish
// the final reads once the cluster healed, and Opts the checker options
// (anomalies the configuration allows, the workload's own properties).
// Hosts names the client hosts it dials from (the simulator's fault
// schedule may cut them off).
//
// A Set runs several workloads side by side against one cluster, each with
// its own recorder. With one workload, its history is the run's history,
// untouched. With several, the histories are merged in time order and each
// workload after the first has its process ids and producer-client ids
// shifted by a stride of its own (see History), so that no two workloads
// share a process or a client; their topics, and the values they send,
// must differ (History refuses two workloads that sent the same value).
//
// # Adding a workload
//
// payments and vitals have clickstream's shape (New(cfg) (*Workload,
// error), Run, Finish, Opts, and Topics: the topics Run creates, with
// their configs, so that Setup can create them before the first fault).
// Each is a file like clickstream.go, about forty lines: its parameters
// (the workload's Config, whose fields have JSON names and whose Client
// and Rand are json:"-", plus min.insync.replicas), a draw function
// (topic names end in Cluster.TopicSuffix; Simulated sizes rates for the
// guest), and a build that fills Client and Rand from the Env
// (env.client(host), env.rand()), calls New and wraps it with shaped;
// then one row in Entries. Nothing else changes: weir sim --workload,
// weir workload run and weir check find it by name.
//
// # Invariants
//
// Build does no I/O: a Workload built with an empty Env still gives its
// Opts. Draw reads randomness only from its rng, in a fixed order. The
// package keeps no package-level mutable state (Entries builds its table
// on each call).
package registry
