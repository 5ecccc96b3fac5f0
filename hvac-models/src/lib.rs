//! hvac-models: the physics of thermotwin's digital twin — everything a real
//! home and its outdoor unit do that a thermostat can sense, and everything
//! that makes a compressor fail, with the ground truth recorded.
//!
//! ```text
//!   sun ──────────┐          occupancy ──► internal gains, open windows
//!   weather ──────┴─► FacadeIrradiance ──► home ◄── relays (firmware)
//!     synthetic | EPW                        │  ├─ thermal: 2R2C, exact ZOH step
//!                                            │  └─ equipment: HP / AC / furnace
//!   degradation ──► Health ──────────────────┘          │
//!     bearing wear │ refrigerant leak │ capacitor       ▼
//!        │                                      electrics: V, I (sags, inrush)
//!        └─► severity ──► vibration: waveform (FFT features) | fast features
//! ```
//!
//! SI units inside (°C, K, W, J, s, A, V, g); °F belongs to the API boundary.
//! Every model is a plain struct with documented units, validated parameters
//! ([`params::ParamError`] names the field, value and range), a citation for
//! its equations and defaults, and tests against known answers. Randomness
//! comes only from `sim_core` streams handed in by the caller, so a home's
//! physics is reproducible from the run seed.

pub mod degradation;
pub mod electrics;
pub mod equipment;
pub mod home;
pub mod humidity;
pub mod math;
pub mod occupancy;
pub mod params;
pub mod sun;
pub mod thermal;
pub mod ventilation;
pub mod vibration;
pub mod weather;
