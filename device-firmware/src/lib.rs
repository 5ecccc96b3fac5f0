//! device-firmware: the thermostat firmware as a sans-IO state machine.
pub mod backoff;
pub mod control;
pub mod http;
pub mod schedule;
pub mod telemetry;
pub mod time;
pub mod vibration;
