//! api-core: the domain core under thermotwin's API server — what the
//! server knows and decides, without HTTP. Nothing here depends on axum,
//! http or tokio (the build enforces it: this crate does not depend on them,
//! and CI checks its whole dependency tree); the `api-server` crate routes
//! requests to it and renders its answers.
//!
//! ```text
//!   api-server (axum: routes, extractors, error envelopes, OpenAPI)
//!        │
//!        ▼
//!   api-core ── commands      what a command asks of a device, its result
//!            ├─ credentials   hashed secrets, constant-time checks
//!            ├─ journal       an account's domain events, bounded
//!            ├─ ratelimit     fixed-window limits per key
//!            ├─ records       readings and reports the server keeps
//!            ├─ store         where they are kept (in memory, bounded)
//!            ├─ thermostat    the operating mode, one type for every check
//!            └─ predictors    failure predictors over the records
//! ```
//!
//! Leaves first: each module here depends on nothing above it; the rest of
//! the server's domain (accounts, store, webhooks, OTA, automations) moves
//! in as it is separated from its handlers.

pub mod commands;
pub mod credentials;
pub mod journal;
pub mod predictors;
pub mod ratelimit;
pub mod records;
pub mod store;
pub mod thermostat;
