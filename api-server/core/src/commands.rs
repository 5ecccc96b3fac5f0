//! What a command asks of a device: the device API's command types, and
//! the tools of ecosystem modules queued under their own names.

use std::fmt;

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
