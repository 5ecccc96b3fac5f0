//! hvac-models: the physics of thermotwin's digital twin.
//!
//! Planned contents (issue 3; DESIGN.md "Physics defaults"): synthetic and EPW
//! weather, sun position, the 2R2C home thermal model discretised exactly with
//! the matrix exponential, occupancy, heat pump / AC / furnace equipment with
//! EnergyPlus performance curves, 240 V electrics, degradation processes with
//! ground truth (bearing wear, refrigerant leak, capacitor ageing) and
//! accelerometer signal synthesis. SI units inside, each model citing its
//! source.
//!
//! Depends on `sim-core` only. Nothing is implemented here yet.
