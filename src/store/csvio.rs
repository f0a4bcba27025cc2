//! Reading CSV files for the import commands: a streaming reader that knows the file line of
//! every record, header checks, and the list of bad lines with their reasons in Vietnamese and
//! English (see docs/hardening.md, "Imports").

use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;
use std::rc::Rc;

/// At most this many bad lines are listed; the others are counted.
pub const MAX_LISTED_LINES: usize = 1000;

/// A record may not be longer than this (a quote left open would otherwise take the rest of
/// the file into one field).
const MAX_RECORD_BYTES: usize = 1 << 20;

/// One problem: its file line (1 = the header, 0 = the file as a whole) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    /// The reason in Vietnamese (`None` for the older English-only reasons).
    pub vi: Option<String>,
    pub en: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.vi) {
            (0, Some(vi)) => write!(f, "{vi} / {}", self.en),
            (0, None) => write!(f, "{}", self.en),
            (n, Some(vi)) => write!(f, "dòng {n}: {vi} / line {n}: {}", self.en),
            (n, None) => write!(f, "line {n}: {}", self.en),
        }
    }
}

/// Every problem found in a file, by line number: the first [`MAX_LISTED_LINES`] bad lines
/// with all their reasons, then a count of the other bad lines.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LineErrors {
    listed: Vec<LineError>,
    listed_lines: usize,
    last_line: Option<usize>,
    /// Bad lines past the listed ones.
    more_lines: usize,
}

impl LineErrors {
    pub fn single(line: usize, message: String) -> Self {
        let mut e = LineErrors::default();
        e.push(line, message);
        e
    }

    /// A reason in English only.
    pub fn push(&mut self, line: usize, message: String) {
        self.add(LineError {
            line,
            vi: None,
            en: message,
        });
    }

    /// A reason in Vietnamese and English.
    pub fn push2(&mut self, line: usize, vi: impl Into<String>, en: impl Into<String>) {
        self.add(LineError {
            line,
            vi: Some(vi.into()),
            en: en.into(),
        });
    }

    fn add(&mut self, e: LineError) {
        // Lines come in file order when streaming: a line is new when it differs from the last.
        let new_line = self.last_line != Some(e.line);
        self.last_line = Some(e.line);
        if new_line {
            if self.listed_lines >= MAX_LISTED_LINES {
                self.more_lines += 1;
                return;
            }
            self.listed_lines += 1;
        } else if self.more_lines > 0 {
            return;
        }
        self.listed.push(e);
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// The listed problems, by line.
    pub fn listed(&self) -> &[LineError] {
        &self.listed
    }

    /// Bad lines found past the listed ones.
    pub fn more_lines(&self) -> usize {
        self.more_lines
    }

    pub fn into_result<T>(mut self, value: T) -> Result<T, LineErrors> {
        if self.listed.is_empty() {
            Ok(value)
        } else {
            self.listed.sort_by_key(|e| e.line);
            Err(self)
        }
    }
}

impl fmt::Display for LineErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.listed.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.more_lines > 0 {
            let n = self.more_lines;
            write!(
                f,
                "\nvà {} dòng lỗi khác / and {} more bad lines",
                group_digits(n, '.'),
                group_digits(n, ',')
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for LineErrors {}

/// `1234567` as `1.234.567` (Vietnamese) or `1,234,567` (English).
fn group_digits(n: usize, sep: char) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Why a record could not be read.
#[derive(Debug)]
pub enum RowError {
    /// A quote opened on `line` is never closed (or the record grew past the limit).
    Unterminated {
        line: usize,
    },
    /// Bytes that are not UTF-8 on `line`.
    NotUtf8 {
        line: usize,
    },
    Io(std::io::Error),
}

impl RowError {
    fn line(&self) -> usize {
        match self {
            RowError::Unterminated { line } | RowError::NotUtf8 { line } => *line,
            RowError::Io(_) => 0,
        }
    }

    /// Adds this problem to `errors`.
    pub fn report(&self, errors: &mut LineErrors) {
        let line = self.line();
        match self {
            RowError::Unterminated { .. } => errors.push2(
                line,
                "dấu ngoặc kép (\") mở ở dòng này không được đóng: tệp bị từ chối, phần còn lại của tệp không được kiểm tra",
                "a quote (\") opened on this line is never closed: the file is refused, the rest of it was not checked",
            ),
            RowError::NotUtf8 { .. } => errors.push2(
                line,
                "dòng này không phải văn bản UTF-8 (hãy lưu tệp dưới dạng CSV UTF-8)",
                "this line is not UTF-8 text (save the file as CSV UTF-8)",
            ),
            RowError::Io(e) => errors.push2(
                0,
                format!("không đọc được tệp: {e}"),
                format!("cannot read the file: {e}"),
            ),
        }
    }
}

/// One CSV record and the file lines it spans.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The file line the record starts on (1 = the first line of the file).
    pub line: usize,
    /// The last file line of the record (more than `line` when a quoted field holds line
    /// breaks).
    pub last_line: usize,
    pub fields: Vec<String>,
}

/// A streaming RFC 4180 reader: fields separated by commas; a field that starts with a quote
/// may hold commas, line breaks and doubled quotes (`""`); a quote inside an unquoted field is
/// kept as it is. A UTF-8 byte-order mark at the start is skipped. Only one record is held in
/// memory at a time. After an unterminated quote or an I/O error the reader ends.
pub struct CsvReader<R> {
    inner: R,
    /// The file line the next physical line is.
    next_line: usize,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(inner: R) -> Self {
        CsvReader {
            inner,
            next_line: 1,
            buf: Vec::with_capacity(256),
            done: false,
        }
    }

