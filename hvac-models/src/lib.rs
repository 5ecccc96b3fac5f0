//! hvac-models: the physics of thermotwin's digital twin.
pub mod degradation;
pub mod electrics;
pub mod equipment;
pub mod params;
pub mod sun;
pub mod thermal;
pub mod vibration;
pub mod weather;
