//! CSV tables as the mapping and DSCO-list uploads read and write them: an optional UTF-8 BOM, a
//! header naming every column (any order), values trimmed. Problems are reported per line
//! number as the file shows it (the header is line 1), all of them, never just the first.

use super::RowError;

/// A parsed table: good rows (line number, values in the wanted column order) and bad rows.
#[derive(Debug, Default)]
pub struct Table {
    pub rows: Vec<(u64, Vec<String>)>,
    pub problems: Vec<RowError>,
}

/// Counts lines up to byte offsets, moving forward only.
struct LineCounter<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    newlines: u64,
}

impl LineCounter<'_> {
    /// The line a record ending at `end` (exclusive) ends on.
    fn line_ending_at(&mut self, end: usize) -> u64 {
        let end = end.min(self.bytes.len());
        if end > self.counted_to {
            self.newlines += self.bytes[self.counted_to..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.counted_to = end;
        }
        if end > 0 && self.bytes[end - 1] == b'\n' {
            self.newlines
        } else {
            self.newlines + 1
        }
    }
}

/// Read `bytes` as a table with exactly `columns` (in any order). A wrong header is one error
/// for line 1; otherwise every row is either returned or reported.
pub fn parse(bytes: &[u8], columns: &[&str]) -> Result<Table, RowError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(bytes);
    let mut lines = LineCounter {
        bytes,
        counted_to: 0,
        newlines: 0,
    };
    let expected = columns.join(",");
    let mut header = ::csv::ByteRecord::new();
    match reader.read_byte_record(&mut header) {
        Ok(false) => {
            return Err(RowError::new(
                1,
                format!("wrong header: the file is empty, expected {expected}"),
            ));
        }
        Err(e) => return Err(RowError::new(1, format!("unreadable header: {e}"))),
        Ok(true) => {}
    }
    let header_line = lines.line_ending_at(reader.position().byte() as usize);
    // Position of each wanted column in the file.
    let mut order = vec![usize::MAX; columns.len()];
    let mut header_problems = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(name).trim().to_lowercase();
        match columns.iter().position(|c| *c == name) {
            Some(j) if order[j] == usize::MAX => order[j] = i,
            Some(_) => header_problems.push(format!("column {name} appears twice")),
            None => header_problems.push(format!("unknown column {name:?}")),
        }
    }
    for (j, column) in columns.iter().enumerate() {
        if order[j] == usize::MAX {
            header_problems.push(format!("missing column {column}"));
        }
    }
    if !header_problems.is_empty() {
        return Err(RowError::new(
            header_line,
            format!(
                "wrong header: {}; expected {expected}",
                header_problems.join(", ")
            ),
        ));
    }
    let mut table = Table::default();
    let mut record = ::csv::ByteRecord::new();
    loop {
        let read = reader.read_byte_record(&mut record);
        let line = lines.line_ending_at(reader.position().byte() as usize);
        match read {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                table
                    .problems
                    .push(RowError::new(line, format!("unreadable row: {e}")));
                continue;
            }
        }
        if record.len() > header.len() {
            table.problems.push(RowError::new(
                line,
                format!("{} fields, the header has {}", record.len(), header.len()),
            ));
            continue;
        }
        let mut values = Vec::with_capacity(columns.len());
        let mut missing = Vec::new();
        let mut bad_utf8 = false;
        for (j, column) in columns.iter().enumerate() {
            match record.get(order[j]) {
                Some(v) => match std::str::from_utf8(v) {
                    Ok(s) => values.push(s.to_owned()),
                    Err(_) => bad_utf8 = true,
                },
                None => missing.push(*column),
            }
        }
        if bad_utf8 {
            table.problems.push(RowError::new(line, "not valid UTF-8"));
        } else if !missing.is_empty() {
            table.problems.push(RowError::new(
                line,
                format!("missing column {}", missing.join(", ")),
            ));
        } else {
            table.rows.push((line, values));
        }
    }
    Ok(table)
}

/// Write a table: the header, then one line per row.
pub fn write<'a>(columns: &[&str], rows: impl IntoIterator<Item = Vec<String>> + 'a) -> Vec<u8> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(columns);
    for row in rows {
        let _ = writer.write_record(&row);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[&str] = &["dsco_sku", "brightpearl_product_id"];

    fn lines(errors: Vec<RowError>) -> Vec<(u64, String)> {
        errors.into_iter().map(|e| (e.line, e.message)).collect()
    }

    fn rows(bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
        let table = parse(bytes, COLUMNS).unwrap();
        assert!(table.problems.is_empty(), "{:?}", table.problems);
        table.rows
    }

    #[test]
    fn a_bom_and_reordered_columns_are_accepted() {
        assert_eq!(
            rows(b"\xEF\xBB\xBFbrightpearl_product_id , DSCO_SKU\r\n 7 , A-1 \r\n\r\n8,A-2\n"),
            vec![
                (2, vec!["A-1".to_owned(), "7".to_owned()]),
                (4, vec!["A-2".to_owned(), "8".to_owned()])
            ]
        );
    }

    #[test]
    fn a_wrong_header_names_what_is_missing_and_unknown() {
        let errors = lines(vec![
            parse(b"dsco_sku,product\nA,1\n", COLUMNS).unwrap_err(),
        ]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 1);
        assert!(
            errors[0].1.contains("unknown column \"product\""),
            "{errors:?}"
        );
        assert!(
            errors[0]
                .1
                .contains("missing column brightpearl_product_id")
        );
        let errors = lines(vec![parse(b"", COLUMNS).unwrap_err()]);
        assert!(errors[0].1.contains("empty"), "{errors:?}");
    }

    #[test]
    fn every_short_or_long_row_is_reported_with_its_line() {
        let table = parse(
            b"dsco_sku,brightpearl_product_id\nA\nB,1\nC,2,3\nD",
            COLUMNS,
        )
        .unwrap();
        assert_eq!(table.rows, vec![(3, vec!["B".to_owned(), "1".to_owned()])]);
        let errors = lines(table.problems);
        assert_eq!(
            errors,
            vec![
                (2, "missing column brightpearl_product_id".to_owned()),
                (4, "3 fields, the header has 2".to_owned()),
                (5, "missing column brightpearl_product_id".to_owned()),
            ]
        );
    }

    #[test]
    fn quoted_fields_round_trip() {
        let bytes = write(COLUMNS, vec![vec!["A,\"1\"".to_owned(), "5".to_owned()]]);
        assert_eq!(
            rows(&bytes),
            vec![(2, vec!["A,\"1\"".to_owned(), "5".to_owned()])]
        );
        // A quoted field over two lines: the next row keeps its own line number.
        assert_eq!(
            rows(b"dsco_sku,brightpearl_product_id\n\"A\nB\",1\nC,2\n")[1],
            (4, vec!["C".to_owned(), "2".to_owned()])
        );
    }
}
