//! Remote commands as the device reads them (AURRA device API,
//! `GET /devices/{id}/commands`): each `{type, payload}` is parsed into a
//! typed [`Command`] before anything runs, so a command either passes every
//! check and runs whole, or fails with a [`CommandError`] whose message is
//! the `error_message` the device reports — nothing is half-applied and no
//! field is read twice.
//!
//! ```text
//!   {type, payload} ──Command::parse──► Command ──Firmware executes──► acked + result
//!                        └── CommandError (unsupported type, bad payload) ──► failed + message
//! ```

use std::fmt;

use jiff::tz::TimeZone;
use serde_json::Value;

use crate::control::{FanMode, Mode};
use crate::schedule::{Eco, SETPOINT_RANGE_F, Schedule, ScheduleSpec};
use crate::telemetry::SensorType;

/// The longest reboot delay a command may ask for [s].
pub const MAX_REBOOT_DELAY_S: u64 = 3_600;

/// A command the firmware knows.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Restart after `delay_s` seconds (payload `delay_seconds`, at most
    /// [`MAX_REBOOT_DELAY_S`]; missing or invalid: now).
    Reboot {
        /// Seconds to wait.
        delay_s: u64,
    },
    /// Change settings, all or nothing.
    ConfigUpdate(Box<ConfigUpdate>),
    /// Erase the settings and restart (payload `confirm: true` required).
    FactoryReset,
    /// Report the device's state.
    Diagnostics,
}

/// A `config_update` payload, every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigUpdate {
    /// Setpoint [°F] and the mode it is for.
    pub setpoint: Option<(i64, Mode)>,
    /// Operating mode.
    pub mode: Option<Mode>,
    /// Fan setting.
    pub fan: Option<FanMode>,
    /// The weekly schedule.
    pub schedule: Option<Schedule>,
    /// Eco Mode.
    pub eco: Option<EcoUpdate>,
    /// Telemetry interval [s], 60 to 3,600.
    pub reporting_interval_s: Option<u64>,
    /// Sensors to report.
    pub enabled_sensors: Option<Vec<SensorType>>,
    /// The device's time zone.
    pub timezone: Option<TimeZone>,
    /// The payload's keys, sorted: what the result reports as applied.
    pub keys: Vec<String>,
}

/// An `eco` object of a `config_update`: `enabled` always, the limits when
/// given (the others keep their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcoUpdate {
    /// Whether Eco Mode is on.
    pub enabled: bool,
    /// Highest heat setpoint while on [°F].
    pub heat_limit: Option<i64>,
    /// Lowest cool setpoint while on [°F].
    pub cool_limit: Option<i64>,
}

impl EcoUpdate {
    /// `eco` with this update applied.
    pub fn apply(self, mut eco: Eco) -> Eco {
        eco.enabled = self.enabled;
        if let Some(h) = self.heat_limit {
            eco.heat_limit = h;
        }
        if let Some(c) = self.cool_limit {
            eco.cool_limit = c;
        }
        eco
    }
}

/// Why a command fails. Its `Display` is the `error_message` reported.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandError {
    /// A `type` the firmware does not know.
    Unsupported(String),
    /// `factory_reset` without `payload.confirm = true`.
    FactoryResetUnconfirmed,
    /// A `config_update` payload that does not check.
    Config(ConfigError),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Unsupported(kind) => write!(f, "unsupported command type {kind:?}"),
            CommandError::FactoryResetUnconfirmed => {
                f.write_str("factory_reset requires payload.confirm = true")
            }
            CommandError::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<ConfigError> for CommandError {
    fn from(e: ConfigError) -> Self {
        CommandError::Config(e)
    }
}

