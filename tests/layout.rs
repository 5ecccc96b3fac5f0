//! Rules of the code's shape that the compiler does not check.

use std::path::{Path, PathBuf};

/// The library crates' source folders.
const LIBRARIES: [&str; 6] = [
    "api-server/src",
    "device-firmware/src",
    "hvac-models/src",
    "reports/src",
    "scenarios/src",
    "sim-core/src",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where `line` declares a `Result` whose error is a bare `String`.
fn string_error(line: &str) -> bool {
    line.match_indices("Result<").any(|(i, _)| {
        let rest = &line[i..];
        // The error type is the last argument: `…, String>` closing this
        // `Result<`.
        let mut depth = 0usize;
        for (j, c) in rest.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        return rest[..j].trim_end().ends_with(", String");
                    }
                }
                _ => {}
            }
        }
        false
    })
}

#[test]
fn the_checker_sees_string_errors_and_only_them() {
    assert!(string_error("pub fn f() -> Result<(), String> {"));
    assert!(string_error(
        "fn g(x: u8) -> Result<Vec<(String, f64)>, String> {"
    ));
    assert!(!string_error("fn h() -> Result<Vec<String>, Error> {"));
    assert!(!string_error("fn k() -> Result<String, ParamError> {"));
}

#[test]
fn library_errors_are_types_not_strings() {
    // Issue 21: errors in the library crates are typed (thiserror) and keep
    // their sources; a `String` error cannot be matched on or traced.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for lib in LIBRARIES {
        rust_files(&root.join(lib), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if string_error(line) {
                found.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(root).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "String errors in library crates:\n{}",
        found.join("\n")
    );
}