    /// Reads one physical line (with its line break) onto `self.buf`; false at the end.
    fn read_physical(&mut self) -> Result<bool, RowError> {
        let before = self.buf.len();
        let n = self
            .inner
            .read_until(b'\n', &mut self.buf)
            .map_err(RowError::Io)?;
        if self.next_line == 1 && before == 0 && self.buf.starts_with("\u{feff}".as_bytes()) {
            self.buf.drain(..3);
        }
        if n > 0 {
            self.next_line += 1;
        }
        Ok(n > 0)
    }

    /// The next record, `None` at the end of the file.
    pub fn next_row(&mut self) -> Option<Result<Row, RowError>> {
        if self.done {
            return None;
        }
        let r = self.read_row();
        if matches!(
            r,
            Some(Err(RowError::Unterminated { .. } | RowError::Io(_))) | None
        ) {
            self.done = true;
        }
        r
    }

    fn read_row(&mut self) -> Option<Result<Row, RowError>> {
        self.buf.clear();
        let line = self.next_line;
        match self.read_physical() {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => return Some(Err(e)),
        }
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut pos = 0usize;
        // At the start of a field / inside quotes / after a closing quote.
        let mut at_start = true;
        let mut quoted = false;
        loop {
            if pos >= self.buf.len() {
                if !quoted {
                    break;
                }
                // A line break inside quotes: the field goes on on the next line.
                if self.buf.len() > MAX_RECORD_BYTES {
                    return Some(Err(RowError::Unterminated { line }));
                }
                match self.read_physical() {
                    Ok(true) => continue,
                    Ok(false) => return Some(Err(RowError::Unterminated { line })),
                    Err(e) => return Some(Err(e)),
                }
            }
            let b = self.buf[pos];
            pos += 1;
            if quoted {
                if b == b'"' {
                    if self.buf.get(pos) == Some(&b'"') {
                        field.push(b'"');
                        pos += 1;
                    } else {
                        quoted = false;
                    }
                } else {
                    field.push(b);
                }
                continue;
            }
            match b {
                b'"' if at_start => {
                    quoted = true;
                    at_start = false;
                }
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    at_start = true;
                }
                b'\n' => break,
                b'\r' if matches!(self.buf.get(pos), Some(b'\n') | None) => {}
                _ => {
                    field.push(b);
                    at_start = false;
                }
            }
        }
        fields.push(field);
        let last_line = self.next_line - 1;
        let mut out = Vec::with_capacity(fields.len());
        for f in fields {
            match String::from_utf8(f) {
                Ok(s) => out.push(s),
                Err(_) => return Some(Err(RowError::NotUtf8 { line })),
            }
        }
        Some(Ok(Row {
            line,
            last_line,
            fields: out,
        }))
    }
}

/// One data line of a CSV file.
pub struct Record {
    pub line: usize,
    fields: Vec<String>,
    index: Rc<HashMap<String, usize>>,
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

/// A CSV file read record by record after its header was checked.
pub struct CsvStream<R> {
    reader: CsvReader<R>,
    pub header: Vec<String>,
    index: Rc<HashMap<String, usize>>,
}

/// Opens a CSV stream whose header must contain `required` columns (names are trimmed and
/// compared case-insensitively; a UTF-8 byte-order mark is ignored).
pub fn open_csv<R: BufRead>(inner: R, required: &[&str]) -> Result<CsvStream<R>, LineErrors> {
    let mut reader = CsvReader::new(inner);
    let mut errors = LineErrors::default();
    let header: Vec<String> = match reader.next_row() {
        Some(Ok(h)) => h.fields.iter().map(|c| c.trim().to_lowercase()).collect(),
        Some(Err(e)) => {
            e.report(&mut errors);
            return Err(errors);
        }
        None => {
            errors.push2(
                1,
                "tệp trống: cần một dòng tiêu đề",
                "the file is empty: a header line is needed",
            );
            return Err(errors);
        }
    };
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        let list = missing.join(", ");
        errors.push2(
            1,
            format!("thiếu cột: {list}"),
            format!("missing column(s): {list}"),
        );
    }
    let mut index = HashMap::new();
    for (i, h) in header.iter().enumerate() {
        if index.insert(h.clone(), i).is_some() {
            errors.push2(
                1,
                format!("cột `{h}` xuất hiện hai lần"),
                format!("column `{h}` appears twice"),
            );
        }
    }
    errors.into_result(CsvStream {
        reader,
        header,
        index: Rc::new(index),
    })
}

impl<R: BufRead> CsvStream<R> {
    /// The next data record; a line with the wrong number of fields and a line that cannot be
    /// read are added to `errors` (reading goes on after a wrong field count or a line that is
    /// not UTF-8). Lines with nothing but commas and spaces are skipped.
    pub fn next_record(&mut self, errors: &mut LineErrors) -> Option<Record> {
        loop {
            let row = match self.reader.next_row()? {
                Ok(row) => row,
                Err(e) => {
                    e.report(errors);
                    continue;
                }
            };
            if row.fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if row.fields.len() != self.header.len() {
                let (got, want) = (row.fields.len(), self.header.len());
                let lines = if row.last_line > row.line {
                    format!(" (dòng {}–{})", row.line, row.last_line)
                } else {
                    String::new()
                };
                let lines_en = if row.last_line > row.line {
                    format!(" (lines {}–{})", row.line, row.last_line)
                } else {
                    String::new()
                };
                errors.push2(
                    row.line,
                    format!("có {got} trường trong khi tiêu đề có {want}{lines}"),
                    format!("{got} fields where the header has {want}{lines_en}"),
                );
                continue;
            }
            return Some(Record {
                line: row.line,
                fields: row.fields,
                index: self.index.clone(),
            });
        }
    }
}

pub struct Table {
    pub header: Vec<String>,
    pub records: Vec<Record>,
}

/// Reads a whole CSV text whose header must contain `required` columns (for the small files:
/// units, margins, criterion values). Every line with the wrong number of fields, and a quote
/// left open, is reported with its line number.
pub fn read_csv(text: &str, required: &[&str]) -> Result<Table, LineErrors> {
    let mut stream = open_csv(text.as_bytes(), required)?;
    let mut errors = LineErrors::default();
    let mut records = Vec::new();
    while let Some(r) = stream.next_record(&mut errors) {
        records.push(r);
    }
    errors.into_result(Table {
        header: stream.header,
        records,
    })
}

/// Reads a file as UTF-8 text with a clear error.
pub fn read_text_file(path: &std::path::Path) -> Result<String, LineErrors> {
    let bytes = std::fs::read(path).map_err(|e| {
        let mut errors = LineErrors::default();
        errors.push2(
            0,
            format!("không đọc được {}: {e}", path.display()),
            format!("cannot read {}: {e}", path.display()),
        );
        errors
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let mut errors = LineErrors::default();
        RowError::NotUtf8 { line }.report(&mut errors);
        errors
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the tests compare it: first line, last line, fields; or the error.
    type Seen = Result<(usize, usize, Vec<String>), String>;

    fn rows(text: &str) -> Vec<Seen> {
        let mut r = CsvReader::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(row) = r.next_row() {
            out.push(
                row.map(|r| (r.line, r.last_line, r.fields))
                    .map_err(|e| format!("{e:?}")),
            );
        }
        out
    }

    fn ok(line: usize, last: usize, fields: &[&str]) -> Seen {
        Ok((line, last, fields.iter().map(|s| s.to_string()).collect()))
    }

    #[test]
    fn records_know_their_file_lines() {
        let text = "\u{feff}a,b\r\n1,\"x,\"\"y\"\"\nz\"\r\n\n2,3\n\"4\",5";
        assert_eq!(
            rows(text),
            vec![
                ok(1, 1, &["a", "b"]),
                ok(2, 3, &["1", "x,\"y\"\nz"]),
                ok(4, 4, &[""]),
                ok(5, 5, &["2", "3"]),
                ok(6, 6, &["4", "5"]),
            ]
        );
        // A quote inside an unquoted field is kept; a lone CR inside a field too.
        assert_eq!(rows("a\"b,c\rd\n"), vec![ok(1, 1, &["a\"b", "c\rd"])]);
    }

    #[test]
    fn an_unterminated_quote_ends_the_file_with_its_line() {
        let text = "a,b\n1,2\n3,\"open\n4,5\n6,7\n";
        let r = rows(text);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(r[2], Err("Unterminated { line: 3 }".into()));
    }

    #[test]
    fn bad_utf8_names_its_line_and_reading_goes_on() {
        let mut text = b"a,b\n1,2\n".to_vec();
        text.extend_from_slice(b"3,\xff\n5,6\n");
        let mut r = CsvReader::new(&text[..]);
        let mut seen = Vec::new();
        while let Some(row) = r.next_row() {
            seen.push(row.map(|r| r.line).map_err(|e| e.line()));
        }
        assert_eq!(seen, vec![Ok(1), Ok(2), Err(3), Ok(4)]);
    }

    #[test]
    fn errors_list_the_first_thousand_lines_then_count() {
        let mut e = LineErrors::default();
        for line in 2..2500 {
            e.push2(line, "sai", "wrong");
            e.push2(line, "sai nữa", "wrong again");
        }
        assert_eq!(e.listed().len(), 2 * MAX_LISTED_LINES);
        assert_eq!(e.more_lines(), 2498 - MAX_LISTED_LINES);
        let text = e.to_string();
        assert!(text.starts_with("dòng 2: sai / line 2: wrong\n"), "{text}");
        assert!(
            text.ends_with("và 1.498 dòng lỗi khác / and 1,498 more bad lines"),
            "{text}"
        );
        assert_eq!(group_digits(1_234_567, '.'), "1.234.567");
        assert_eq!(group_digits(999, ','), "999");
    }

    #[test]
    fn wrong_field_counts_are_each_listed() {
        let text = "a,b,c\n1,2\n1,2,3\n1,2,3,4\n,,\n\"x\ny\",2\n";
        let mut s = open_csv(text.as_bytes(), &["a"]).expect("header");
        let mut errors = LineErrors::default();
        let mut lines = Vec::new();
        while let Some(r) = s.next_record(&mut errors) {
            lines.push(r.line);
        }
        assert_eq!(lines, vec![3]);
        let bad: Vec<usize> = errors.listed().iter().map(|e| e.line).collect();
        assert_eq!(bad, vec![2, 4, 6]);
        assert!(errors.to_string().contains("(lines 6–7)"), "{errors}");
    }
}
