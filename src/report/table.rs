//! A report's table and how it is written: CSV (RFC 4180, for spreadsheets) or a
//! Markdown table. Every cell is untrusted text from the API, made safe for both.

use std::borrow::Cow;

use crate::text;

/// Columns and rows of strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(columns: &[&'static str]) -> Table {
        Table {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// RFC 4180: a header row, CRLF line ends, a field in double quotes when it holds
    /// a comma, a quote or a line break (quotes doubled). A text field that a
    /// spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR first) is
    /// prefixed with `'`, so a host name cannot run in the auditor's spreadsheet.
    /// Control characters are dropped and line breaks become spaces.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
            let fields: Vec<String> = cells.map(csv_field).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(&mut out, &mut self.columns.iter().copied());
        for row in &self.rows {
            line(&mut out, &mut row.iter().map(String::as_str));
        }
        out
    }

    /// A Markdown table; cells cleaned of control characters, `|` escaped, line breaks
    /// as spaces. An empty table says "none".
    pub fn markdown(&self) -> String {
        if self.rows.is_empty() {
            return "none\n".into();
        }
        let mut out = String::new();
        out.push_str(&format!("| {} |\n", self.columns.join(" | ")));
        out.push_str(&format!(
            "|{}\n",
            self.columns.iter().map(|_| "---|").collect::<String>()
        ));
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| markdown_cell(c)).collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out
    }
}

fn csv_field(cell: &str) -> String {
    // No escape sequences for whoever `cat`s the file, no line breaks in a record.
    let flat = cell.replace(['\r', '\n'], " ");
    let cell = text::clean(&flat);
    let numeric = !cell.is_empty() && cell.parse::<f64>().is_ok();
    let cell: Cow<str> = if !numeric && cell.starts_with(['=', '+', '-', '@', '\t']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        cell
    };
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.into_owned()
    }
}

/// Text for a Markdown cell or line: no control characters, no line breaks, `|` and
/// the characters Markdown would take for markup escaped.
pub fn markdown_cell(cell: &str) -> String {
    let flat = cell.replace(['\r', '\n'], " ");
    let clean = text::clean(&flat);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if matches!(c, '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_as_rfc_4180_says_and_disarms_formulas() {
        let mut t = Table::new(&["name", "note"]);
        t.push(vec!["a,b".into(), "say \"hi\"".into()]);
        t.push(vec!["=HYPERLINK(\"x\")".into(), "-12".into()]);
        t.push(vec!["two\nlines".into(), "@me".into()]);
        assert_eq!(
            t.csv(),
            "name,note\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n\"'=HYPERLINK(\"\"x\"\")\",-12\r\ntwo lines,'@me\r\n"
        );
    }

    #[test]
    fn markdown_cells_cannot_break_the_table() {
        let mut t = Table::new(&["host"]);
        t.push(vec!["a|b\n\u{1b}[31mred".into()]);
        let md = t.markdown();
        assert!(md.contains("a\\|b"), "{md}");
        assert!(!md.contains('\u{1b}'), "{md}");
        assert_eq!(md.lines().count(), 3, "{md}");
        assert_eq!(Table::new(&["x"]).markdown(), "none\n");
    }
}