/// The first field of a `config_update` payload that does not check, in
/// the order the payload is read.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigError {
    /// The payload is not a JSON object.
    NotAnObject,
    /// `setpoint.temperature` is not an integer 40 to 90.
    SetpointTemperature,
    /// A mode (`field`) is not heat, cool, auto or off.
    Mode {
        /// `mode` or `setpoint.mode`.
        field: &'static str,
    },
    /// `fan` is not auto or on.
    Fan,
    /// `schedule` does not have the schedule's shape.
    ScheduleShape(String),
    /// `schedule` has the shape but not valid contents.
    Schedule(String),
    /// `eco.enabled` is not a boolean.
    EcoEnabled,
    /// An Eco limit (`key`) is not an integer 40 to 90.
    EcoLimit {
        /// `heat_limit` or `cool_limit`.
        key: &'static str,
    },
    /// `reporting_interval_seconds` is not 60 to 3,600.
    ReportingInterval,
    /// `enabled_sensors` is not a list.
    SensorsNotAList,
    /// `enabled_sensors` names a sensor the device does not have.
    UnknownSensor,
    /// `timezone` is not an IANA time zone.
    TimeZone,
    /// A key the firmware does not know.
    UnknownKey(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotAnObject => f.write_str("payload must be an object"),
            ConfigError::SetpointTemperature => {
                f.write_str("setpoint.temperature must be an integer 40 to 90")
            }
            ConfigError::Mode { field } => write!(f, "{field} must be heat, cool, auto or off"),
            ConfigError::Fan => f.write_str("fan must be auto or on"),
            ConfigError::ScheduleShape(e) => write!(f, "schedule: {e}"),
            ConfigError::Schedule(e) => write!(f, "schedule.{e}"),
            ConfigError::EcoEnabled => f.write_str("eco.enabled must be a boolean"),
            ConfigError::EcoLimit { key } => write!(f, "eco.{key} must be an integer 40 to 90"),
            ConfigError::ReportingInterval => {
                f.write_str("reporting_interval_seconds must be 60 to 3600")
            }
            ConfigError::SensorsNotAList => f.write_str("enabled_sensors must be a list"),
            ConfigError::UnknownSensor => f.write_str("enabled_sensors has an unknown sensor type"),
            ConfigError::TimeZone => f.write_str("timezone must be an IANA time zone"),
            ConfigError::UnknownKey(k) => write!(f, "unknown key {k:?}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The keys a `config_update` payload may have.
const CONFIG_KEYS: [&str; 8] = [
    "setpoint",
    "mode",
    "fan",
    "schedule",
    "eco",
    "reporting_interval_seconds",
    "enabled_sensors",
    "timezone",
];

impl Command {
    /// Parses a command of type `kind` with `payload`.
    pub fn parse(kind: &str, payload: &Value) -> Result<Command, CommandError> {
        match kind {
            "reboot" => Ok(Command::Reboot {
                delay_s: payload["delay_seconds"]
                    .as_u64()
                    .unwrap_or(0)
                    .min(MAX_REBOOT_DELAY_S),
            }),
            "config_update" => Ok(Command::ConfigUpdate(Box::new(ConfigUpdate::parse(
                payload,
            )?))),
            "factory_reset" => {
                if payload["confirm"].as_bool() == Some(true) {
                    Ok(Command::FactoryReset)
                } else {
                    Err(CommandError::FactoryResetUnconfirmed)
                }
            }
            "diagnostics" => Ok(Command::Diagnostics),
            other => Err(CommandError::Unsupported(other.to_owned())),
        }
    }
}

fn setpoint_f(v: &Value) -> Option<i64> {
    let (lo, hi) = SETPOINT_RANGE_F;
    v.as_i64().filter(|t| (lo..=hi).contains(t))
}

fn mode(v: &Value, field: &'static str) -> Result<Mode, ConfigError> {
    serde_json::from_value(v.clone()).map_err(|_| ConfigError::Mode { field })
}

impl ConfigUpdate {
    /// Checks every field of a `config_update` payload.
    pub fn parse(p: &Value) -> Result<ConfigUpdate, ConfigError> {
        let obj = p.as_object().ok_or(ConfigError::NotAnObject)?;
        let setpoint = match obj.get("setpoint") {
            Some(s) => {
                let t = setpoint_f(&s["temperature"]).ok_or(ConfigError::SetpointTemperature)?;
                Some((t, mode(&s["mode"], "setpoint.mode")?))
            }
            None => None,
        };
        let mode = obj.get("mode").map(|m| mode(m, "mode")).transpose()?;
        let fan = obj
            .get("fan")
            .map(|f| serde_json::from_value(f.clone()).map_err(|_| ConfigError::Fan))
            .transpose()?;
        let schedule = obj
            .get("schedule")
            .map(|s| {
                let spec: ScheduleSpec = serde_json::from_value(s.clone())
                    .map_err(|e| ConfigError::ScheduleShape(e.to_string()))?;
                Schedule::from_spec(&spec).map_err(|e| ConfigError::Schedule(e.to_string()))
            })
            .transpose()?;
        let eco = match obj.get("eco") {
            Some(e) => {
                let enabled = e["enabled"].as_bool().ok_or(ConfigError::EcoEnabled)?;
                let limit = |key: &'static str| {
                    e.get(key)
                        .map(|v| setpoint_f(v).ok_or(ConfigError::EcoLimit { key }))
                        .transpose()
                };
                Some(EcoUpdate {
                    enabled,
                    heat_limit: limit("heat_limit")?,
                    cool_limit: limit("cool_limit")?,
                })
            }
            None => None,
        };
        let reporting_interval_s = obj
            .get("reporting_interval_seconds")
            .map(|v| {
                v.as_u64()
                    .filter(|s| (60..=3_600).contains(s))
                    .ok_or(ConfigError::ReportingInterval)
            })
            .transpose()?;
        let enabled_sensors = obj
            .get("enabled_sensors")
            .map(|v| {
                let mut sensors = v
                    .as_array()
                    .ok_or(ConfigError::SensorsNotAList)?
                    .iter()
                    .map(|s| {
                        s.as_str()
                            .and_then(SensorType::parse)
                            .ok_or(ConfigError::UnknownSensor)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                sensors.sort();
                sensors.dedup();
                Ok(sensors)
            })
            .transpose()?;
        let timezone = obj
            .get("timezone")
            .map(|v| {
                v.as_str()
                    .and_then(|n| TimeZone::get(n).ok())
                    .ok_or(ConfigError::TimeZone)
            })
            .transpose()?;
        if let Some(k) = obj.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey(k.clone()));
        }
        let mut keys: Vec<String> = obj.keys().cloned().collect();
        keys.sort();
        Ok(ConfigUpdate {
            setpoint,
            mode,
            fan,
            schedule,
            eco,
            reporting_interval_s,
            enabled_sensors,
            timezone,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(p: Value) -> Result<ConfigUpdate, ConfigError> {
        ConfigUpdate::parse(&p)
    }

    #[test]
    fn known_commands_parse_and_unknown_ones_fail_by_name() {
        assert_eq!(
            Command::parse("reboot", &json!({"delay_seconds": 99_999})),
            Ok(Command::Reboot { delay_s: 3_600 })
        );
        assert_eq!(
            Command::parse("reboot", &Value::Null),
            Ok(Command::Reboot { delay_s: 0 })
        );
        assert_eq!(
            Command::parse("diagnostics", &Value::Null),
            Ok(Command::Diagnostics)
        );
        assert_eq!(
            Command::parse("factory_reset", &json!({"confirm": true})),
            Ok(Command::FactoryReset)
        );
        let unconfirmed = Command::parse("factory_reset", &json!({"confirm": "yes"})).unwrap_err();
        assert_eq!(
            unconfirmed.to_string(),
            "factory_reset requires payload.confirm = true"
        );
        let unknown = Command::parse("self_destruct", &Value::Null).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unsupported command type \"self_destruct\""
        );
    }

    #[test]
    fn a_config_update_checks_every_field_before_anything_applies() {
        let ok = config(json!({
            "setpoint": {"temperature": 70, "mode": "heat"},
            "fan": "on",
            "eco": {"enabled": true, "cool_limit": 82},
            "enabled_sensors": ["humidity", "temperature", "humidity"],
            "timezone": "America/Denver",
        }))
        .unwrap();
        assert_eq!(ok.setpoint, Some((70, Mode::Heat)));
        assert_eq!(ok.fan, Some(FanMode::On));
        assert_eq!(
            ok.eco,
            Some(EcoUpdate {
                enabled: true,
                heat_limit: None,
                cool_limit: Some(82)
            })
        );
        assert_eq!(
            ok.enabled_sensors,
            Some(vec![SensorType::Temperature, SensorType::Humidity])
        );
        assert_eq!(
            ok.keys,
            ["eco", "enabled_sensors", "fan", "setpoint", "timezone"]
        );
        for (payload, message) in [
            (json!([]), "payload must be an object"),
            (
                json!({"setpoint": {"temperature": 95, "mode": "heat"}}),
                "setpoint.temperature must be an integer 40 to 90",
            ),
            (
                json!({"setpoint": {"temperature": 70, "mode": "dry"}}),
                "setpoint.mode must be heat, cool, auto or off",
            ),
            (json!({"mode": 3}), "mode must be heat, cool, auto or off"),
            (json!({"fan": "max"}), "fan must be auto or on"),
            (json!({"eco": {}}), "eco.enabled must be a boolean"),
            (
                json!({"eco": {"enabled": true, "heat_limit": 20}}),
                "eco.heat_limit must be an integer 40 to 90",
            ),
            (
                json!({"reporting_interval_seconds": 10}),
                "reporting_interval_seconds must be 60 to 3600",
            ),
            (
                json!({"enabled_sensors": "temperature"}),
                "enabled_sensors must be a list",
            ),
            (
                json!({"enabled_sensors": ["sonar"]}),
                "enabled_sensors has an unknown sensor type",
            ),
            (
                json!({"timezone": "Mars/Olympus"}),
                "timezone must be an IANA time zone",
            ),
            (json!({"colour": "red"}), "unknown key \"colour\""),
            // The first bad field in reading order is the one reported.
            (
                json!({"fan": "max", "mode": "dry"}),
                "mode must be heat, cool, auto or off",
            ),
        ] {
            assert_eq!(
                config(payload.clone()).unwrap_err().to_string(),
                message,
                "{payload}"
            );
        }
    }

    #[test]
    fn an_eco_update_keeps_the_limits_it_does_not_name() {
        let eco = Eco {
            enabled: false,
            heat_limit: 62,
            cool_limit: 85,
        };
        let up = EcoUpdate {
            enabled: true,
            heat_limit: Some(60),
            cool_limit: None,
        };
        assert_eq!(
            up.apply(eco),
            Eco {
                enabled: true,
                heat_limit: 60,
                cool_limit: 85
            }
        );
    }
}
