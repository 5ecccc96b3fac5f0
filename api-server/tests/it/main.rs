//! api-server integration tests: the router in process, on a virtual clock.

mod alerts;
mod auth;
mod automations;
mod climate;
mod device;
mod diagnostics;
mod ecosystem;
mod engine;
mod harness;
mod ota;
mod robustness;
mod socket;
mod thermostat;
mod webhooks;
