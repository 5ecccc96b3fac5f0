//! OTA: every stage reported, checksum verified, the old version kept on
//! failure, the new one reported after the reboot.

use device_firmware::config::FirmwareConfig;
use sha2::{Digest, Sha256};

use crate::harness::{World, identity, minutes};

fn checksum(image: &[u8]) -> String {
    let d = Sha256::digest(image);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn stages(w: &World) -> Vec<String> {
    w.server
        .ota_reports
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_good_image_installs_and_reboots_into_the_new_version() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    let image = vec![0xAB; 4_096];
    w.server.ota = Some(("1.1.0".into(), image.clone(), checksum(&image)));
    w.run_until(minutes(5));
    assert_eq!(
        stages(&w),
        [
            "downloading",
            "downloading",
            "downloaded",
            "verifying",
            "applying",
            "completed"
        ]
    );
    assert_eq!(w.server.ota_reports[0]["progress_percent"], 0);
    assert_eq!(w.server.ota_reports[1]["progress_percent"], 100);
    assert_eq!(w.reboots, 1);
    assert_eq!(w.fw().version(), "1.1.0");
    assert!(
        w.server
            .seen
            .iter()
            .any(|s| s.path == "/v1/ota/check?current_version=1.0.0")
    );
    assert_eq!(w.server.count("/v1/ota/download/1.1.0"), 1);
    // The next check asks as 1.1.0 and installs nothing more.
    w.server.ota = None;
    w.run_until(minutes(70));
    assert!(
        w.server
            .seen
            .iter()
            .any(|s| s.path == "/v1/ota/check?current_version=1.1.0")
    );
}

#[test]
fn a_corrupt_image_fails_verification_and_keeps_the_old_version() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    let image = vec![1u8; 2_048];
    w.server.ota = Some(("1.1.0".into(), image, checksum(b"something else")));
    w.run_until(minutes(5));
    assert_eq!(
        stages(&w),
        [
            "downloading",
            "downloading",
            "downloaded",
            "verifying",
            "failed"
        ]
    );
    assert_eq!(
        w.server.ota_reports[4]["error_message"],
        "checksum mismatch"
    );
    assert_eq!(w.fw().version(), "1.0.0");
    assert_eq!(w.reboots, 0);
}

#[test]
fn failed_downloads_stay_within_five_an_hour() {
    let mut w = World::new(
        FirmwareConfig {
            ota_max_attempts: 100,
            ..FirmwareConfig::default()
        },
        identity(false, 0),
    );
    let image = vec![2u8; 100];
    w.server.ota = Some(("1.2.0".into(), image.clone(), checksum(&image)));
    w.server.script("/v1/ota/download/", |_, _| None);
    w.run_until(minutes(300));
    let downloads: Vec<_> = w
        .server
        .seen
        .iter()
        .filter(|s| s.path.starts_with("/v1/ota/download/"))
        .map(|s| s.at)
        .collect();
    assert!(downloads.len() >= 5);
    for (i, &t) in downloads.iter().enumerate() {
        let in_hour = downloads[i..]
            .iter()
            .take_while(|&&u| u.ms_since(t) < 3_600_000)
            .count();
        assert!(in_hour <= 5, "{in_hour} downloads within an hour");
    }
}

#[test]
fn an_image_that_does_not_match_its_release_fails_to_apply() {
    let mut w = World::new(FirmwareConfig::default(), identity(false, 0));
    let image = vec![7u8; 512];
    w.server.ota = Some(("1.3.0".into(), image.clone(), checksum(&image)));
    // The release claims another size than the image it serves.
    let sum = checksum(&image);
    w.server.script("/v1/ota/check", move |_, _| {
        let body = serde_json::json!({"update_available": true, "version": "1.3.0", "checksum": sum, "size_bytes": 999});
        Some(device_firmware::http::Response::json(200, &body))
    });
    w.run_until(minutes(5));
    assert_eq!(
        stages(&w),
        [
            "downloading",
            "downloading",
            "downloaded",
            "verifying",
            "applying",
            "failed"
        ]
    );
    assert_eq!(w.fw().version(), "1.0.0");
    assert_eq!(w.reboots, 0);
}
