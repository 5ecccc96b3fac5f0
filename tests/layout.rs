//! Rules of the code's shape that the compiler does not check.

use std::path::{Path, PathBuf};

/// The library crates' source folders.
const LIBRARIES: [&str; 7] = [
    "api-server/core/src",
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

/// The lines (`path:line: text`) of the Rust files under `dirs` that
/// `hit` flags, after checking that there are more than `at_least` files.
fn lines_where(dirs: &[&str], at_least: usize, hit: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > at_least, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if hit(line) {
                found.push(format!(
                    "{}:{}: {}",
                    file.strip_prefix(root).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn library_errors_are_types_not_strings() {
    // Issue 21: errors in the library crates are typed (thiserror) and keep
    // their sources; a `String` error cannot be matched on or traced.
    let found = lines_where(&LIBRARIES, 50, string_error);
    assert!(
        found.is_empty(),
        "String errors in library crates:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_runner_does_not_lock_server_accounts() {
    // Issue 21: the runner reads what the server stored, predicted and
    // ended from the accounts' journals and their end state from
    // `AppState::report`; it never takes an account's lock itself
    // (`AppState::accounts` hands out the raw `Mutex`es).
    let found = lines_where(&["scenarios/src"], 10, |line| line.contains(".accounts()"));
    assert!(
        found.is_empty(),
        "scenarios locks server accounts:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_domain_core_does_not_depend_on_http_or_an_async_runtime() {
    // Issue 21: api-core is the server's domain without HTTP; the boundary
    // is the crate's dependency list (its whole tree is checked in CI).
    let toml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("api-server/core/Cargo.toml"),
    )
    .unwrap();
    let deps = toml
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .unwrap();
    let names: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.split(['.', '=', ' ']).next())
        .filter(|n| !n.is_empty() && !n.starts_with('#'))
        .collect();
    assert!(names.contains(&"sim-core"), "{names:?}");
    for forbidden in ["axum", "http", "hyper", "tokio", "tower", "ureq"] {
        assert!(
            !names.contains(&forbidden),
            "api-core depends on {forbidden}"
        );
    }
}

/// The top-level modules of the crate at `src` and the other top-level
/// modules each names through `crate::`.
fn module_graph(
    src: &Path,
) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let mut graph = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path.clone());
        }
        let mut uses = std::collections::BTreeSet::new();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, _) in text.match_indices("crate::") {
                let used: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !used.is_empty() && used != name {
                    uses.insert(used);
                }
            }
        }
        graph.insert(name, uses);
    }
    graph
}

/// A cycle in `graph`, if there is one.
fn cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(path[i..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_owned());
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let g = |edges: &[(&str, &str)]| {
        let mut m = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
        for (a, b) in edges {
            m.entry((*a).into()).or_default().insert((*b).into());
            m.entry((*b).into()).or_default();
        }
        m
    };
    assert_eq!(cycle(&g(&[("a", "b"), ("b", "c")])), None);
    assert_eq!(
        cycle(&g(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
}

#[test]
fn the_domain_core_modules_import_without_cycles() {
    // Issue 21: the core's modules form layers, so each can be read (and
    // tested) from its leaves up.
    let graph = module_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("api-server/core/src"));
    assert!(graph.contains_key("predictors") && graph.contains_key("records"));
    assert_eq!(cycle(&graph), None, "{graph:?}");
}
