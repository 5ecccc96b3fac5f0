//! Outside models over JSON lines: the example Python model round-trips,
//! and a model that answers nonsense, exits or hangs gives an error naming
//! it.

use std::time::Duration;

use scenarios::outside::{OutsideError, OutsideModel, Row};
use sim_core::SimTime;

const NAN: f64 = f64::NAN;

fn features(peak: f64, slope: f64) -> [f64; 10] {
    [peak, peak.ln(), slope, 0.1, 0.0, 4.0, 0.0, NAN, NAN, 0.5]
}

fn rows<'a>(f: &'a [[f64; 10]; 2]) -> [Row<'a>; 2] {
    [
        Row {
            device_id: "home-00001",
            at: SimTime::from_secs(1_000),
            features: &f[0],
        },
        Row {
            device_id: "home-00002",
            at: SimTime::from_secs(1_000),
            features: &f[1],
        },
    ]
}

#[test]
fn the_example_python_model_round_trips() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("python3 not found: the example outside model is not exercised");
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/models/vibration_trend.py"
    );
    let mut m = OutsideModel::spawn(
        "cmd:vibration_trend.py",
        &format!("python3 {script}"),
        Duration::from_secs(20),
    )
    .unwrap();
    let f = [features(0.22, 0.0), features(3.0, 0.3)];
    for _ in 0..3 {
        let p = m.predict(&rows(&f)).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].device_id, "home-00001");
        assert_eq!(p[0].issue, "Compressor bearing degradation");
        // The script's formula: σ(−4 + 2·ln peak + 6·max(slope, 0)).
        let expect = |peak: f64, slope: f64| {
            let z: f64 = -4.0 + 2.0 * peak.ln() + 6.0 * slope;
            ((1.0 / (1.0 + (-z).exp())) * 1e4).round() / 1e4
        };
        assert_eq!(p[0].confidence, expect(0.22, 0.0));
        assert_eq!(p[1].confidence, expect(3.0, 0.3));
    }
    // A device with no peak yet gets no prediction.
    let f = [features(NAN, NAN), features(1.0, 0.0)];
    let p = m.predict(&rows(&f)).unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].device_id, "home-00002");
}

#[test]
fn nonsense_exits_and_silence_are_errors_naming_the_model() {
    let f = [features(0.22, 0.0), features(3.0, 0.3)];
    let run = |command: &str, timeout_ms: u64| {
        let mut m =
            OutsideModel::spawn("cmd:bad", command, Duration::from_millis(timeout_ms)).unwrap();
        m.predict(&rows(&f)).unwrap_err()
    };
    let e = run("read line; echo 'not json'", 5_000);
    assert!(matches!(e, OutsideError::Malformed { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("model cmd:bad: bad answer to batch 1: not JSON"),
        "{e}"
    );
    let e = run(
        r#"read line; echo '{"batch": 1, "predictions": [{"device_id": "x", "issue": "i", "confidence": 0.5}]}'"#,
        5_000,
    );
    assert!(
        e.to_string().contains("must be a device of the batch"),
        "{e}"
    );
    let e = run(
        r#"read line; echo '{"batch": 1, "predictions": [{"device_id": "home-00001", "issue": "i", "confidence": 1.5}]}'"#,
        5_000,
    );
    assert!(
        e.to_string()
            .contains("confidence must be a number from 0 to 1"),
        "{e}"
    );
    let e = run("read line; echo 'boom' >&2; exit 3", 5_000);
    assert!(matches!(e, OutsideError::Exited { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("exit status: 3") && text.contains("boom"),
        "{text}"
    );
    let e = run("sleep 5", 200);
    assert!(matches!(e, OutsideError::Timeout { .. }), "{e}");
    assert!(
        e.to_string().contains("no answer to batch 1 within 0.2 s"),
        "{e}"
    );
}
