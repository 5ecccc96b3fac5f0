//! device-firmware: the thermostat firmware as a sans-IO state machine — the
//! code that would ship on the device, runnable unchanged inside the
//! simulator.
//!
//! ```text
//!   sensors ─► Firmware ──────────────────────────────► relays (Y/O/W/G)
//!              ├─ control: hysteresis, min on/off, aux staging, fan
//!              ├─ schedule: blocks in the device's time zone, holds, Eco
//!              ├─ telemetry: bounded store-and-forward buffer, seq numbers
//!              ├─ tasks (backoff): settings, commands, OTA, AURRA token,
//!              │   vibration (FFT features) and energy, Zigbee hub
//!              └─ flash: what survives a reboot
//!   handle_response ◄── driver ──► poll_transmit (HTTP requests as data)
//! ```
//!
//! It sees only what a device sees: its sensors, its clock (every input
//! carries `now`), and HTTP responses. No sockets, threads, tokio or system
//! clock, and no dependency on the simulator's crates; randomness (backoff
//! jitter) comes from a generator handed in at boot. See
//! [`firmware::Firmware`] for the interface and the API extensions it uses.

pub mod backoff;
pub mod command;
pub mod config;
pub mod control;
pub mod firmware;
pub mod http;
pub mod schedule;
pub mod telemetry;
pub mod time;
pub mod vibration;
