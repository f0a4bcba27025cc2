//! Writing CSV files: every CSV the product writes (the staff exports, the CLI's lists) goes
//! through [`CsvOut`], which starts the file with a UTF-8 byte-order mark and writes text cells
//! through [`neutralise`], so that no spreadsheet program runs a cell as a formula. See
//! `docs/hardening.md`, "Exports and CSV".

use std::borrow::Cow;
use std::io::Write;

/// The UTF-8 byte-order mark: without it, Excel reads a CSV as the local code page and
/// garbles "Phường Hoàn Kiếm".
pub const BOM: &str = "\u{feff}";

/// The first characters that make a spreadsheet program read a cell as a formula (OWASP's
/// list for CSV injection): `=`, `+`, `-`, `@`, TAB and CR.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell as it may be written to a CSV file: one that starts with a formula character
/// gets a leading `'`, which spreadsheet programs show as text and do not evaluate.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// One cell of an export. Numbers are written as numbers (a negative number keeps its sign
/// unprefixed); text is [`neutralise`]d in CSV and written as a string cell in XLSX.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Int(i64),
    Num(f64),
    Text(String),
    /// An instant, written in Vietnam time: `2026-12-03 14:05:09` in CSV, a date-time cell
    /// (`dd/mm/yyyy hh:mm:ss`) in XLSX, so that a spreadsheet sorts and filters it as a date.
    Time(chrono::DateTime<chrono::Utc>),
}

impl Cell {
    /// The cell's CSV text.
    pub fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Int(n) => Cow::Owned(n.to_string()),
            Cell::Num(x) => Cow::Owned(x.to_string()),
            Cell::Text(t) => neutralise(t),
            Cell::Time(t) => Cow::Owned(
                t.with_timezone(&crate::period::vietnam())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string(),
            ),
        }
    }

    /// Writes the cell to an XLSX sheet: numbers as numbers, text as a string cell (never a
    /// formula, whatever it starts with), nothing for an empty cell.
    pub fn write_xlsx(
        &self,
        ws: &mut rust_xlsxwriter::Worksheet,
        row: u32,
        col: u16,
    ) -> Result<(), rust_xlsxwriter::XlsxError> {
        match self {
            Cell::Empty => {}
            Cell::Int(n) => {
                ws.write_number(row, col, *n as f64)?;
            }
            Cell::Num(x) => {
                ws.write_number(row, col, *x)?;
            }
            Cell::Text(t) => {
                ws.write_string(row, col, t)?;
            }
            Cell::Time(t) => {
                use chrono::{Datelike, Timelike};
                let local = t.with_timezone(&crate::period::vietnam());
                let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(
                    u16::try_from(local.year()).unwrap_or(1900),
                    local.month() as u8,
                    local.day() as u8,
                )?
                .and_hms(
                    local.hour() as u16,
                    local.minute() as u8,
                    local.second(),
                )?;
                let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy hh:mm:ss");
                ws.write_datetime_with_format(row, col, &dt, &format)?;
            }
        }
        Ok(())
    }
}

/// A CSV writer that starts with [`BOM`] and neutralises every text cell.
pub struct CsvOut<W: Write> {
    w: csv::Writer<W>,
}

impl<W: Write> CsvOut<W> {
    /// Starts a CSV file on `out`, writing the byte-order mark.
    pub fn new(mut out: W) -> std::io::Result<CsvOut<W>> {
        out.write_all(BOM.as_bytes())?;
        Ok(CsvOut {
            w: csv::Writer::from_writer(out),
        })
    }

    /// A row of text cells (a header, or a list of names and links).
    pub fn text_row<S: AsRef<str>>(&mut self, cells: &[S]) -> csv::Result<()> {
        for c in cells {
            self.w.write_field(neutralise(c.as_ref()).as_bytes())?;
        }
        self.w.write_record(None::<&[u8]>)
    }

    /// A row of typed cells.
    pub fn row(&mut self, cells: &[Cell]) -> csv::Result<()> {
        for c in cells {
            self.w.write_field(c.csv_text().as_bytes())?;
        }
        self.w.write_record(None::<&[u8]>)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }

    /// Flushes and returns what was written.
    pub fn into_inner(self) -> std::io::Result<W> {
        self.w.into_inner().map_err(|e| e.into_error())
    }
}

impl CsvOut<Vec<u8>> {
    /// What was written since the last call, for a file sent in chunks.
    pub fn take_bytes(&mut self) -> std::io::Result<Vec<u8>> {
        let done = std::mem::replace(&mut self.w, csv::Writer::from_writer(Vec::new()));
        done.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payloads of the audit that found the formula injection.
    const PAYLOADS: [&str; 6] = [
        "=HYPERLINK(\"http://evil.example/x\",\"bấm\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
        "\tcalc",
        "\rcalc",
    ];

    #[test]
    fn formula_text_gets_a_leading_quote_and_other_text_does_not() {
        for p in PAYLOADS {
            assert_eq!(neutralise(p), format!("'{p}"), "{p:?}");
        }
        for calm in [
            "Phường Hoàn Kiếm",
            "0912 345 678",
            "",
            " =1",
            "a=b",
            "'quoted",
            "2-3",
        ] {
            assert_eq!(neutralise(calm), calm, "{calm:?}");
        }
    }

    #[test]
    fn numbers_stay_numbers() {
        assert_eq!(Cell::Num(-2.5).csv_text(), "-2.5");
        assert_eq!(Cell::Int(-3).csv_text(), "-3");
        assert_eq!(Cell::Num(66.412377).csv_text(), "66.412377");
        assert_eq!(Cell::Text("-2.5".into()).csv_text(), "'-2.5");
        assert_eq!(Cell::Empty.csv_text(), "");
        // Vietnam time, whole seconds: 2026-12-03T07:05:09.123456Z is 14:05:09 in Hà Nội.
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-03T07:05:09.123456Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(Cell::Time(t).csv_text(), "2026-12-03 14:05:09");
    }

    #[test]
    fn a_file_starts_with_the_bom_and_quotes_what_csv_needs() {
        let mut out = CsvOut::new(Vec::new()).unwrap();
        out.text_row(&["ward_name", "comment"]).unwrap();
        out.row(&[
            Cell::Text("Phường Hoàn Kiếm".into()),
            Cell::Text(PAYLOADS[0].into()),
        ])
        .unwrap();
        let first = out.take_bytes().unwrap();
        out.row(&[Cell::Num(-2.5), Cell::Text("-2+3".into())])
            .unwrap();
        let second = out.take_bytes().unwrap();
        let text = String::from_utf8([first, second].concat()).unwrap();
        assert_eq!(
            text,
            "\u{feff}ward_name,comment\n\
             Phường Hoàn Kiếm,\"'=HYPERLINK(\"\"http://evil.example/x\"\",\"\"bấm\"\")\"\n\
             -2.5,'-2+3\n"
        );
    }
}
