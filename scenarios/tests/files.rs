//! Scenario files: the examples load, and every kind of mistake gives an
//! error that names the key, the value, the range and the place.

use std::path::Path;

use scenarios::{ScenarioError, parse_str};

const HEAD: &str = "name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n";

fn err(body: &str) -> ScenarioError {
    parse_str(&format!("{HEAD}{body}"), Path::new(".")).unwrap_err()
}

#[test]
fn every_example_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let s = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                path.file_stem().unwrap().to_str().unwrap(),
                s.name,
                "the file is named after its scenario"
            );
            n += 1;
        }
    }
    assert_eq!(
        n, 9,
        "the seven examples of issue 6, field-year and sensor-faults"
    );
    let q = scenarios::load(&dir.join("quickstart.toml")).unwrap();
    assert_eq!(q.fleet.homes, 50);
    assert_eq!(q.duration.0, sim_core::SimDuration::from_days(7));
}

#[test]
fn defaults_fill_everything_but_name_start_and_duration() {
    let s = parse_str(HEAD, Path::new(".")).unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.fleet.homes, 10);
    assert_eq!(s.accounts.len(), 1);
    assert_eq!(s.server.alert_threshold, 0.72);
    assert_eq!(s.firmware.version, "1.0.0");
    let e = parse_str("name = \"t\"\nduration = \"1d\"\n", Path::new(".")).unwrap_err();
    assert!(e.message.contains("start"), "{e}");
}

#[test]
fn an_unknown_key_names_itself_with_line_and_column() {
    let e = err("[fleet]\nhomes = 5\n  homez = 3\n");
    assert_eq!(e.location, Some((6, 3)), "{e}");
    assert!(e.message.contains("homez"), "{e}");
    assert!(e.message.contains("homes"), "suggests the known keys: {e}");
    let e = err("colour = \"red\"\n");
    assert_eq!(e.location, Some((4, 1)), "{e}");
}

#[test]
fn out_of_range_values_name_key_value_range_and_line() {
    let e = err("[fleet]\nhomes = 0\n");
    assert_eq!(e.key.as_deref(), Some("fleet.homes"));
    assert!(
        e.message.contains('0') && e.message.contains("1 to 100000"),
        "{e}"
    );
    assert_eq!(e.location.map(|l| l.0), Some(5), "{e}");
    assert_eq!(
        e.to_string(),
        "5:9: fleet.homes: 0 is out of range: expected 1 to 100000"
    );
    // Nested arrays of tables.
    let e = err(
        "[[fleet.locations]]\nname = \"a\"\nlatitude = 1\nlongitude = 2\ntimezone = \"UTC\"\n[[fleet.locations]]\nname = \"b\"\nlatitude = 95\nlongitude = 2\ntimezone = \"UTC\"\n",
    );
    assert_eq!(e.key.as_deref(), Some("fleet.locations[1].latitude"));
    assert_eq!(e.location.map(|l| l.0), Some(11), "{e}");
    // Ranges owned by the models keep their words.
    let e = err("[climate]\nannual_mean_c = 99\n");
    assert_eq!(e.key.as_deref(), Some("climate.annual_mean_c"));
    assert!(e.message.contains("-30 to 40"), "{e}");
    let e = err("[faults.bearing]\nincidence = 1.5\n");
    assert_eq!(e.key.as_deref(), Some("faults.bearing.incidence"));
    let e = err("[faults.bearing]\nspall_ratio = 0.5\n");
    assert_eq!(e.key.as_deref(), Some("faults.bearing.spall_ratio"));
    assert!(
        e.message.contains("0.5") && e.message.contains("1 to 10000"),
        "{e}"
    );
    let e = err("[firmware.control]\nmin_on_ms = 5\n");
    assert_eq!(e.key.as_deref(), Some("firmware.control.min_on_ms"));
    assert!(e.message.contains("1 to 30 minutes"), "{e}");
    let e = err("duration_extra = 1\n");
    assert!(e.message.contains("duration_extra"), "{e}");
    // Predictors: an outside model needs a command; its timeout a range.
    let e = err("[server]\nshadow_predictors = [\"trend\", \"cmd: \"]\n");
    assert_eq!(e.key.as_deref(), Some("server.shadow_predictors[1]"));
    assert!(e.message.contains("names no command"), "{e}");
    let e = err("[server]\nmodel_timeout = \"2h\"\n");
    assert_eq!(
        e.to_string(),
        "5:17: server.model_timeout: \"2h\" is out of range: expected 1s to 1h"
    );
}

