//! hvac-models: the physics of thermotwin's digital twin.
pub mod params;
pub mod sun;
pub mod thermal;
pub mod weather;
