//! sim-core integration tests, one module per behaviour.

mod executor;
mod streams;
