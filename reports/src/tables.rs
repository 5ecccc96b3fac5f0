//! The run's tables, streamed to Parquet in bounded memory: rows are
//! buffered per table and written as a row group every
//! [`ROWS_PER_GROUP`] rows, so a long run never holds a whole table.
//!
//! Each table's columns are fixed here ([`TableSpec`]); times are UTC
//! datetimes in milliseconds. `thermotwin report` (issue 7) reads them back.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars_core::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use polars_io::parquet::write::{BatchedWriter, ParquetWriter};

/// The table reader's error (what [`read`] and [`scan`] return), for
/// callers that keep it as a source.
pub use polars_core::error::PolarsError;

/// Rows buffered before a row group is written.
pub const ROWS_PER_GROUP: usize = 65_536;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTC instant [ms since the Unix epoch], stored as a datetime.
    Time,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
    /// Text.
    Text,
    /// Boolean.
    Bool,
    /// Integer or null.
    OptInt,
    /// Float or null.
    OptFloat,
    /// Text or null.
    OptText,
}

/// A value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// A time [ms].
    Time(i64),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
    /// Text that lives for the whole run (a label, a route).
    Label(&'static str),
    /// Shared text (an interned name).
    Shared(std::sync::Arc<str>),
    /// A boolean.
    Bool(bool),
    /// An integer or null.
    OptInt(Option<i64>),
    /// A float or null.
    OptFloat(Option<f64>),
    /// Text or null.
    OptText(Option<String>),
}

/// A table: its file name and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// File stem (`homes` → `homes.parquet`).
    pub name: &'static str,
    /// Column names and types.
    pub columns: &'static [(&'static str, Kind)],
}

/// A column being filled; text goes straight into Arrow's string views
/// (short strings inline), not one heap string per cell.
enum Buf {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text(StringChunkedBuilder),
    Bool(Vec<bool>),
    OptInt(Vec<Option<i64>>),
    OptFloat(Vec<Option<f64>>),
}

/// A text column's builder with room for `rows` values (at least 1,024).
fn text_builder(rows: usize) -> StringChunkedBuilder {
    StringChunkedBuilder::new(PlSmallStr::EMPTY, rows.max(1_024))
}

impl Buf {
    fn new(kind: Kind) -> Buf {
        match kind {
            Kind::Time | Kind::Int => Buf::Int(Vec::new()),
            Kind::Float => Buf::Float(Vec::new()),
            Kind::Text | Kind::OptText => Buf::Text(text_builder(0)),
            Kind::Bool => Buf::Bool(Vec::new()),
            Kind::OptInt => Buf::OptInt(Vec::new()),
            Kind::OptFloat => Buf::OptFloat(Vec::new()),
        }
    }

    fn push(&mut self, v: V, kind: Kind) -> bool {
        match (self, v) {
            (Buf::Int(b), V::Time(x) | V::Int(x)) => b.push(x),
            (Buf::Float(b), V::Float(x)) => b.push(x),
            (Buf::Text(b), V::Text(x)) => b.append_value(x),
            (Buf::Text(b), V::Label(x)) => b.append_value(x),
            (Buf::Text(b), V::Shared(x)) => b.append_value(&*x),
            (Buf::Text(b), V::OptText(x)) if kind == Kind::OptText => b.append_option(x),
            (Buf::Bool(b), V::Bool(x)) => b.push(x),
            (Buf::OptInt(b), V::OptInt(x)) => b.push(x),
            (Buf::OptFloat(b), V::OptFloat(x)) => b.push(x),
            _ => return false,
        }
        true
    }

