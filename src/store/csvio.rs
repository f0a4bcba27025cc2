//! Reading CSV files for the import commands: header checks, line numbers, and a list of
//! every bad line with its reason.

use std::collections::HashMap;
use std::fmt;

/// Every problem found in a file, by line number (1 = the header).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LineErrors(pub Vec<(usize, String)>);

impl LineErrors {
    pub fn single(line: usize, message: String) -> Self {
        LineErrors(vec![(line, message)])
    }
    pub fn push(&mut self, line: usize, message: String) {
        self.0.push((line, message));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result<T>(mut self, value: T) -> Result<T, LineErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            self.0.sort_by_key(|(l, _)| *l);
            Err(self)
        }
    }
}

impl fmt::Display for LineErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (line, msg)) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if *line == 0 {
                write!(f, "{msg}")?;
            } else {
                write!(f, "line {line}: {msg}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LineErrors {}

/// One data line of a CSV file.
pub struct Record {
    pub line: usize,
    fields: Vec<String>,
    index: std::rc::Rc<HashMap<String, usize>>,
}

impl Record {
    /// The value of a column that the header was checked to have.
    pub fn get(&self, column: &str) -> &str {
        self.index
            .get(column)
            .and_then(|&i| self.fields.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

pub struct Table {
    pub header: Vec<String>,
    pub records: Vec<Record>,
}

/// Reads a CSV text whose header must contain `required` columns (names are trimmed and
/// compared case-insensitively; a UTF-8 byte-order mark is ignored). A line with the wrong
/// number of fields, or a file that is not CSV, is reported with its line number.
pub fn read_csv(text: &str, required: &[&str]) -> Result<Table, LineErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = reader.records();
    let header: Vec<String> = match rows.next() {
        Some(Ok(h)) => h.iter().map(|c| c.trim().to_ascii_lowercase()).collect(),
        Some(Err(e)) => {
            return Err(LineErrors::single(
                1,
                format!("the header is not valid CSV: {e}"),
            ));
        }
        None => {
            return Err(LineErrors::single(
                1,
                "the file is empty: a header line is needed".into(),
            ));
        }
    };
    let mut errors = LineErrors::default();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        errors.push(1, format!("missing column(s): {}", missing.join(", ")));
    }
    let mut index = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if index.insert(h.clone(), i).is_some() {
            errors.push(1, format!("column `{h}` appears twice"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let index = std::rc::Rc::new(index);
    let mut records = Vec::new();
    for row in rows {
        match row {
            Ok(r) => {
                let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                if r.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                if r.len() != header.len() {
                    errors.push(
                        line,
                        format!("{} fields where the header has {}", r.len(), header.len()),
                    );
                    continue;
                }
                records.push(Record {
                    line,
                    fields: r.iter().map(str::to_string).collect(),
                    index: index.clone(),
                });
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errors.push(line, format!("not valid CSV: {e}"));
            }
        }
    }
    errors.into_result(Table { header, records })
}

/// Reads a file as UTF-8 text with a clear error.
pub fn read_text_file(path: &std::path::Path) -> Result<String, LineErrors> {
    let bytes = std::fs::read(path)
        .map_err(|e| LineErrors::single(0, format!("cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        LineErrors::single(line, "the file is not valid UTF-8".into())
    })
}
