//! device-firmware integration tests: the firmware against a scripted fake
//! server, driven the way the simulator drives it (sans-IO, virtual time, no
//! sockets). One module per behaviour.

mod aurra;
mod commands;
mod harness;
mod ota;
mod rates;
mod telemetry;
