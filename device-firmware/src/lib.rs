//! device-firmware: the thermostat firmware as a sans-IO state machine.
//!
//! Planned contents (issue 4): control with compressor protection,
//! schedules, telemetry with store-and-forward, backoff, AURRA diagnostics
//! (vibration features by FFT, energy), settings, commands and OTA, fed inputs
//! (`handle_timeout(now)`, sensor readings, `handle_response`) and polled for
//! outputs (`poll_transmit`, `poll_timeout`, relays).
//!
//! It sees only what a real device sees and depends on no simulator crate:
//! no sim-core, no hvac-models, no tokio. Nothing is implemented here yet.
