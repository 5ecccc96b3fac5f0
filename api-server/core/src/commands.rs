//! Commands for devices: what one asks (the device API's command types,
//! and the tools of ecosystem modules queued under their own names), its
//! life from creation to result or expiry, and how a device says it ended.

use std::fmt;

use serde_json::Value;
use sim_core::{SimDuration, SimTime};

/// A command's type (`type` of `GET /v1/commands/pending`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Restart the device.
    Reboot,
    /// Change settings (setpoint, mode, fan, schedule, Eco, reporting).
    ConfigUpdate,
    /// Erase the device's settings (needs `confirm: true`).
    FactoryReset,
    /// Run and upload diagnostics.
    Diagnostics,
    /// A module's tool, queued under its own name; a thermostat reports it
    /// unsupported.
    Module(Box<str>),
}

impl CommandKind {
    /// The device API's command types, in its order.
    pub const DEVICE: [CommandKind; 4] = [
        CommandKind::Reboot,
        CommandKind::ConfigUpdate,
        CommandKind::FactoryReset,
        CommandKind::Diagnostics,
    ];

    /// The name on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            CommandKind::Reboot => "reboot",
            CommandKind::ConfigUpdate => "config_update",
            CommandKind::FactoryReset => "factory_reset",
            CommandKind::Diagnostics => "diagnostics",
            CommandKind::Module(tool) => tool,
        }
    }

    /// The device API's type named `name`, or a module's tool of that name.
    pub fn from_name(name: &str) -> CommandKind {
        CommandKind::DEVICE
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| CommandKind::Module(name.into()))
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A command for a device.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Id (a UUID).
    pub command_id: String,
    /// What it asks of the device.
    pub kind: CommandKind,
    /// Payload object.
    pub payload: Value,
    /// When it was created.
    pub created_at: SimTime,
    /// When it expires (24 h after creation).
    pub expires_at: SimTime,
    /// When the device first fetched it (`GET /v1/commands/pending`).
    pub delivered_at: Option<SimTime>,
    /// The device's result, once reported.
    pub result: Option<CommandResult>,
}

/// How a device says a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    /// It ran.
    Acked,
    /// It did not (the device says why in the error message).
    Failed,
}

impl CommandStatus {
    /// The device API's name (`acked`, `failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Acked => "acked",
            CommandStatus::Failed => "failed",
        }
    }

    /// The status named `s`, if the device API has one.
    pub fn parse(s: &str) -> Option<CommandStatus> {
        [CommandStatus::Acked, CommandStatus::Failed]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// A device's report of a command (`POST /v1/commands/result`).
#[derive(Debug, Clone, PartialEq)]
pub struct CommandResult {
    /// How it ended.
    pub status: CommandStatus,
    /// The device's message, if any.
    pub error_message: Option<String>,
    /// Result data (an object), if any.
    pub result: Option<Value>,
    /// When the server received the report.
    pub reported_at: SimTime,
}

/// How long a command waits for its device.
pub const COMMAND_TTL: SimDuration = SimDuration::from_hours(24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_types_round_trip_and_other_names_are_module_tools() {
        for k in CommandKind::DEVICE {
            assert_eq!(CommandKind::from_name(k.as_str()), k);
            assert!(!matches!(k, CommandKind::Module(_)));
        }
        assert_eq!(
            CommandKind::from_name("open_valve"),
            CommandKind::Module("open_valve".into())
        );
        assert_eq!(CommandKind::from_name("open_valve").as_str(), "open_valve");
        // Case matters on the wire.
        assert!(matches!(
            CommandKind::from_name("Reboot"),
            CommandKind::Module(_)
        ));
        assert_eq!(CommandKind::ConfigUpdate.to_string(), "config_update");
    }
}