    /// The column so far, as a polars column; the buffer starts again with
    /// room for as many rows (a full row group is usually followed by
    /// another: no regrowing from empty, copying, and faulting in fresh
    /// pages at every doubling).
    fn take(&mut self, name: &str, kind: Kind, rows: usize) -> PolarsResult<Column> {
        fn next<T>(b: &mut Vec<T>, rows: usize) -> Vec<T> {
            std::mem::replace(b, Vec::with_capacity(rows))
        }
        let name = PlSmallStr::from(name);
        let column = match self {
            Buf::Int(b) => Column::new(name, next(b, rows)),
            Buf::Float(b) => Column::new(name, next(b, rows)),
            Buf::Text(b) => std::mem::replace(b, text_builder(rows))
                .finish()
                .with_name(name)
                .into_column(),
            Buf::Bool(b) => Column::new(name, next(b, rows)),
            Buf::OptInt(b) => Column::new(name, next(b, rows)),
            Buf::OptFloat(b) => Column::new(name, next(b, rows)),
        };
        if kind == Kind::Time {
            column.cast(&DataType::Datetime(
                TimeUnit::Milliseconds,
                Some(TimeZone::UTC),
            ))
        } else {
            Ok(column)
        }
    }
}

/// Why a table could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table {table} ({path}): {message}")]
pub struct TableError {
    /// The table.
    pub table: &'static str,
    /// Its file.
    pub path: String,
    /// What failed.
    pub message: String,
}

/// One table being written.
pub struct TableWriter {
    spec: TableSpec,
    path: PathBuf,
    bufs: Vec<Buf>,
    rows: usize,
    total: u64,
    writer: Option<BatchedWriter<File>>,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.spec.name)
            .field("rows", &self.total)
            .finish_non_exhaustive()
    }
}

impl TableWriter {
    /// A writer of `spec` into `dir/<name>.parquet` (created now).
    pub fn create(dir: &Path, spec: TableSpec) -> Result<TableWriter, TableError> {
        let path = dir.join(format!("{}.parquet", spec.name));
        let err = |m: String| TableError {
            table: spec.name,
            path: path.display().to_string(),
            message: m,
        };
        let schema: Schema = spec
            .columns
            .iter()
            .map(|(name, kind)| {
                let dtype = match kind {
                    Kind::Time => DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)),
                    Kind::Int | Kind::OptInt => DataType::Int64,
                    Kind::Float | Kind::OptFloat => DataType::Float64,
                    Kind::Text | Kind::OptText => DataType::String,
                    Kind::Bool => DataType::Boolean,
                };
                Field::new(PlSmallStr::from(*name), dtype)
            })
            .collect();
        let file = File::create(&path).map_err(|e| err(e.to_string()))?;
        let writer = ParquetWriter::new(file)
            .batched(&schema)
            .map_err(|e| err(e.to_string()))?;
        Ok(TableWriter {
            bufs: spec.columns.iter().map(|(_, k)| Buf::new(*k)).collect(),
            spec,
            path,
            rows: 0,
            total: 0,
            writer: Some(writer),
        })
    }

    fn error(&self, message: String) -> TableError {
        TableError {
            table: self.spec.name,
            path: self.path.display().to_string(),
            message,
        }
    }

    /// Appends a row (one value per column, in order and of its kind).
    /// An array (`[V; N]`) costs no allocation per row; a `Vec` works too.
    pub fn push<R>(&mut self, row: R) -> Result<(), TableError>
    where
        R: IntoIterator<Item = V>,
        R::IntoIter: ExactSizeIterator,
    {
        let row = row.into_iter();
        if row.len() != self.bufs.len() {
            return Err(self.error(format!(
                "a row of {} values for {} columns",
                row.len(),
                self.bufs.len()
            )));
        }
        for (i, v) in row.enumerate() {
            if !self.bufs[i].push(v, self.spec.columns[i].1) {
                let name = self.spec.columns[i].0;
                return Err(self.error(format!("a value of the wrong type for column {name}")));
            }
        }
        self.rows += 1;
        self.total += 1;
        if self.rows >= ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the buffered rows as a row group.
    pub fn flush(&mut self) -> Result<(), TableError> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns: PolarsResult<Vec<Column>> = self
            .bufs
            .iter_mut()
            .zip(self.spec.columns)
            .map(|(b, (name, kind))| b.take(name, *kind, self.rows))
            .collect();
        let frame = columns
            .and_then(|c| DataFrame::new(self.rows, c))
            .map_err(|e| self.error(e.to_string()))?;
        self.rows = 0;
        let Some(w) = self.writer.as_mut() else {
            return Err(self.error("already finished".into()));
        };
        w.write_batch(&frame).map_err(|e| self.error(e.to_string()))
    }

    /// Writes the rest and the file's footer; returns the rows written.
    pub fn finish(mut self) -> Result<u64, TableError> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            w.finish().map_err(|e| self.error(e.to_string()))?;
        }
        Ok(self.total)
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.total
    }
}

