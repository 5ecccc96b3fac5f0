//! scenarios: the scenario file schema and its validation, the runner that
//! wires homes, firmware and the server together, and example scenarios in
//! `scenarios/examples/`.
//!
//! Planned contents (issue 6): a serde `ScenarioFile` (unknown keys denied)
//! validated into a `Scenario` whose errors name the key, the value and the
//! allowed range; the runner on sim-core's windowed executor with the
//! in-process HTTP transport. Nothing is implemented here yet.
