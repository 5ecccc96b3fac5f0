//! Reading and checking scenario files, with errors a user can act on: a
//! syntax error or an unknown key points at its line and column; a value
//! out of range names the key, the value and the allowed range (and its
//! line where the file sets it); a missing EPW file names the path.

use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, Value};

use crate::schema::Scenario;

/// Why a scenario file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, if one was read.
    pub file: Option<PathBuf>,
    /// 1-based line and column, where known.
    pub location: Option<(usize, usize)>,
    /// The key (`fleet.locations[0].latitude`), where one is at fault.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
        }
        if let Some((line, column)) = self.location {
            write!(f, "{line}:{column}:")?;
        }
        if self.file.is_some() || self.location.is_some() {
            write!(f, " ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A value out of range (before locating it in the file).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub(crate) key: String,
    pub(crate) message: String,
}

pub(crate) fn range(
    key: impl Into<String>,
    value: impl std::fmt::Display,
    allowed: &str,
) -> Invalid {
    Invalid {
        key: key.into(),
        message: format!("{value} is out of range: expected {allowed}"),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The span of the item at `key` (`a.b[2].c`), or of its nearest ancestor
/// present in the file.
fn span_of(doc: &Document<String>, key: &str) -> Option<std::ops::Range<usize>> {
    #[derive(Clone, Copy)]
    enum Node<'a> {
        Table(&'a toml_edit::Table),
        Inline(&'a toml_edit::InlineTable),
        Item(&'a Item),
        Value(&'a Value),
    }
    fn span(n: Node<'_>) -> Option<std::ops::Range<usize>> {
        match n {
            Node::Table(t) => t.span(),
            Node::Inline(t) => t.span(),
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
        }
    }
    fn normalise(n: Node<'_>) -> Node<'_> {
        match n {
            Node::Item(Item::Table(t)) => Node::Table(t),
            Node::Item(Item::Value(v)) | Node::Value(v) => match v {
                Value::InlineTable(t) => Node::Inline(t),
                other => Node::Value(other),
            },
            other => other,
        }
    }
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let child = match node {
            Node::Table(t) => t.get(name).map(Node::Item),
            Node::Inline(t) => t.get(name).map(Node::Value),
            _ => None,
        };
        let Some(mut child) = child else { break };
        if let Some(i) = index {
            let element = match child {
                Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
                Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                    a.get(i).map(Node::Value)
                }
                _ => None,
            };
            best = span(child).or(best);
            let Some(e) = element else { break };
            child = e;
        }
        let child = normalise(child);
        best = span(child).or(best);
        node = child;
    }
    best
}

/// Parses and checks a scenario from `text`; `base` resolves relative
/// paths (the scenario file's folder).
pub fn parse_str(text: &str, base: &Path) -> Result<Scenario, ScenarioError> {
    let at = |span: Option<std::ops::Range<usize>>| span.map(|s| line_col(text, s.start));
    let doc = Document::parse(text.to_owned()).map_err(|e| ScenarioError {
        file: None,
        location: at(e.span()),
        key: None,
        message: e.message().trim().to_owned(),
    })?;
    let mut scenario: Scenario =
        toml_edit::de::from_document(doc.clone()).map_err(|e| ScenarioError {
            file: None,
            location: at(e.span()),
            key: None,
            message: e.message().trim().to_owned(),
        })?;
    // Weather files are relative to the scenario file.
    let files = scenario
        .fleet
        .locations
        .iter_mut()
        .map(|l| &mut l.epw_file)
        .chain([&mut scenario.climate.epw_file]);
    for file in files {
        if let Some(p) = file.as_ref()
            && p.is_relative()
        {
            *file = Some(base.join(p));
        }
    }
    // So are trained model files, and outside models run there.
    let server = &mut scenario.server;
    server.model_dir = base.to_owned();
    for spec in std::iter::once(&mut server.predictor).chain(&mut server.shadow_predictors) {
        if let Some(path) = spec.strip_prefix("logistic:")
            && Path::new(path).is_relative()
        {
            *spec = format!("logistic:{}", base.join(path).display());
        }
    }
    scenario.source = text.to_owned();
    crate::validate::validate(&scenario).map_err(|e| ScenarioError {
        file: None,
        location: at(span_of(&doc, &e.key)),
        key: Some(e.key),
        message: e.message,
    })?;
    Ok(scenario)
}

/// Reads, parses and checks the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: Some(path.to_owned()),
        location: None,
        key: None,
        message: format!("cannot read the scenario file: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_str(&text, base).map_err(|e| ScenarioError {
        file: Some(path.to_owned()),
        ..e
    })
}
