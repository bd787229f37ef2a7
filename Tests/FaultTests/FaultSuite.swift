import Testing

/// The fault suite (issue 5): each scenario drives the real executables as processes against a
/// mock Kafka cluster in its own process and a real PostgreSQL, injects one kind of fault while
/// data flows, then checks conservation (``Conservation``). The scenarios run one at a time: each
/// loads the machine, and their figures (docs/reliability.md) mean more without the others.
@Suite(.serialized) enum FaultSuite {}
