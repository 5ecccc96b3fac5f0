//! A thermostat's operating mode, as the AURRA API names it: the one type
//! and the one list every check, record and render of the server reads.

use std::fmt;

/// Operating mode (`mode` of setpoints, schedules and automations'
/// actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Heat only (the firmware's factory setting).
    #[default]
    Heat,
    /// Cool only.
    Cool,
    /// Heat or cool to stay between two setpoints.
    Auto,
    /// Nothing runs.
    Off,
}

impl Mode {
    /// Every mode, in the API's order.
    pub const ALL: [Mode; 4] = [Mode::Heat, Mode::Cool, Mode::Auto, Mode::Off];

    /// Every mode's name, in the same order.
    pub const NAMES: [&'static str; 4] = [
        Mode::Heat.as_str(),
        Mode::Cool.as_str(),
        Mode::Auto.as_str(),
        Mode::Off.as_str(),
    ];

    /// The API's name (`heat`, `cool`, `auto`, `off`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Heat => "heat",
            Mode::Cool => "cool",
            Mode::Auto => "auto",
            Mode::Off => "off",
        }
    }

    /// The mode named `name` exactly, if any.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for (m, name) in Mode::ALL.into_iter().zip(Mode::NAMES) {
            assert_eq!(m.as_str(), name);
            assert_eq!(Mode::parse(name), Some(m));
            assert_eq!(m.to_string(), name);
        }
        for bad in ["", "Heat", "HEAT", "fan", "heat ", "emergency"] {
            assert_eq!(Mode::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Mode::default(), Mode::Heat);
    }
}
