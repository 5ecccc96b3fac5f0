//! sim-core: the engine under thermotwin.
//!
//! It knows nothing of HVAC, HTTP, tokio, axum or polars: only time, order and
//! chance, and how to advance many independent entities in parallel without
//! giving up reproducibility.
//!
//! ```text
//!   time ──────► SimTime, SimDuration (ms), ISO 8601 and "15m"-style parsing
//!   clock ─────► Clock: VirtualClock (driven by the run) | SystemClock (serve)
//!   queue ─────► EventQueue: (time, insertion) order, FIFO ties, cancellation
//!   scheduler ─► Scheduler: one entity's local now + its EventQueue
//!   rng ───────► stream(seed, entity, name) → independent ChaCha8 generator
//!   exec ──────► Executor: entities advance in parallel per window ─► exchange
//! ```
//!
//! Determinism rests on three rules: every entity draws only from its own
//! streams, an entity's events are handled in (time, insertion) order on its
//! own scheduler, and everything that crosses entities goes through the
//! executor's exchange step in a canonical order.

pub mod clock;
pub mod exec;
pub mod queue;
pub mod rng;
pub mod scheduler;
pub mod time;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use exec::{
    Deliveries, Entity, EntityId, Envelope, ExecError, Executor, Outbox, Progress, RunPlan,
    RunStats, Window,
};
pub use queue::{EventHandle, EventQueue};
pub use rng::{SimRng, Streams, stream};
pub use scheduler::Scheduler;
pub use time::{ParseDurationError, ParseTimeError, SimDuration, SimTime};