#[test]
fn names_times_and_references_are_checked() {
    let e = parse_str(
        "name = \"t\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"soon\"\n",
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.message.contains("\"soon\" is not a duration"), "{e}");
    assert_eq!(e.location.map(|l| l.0), Some(3));
    let e = err(
        "[[fleet.locations]]\nname = \"x\"\nlatitude = 1\nlongitude = 1\ntimezone = \"Mars/Olympus\"\n",
    );
    assert_eq!(e.key.as_deref(), Some("fleet.locations[0].timezone"));
    let e = err("[fleet.archetypes]\ncastle = 1.0\n");
    assert_eq!(e.key.as_deref(), Some("fleet.archetypes.castle"));
    assert!(e.message.contains("apartment"), "{e}");
    let e = err("[[automations]]\naccount = \"nobody\"\nautomation = { name = \"x\" }\n");
    assert_eq!(e.key.as_deref(), Some("automations[0].account"));
    // Automations are checked with the server's own rules.
    let e = err(
        "[[automations]]\naccount = \"fleet\"\n[automations.automation]\nname = \"x\"\ntrigger = { type = \"sensor_threshold\", deviceId = \"$device\", sensor = \"temperature\", operator = \"about\", value = 1 }\nactions = [{ type = \"wait\", seconds = 5 }]\n",
    );
    assert_eq!(e.key.as_deref(), Some("automations[0].automation"));
    assert!(e.message.contains("trigger.operator"), "{e}");
    let e = err(
        "[[accounts]]\nname = \"a\"\n[[accounts.integrations]]\nname = \"i\"\nwebhooks = [\"device.exploded\"]\n",
    );
    assert_eq!(
        e.key.as_deref(),
        Some("accounts[0].integrations[0].webhooks[0]")
    );
    let e = err("[[ota.releases]]\nversion = \"0.9.0\"\npublish_at = \"1h\"\n");
    assert!(e.message.contains("not newer"), "{e}");
    let e = err("[[ota.releases]]\nversion = \"1.1.0\"\npublish_at = \"5d\"\n");
    assert_eq!(e.key.as_deref(), Some("ota.releases[0].publish_at"));
    let e = err("name2 = 1\n");
    assert!(e.location.is_some());
    let e = parse_str(
        "name = \"bad name!\"\nstart = \"2026-06-01T00:00:00Z\"\nduration = \"1d\"\n",
        Path::new("."),
    )
    .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("name"));
    let e = parse_str(
        "name = \"t\"\nstart = \"yesterday\"\nduration = \"1d\"\n",
        Path::new("."),
    )
    .unwrap_err();
    assert!(e.message.contains("ISO 8601"), "{e}");
}

#[test]
fn a_missing_epw_file_names_the_path() {
    let e = parse_str(
        &format!("{HEAD}[climate]\nsource = \"epw\"\nepw_file = \"weather/nowhere.epw\"\n"),
        Path::new("/data/scenarios"),
    )
    .unwrap_err();
    assert_eq!(e.key.as_deref(), Some("climate.epw_file"));
    assert!(
        e.message.contains("/data/scenarios/weather/nowhere.epw"),
        "{e}"
    );
    let e = err("[climate]\nsource = \"epw\"\n");
    assert!(e.message.contains("required"), "{e}");
}

#[test]
fn a_syntax_error_points_at_its_place_and_files_are_named() {
    let e = err("[fleet\nhomes = 3\n");
    assert_eq!(e.location.map(|l| l.0), Some(4), "{e}");
    let dir = std::env::temp_dir().join(format!("thermotwin-scn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, format!("{HEAD}[fleet]\nhomes = -1\n")).unwrap();
    let e = scenarios::load(&path).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("{}:5:", path.display())),
        "{e}"
    );
    let e = scenarios::load(&dir.join("missing.toml")).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