/// Reads a whole table back (for reports and tests).
pub fn read(path: &Path) -> PolarsResult<DataFrame> {
    let file = File::open(path).map_err(|e| PolarsError::ComputeError(e.to_string().into()))?;
    ParquetReader::new(file).finish()
}

/// Rows read per slice by [`scan`].
pub const SCAN_ROWS: usize = 1 << 20;

/// Reads `columns` of a table in slices of [`SCAN_ROWS`] rows, in file
/// order, handing each slice to `f`: a table of any length is analysed in
/// bounded memory.
pub fn scan(
    path: &Path,
    columns: &[&str],
    mut f: impl FnMut(&DataFrame) -> PolarsResult<()>,
) -> PolarsResult<()> {
    let open = || {
        File::open(path)
            .map_err(|e| PolarsError::ComputeError(format!("{}: {e}", path.display()).into()))
    };
    let rows = ParquetReader::new(open()?).num_rows()?;
    let mut offset = 0;
    while offset < rows {
        let df = ParquetReader::new(open()?)
            .with_columns(Some(columns.iter().map(|c| (*c).to_owned()).collect()))
            .with_slice(Some((offset, SCAN_ROWS)))
            .finish()?;
        f(&df)?;
        offset += SCAN_ROWS;
    }
    Ok(())
}

/// A column as integers (times as ms since the Unix epoch).
pub fn ints(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i64>>> {
    let col = df.column(name)?.cast(&DataType::Int64)?;
    Ok(col
        .i64()?
        .downcast_iter()
        .flat_map(|a| a.iter().map(|v| v.copied()))
        .collect())
}

/// A float column.
pub fn floats(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<f64>>> {
    let col = df.column(name)?.cast(&DataType::Float64)?;
    Ok(col
        .f64()?
        .downcast_iter()
        .flat_map(|a| a.iter().map(|v| v.copied()))
        .collect())
}

/// A text column.
pub fn texts<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<Vec<Option<&'a str>>> {
    Ok(df
        .column(name)?
        .str()?
        .downcast_iter()
        .flat_map(|a| a.iter())
        .collect())
}

/// A boolean column.
pub fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<bool>>> {
    Ok(df
        .column(name)?
        .bool()?
        .downcast_iter()
        .flat_map(|a| a.iter())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: TableSpec = TableSpec {
        name: "t",
        columns: &[
            ("at", Kind::Time),
            ("home", Kind::Int),
            ("x", Kind::Float),
            ("what", Kind::Text),
            ("ok", Kind::Bool),
            ("n", Kind::OptInt),
        ],
    };

    #[test]
    fn rows_round_trip_across_row_groups() {
        let dir = std::env::temp_dir().join(format!("thermotwin-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = TableWriter::create(&dir, SPEC).unwrap();
        let n = ROWS_PER_GROUP + 10;
        for i in 0..n {
            w.push(vec![
                V::Time(1_700_000_000_000 + i as i64),
                V::Int(i as i64),
                V::Float(i as f64 / 2.0),
                V::Text(format!("r{i}")),
                V::Bool(i % 2 == 0),
                V::OptInt((i % 3 == 0).then_some(i as i64)),
            ])
            .unwrap();
        }
        assert!(w.push(vec![V::Int(1)]).is_err(), "wrong arity");
        assert_eq!(w.finish().unwrap(), n as u64);
        let df = read(&dir.join("t.parquet")).unwrap();
        assert_eq!(df.height(), n);
        let homes = df.column("home").unwrap().i64().unwrap();
        assert_eq!(homes.get(n - 1), Some((n - 1) as i64));
        assert_eq!(df.column("n").unwrap().null_count(), n - n.div_ceil(3));
        assert!(matches!(
            df.column("at").unwrap().dtype(),
            DataType::Datetime(TimeUnit::Milliseconds, _)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
